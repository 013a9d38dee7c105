"""Decide which configured brands a post mentions, by which terms, and where.

One responsibility: compile the brands' rules (keywords / require / exclude, or a boolean
query parsed by :mod:`mentionwatch.config.query`) once (:func:`compile_brands`), then
answer, for any ``title`` + ``text``, which brands the post mentions under the matching
rules of DESIGN.md ("Matching rules"), with the terms that matched and their character
spans into the original ``title + "\\n" + text``.

How it works, and why this way:

* Both sides (keywords and posts) go through the same *folding*: Unicode case folding, then
  canonical decomposition with the combining marks dropped, so ``Straße`` = ``STRASSE`` and
  ``Nestlé`` = ``Nestle``. Folding can change the length of the string (``ß`` → ``ss``, a
  decomposed ``e`` + U+0301 → ``e``), so non-ASCII posts keep a map back to the original
  characters; it is only built for posts that actually match.
* Links and e-mail addresses are masked out of the folded text before matching, because a
  link is not a mention.
* The folded text is split into words with ONE regex and that list is intersected (in C)
  with one dict keyed by the first word of every term of every brand: most posts stop there.
  Each occurrence of a surviving candidate word is then verified against the few terms
  starting with it: following words, the gaps between them (white space ⇔ a space in the
  term, anything else literally), and punctuation at the term's edges. The cost per post is
  therefore proportional to its length, not to the number of configured keywords
  (``benchmarks/match_bench.py`` holds 1,000 keywords to ≤ 3x the time of 10).
* Prefix terms (``acm*``) cannot be looked up by their whole first word, so they are keyed
  by their first characters instead (as many as the shortest configured prefix has, 3 to 6),
  and the same number of leading characters of every word of the post is intersected with
  those keys, again in C. That is why a prefix needs at least three letters: shorter keys
  would make most words candidates.
* Only *trigger* terms decide whether a post is looked at further: the keywords of a brand,
  and for a query a smallest set of terms of which any post it matches must contain one
  (:func:`_witnesses`: for ``acme NEAR/3 (phone OR laptop)`` that is just ``acme``). Other
  terms (require / exclude, ``phone``...) are only located in a post when a rule asks for
  them (:class:`_PostHits`), so common words in a query cost little.
* Finding terms (:class:`_TermIndex`) is kept apart from deciding what a set of found terms
  means for a brand: :class:`_BrandRule` (any keyword, require, exclude) and
  :class:`_QueryRule` (a boolean query) are two kinds of rule over the same term hits.
* ``NEAR/n`` needs word positions. They are counted only when a NEAR is evaluated and both
  sides were found, by the C tokenizer, from the nearest position already counted
  (:class:`_Where`).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from operator import itemgetter
from typing import Literal, NamedTuple

from ..config import query as q
from ..config.model import Brand
from ..errors import ConfigError
from ..models import Match, Span

__all__ = ["Matcher", "compile_brands"]

_Role = Literal["keyword", "require", "exclude", "query term"]

# --------------------------------------------------------------------------------------------
# Folding (case + diacritics), with a way back to original offsets
# --------------------------------------------------------------------------------------------

_RING = "\u030a"  # COMBINING RING ABOVE: what turns "a" into "å" in decomposed text
_DROPPED_MARKS = frozenset({"Mn", "Me"})


def _fold_char(ch: str) -> str:
    """The folded form of one character: case-folded, combining marks removed.

    å/Å is the one exception kept as its own letter: in Norwegian, Danish and Swedish it is a
    separate letter of the alphabet ("blåbær" and "blabær" are different words), so folding it
    to "a" would create false matches. æ, ø and ß are not decomposable, so they survive as
    letters anyway (ß case-folds to "ss", which is how German spells it in capitals). Other
    accented letters, including Swedish/German ä and ö, fold to their base letter: DESIGN.md
    asks for Nestle = Nestlé, and people routinely type brand names without accents.
    Spacing combining marks (category Mc, e.g. Devanagari vowel signs) are kept: they are part
    of the spelling in those scripts, and the tokenizer treats them as word characters.
    """
    out: list[str] = []
    for part in unicodedata.normalize("NFD", unicodedata.normalize("NFD", ch).casefold()):
        if unicodedata.category(part) in _DROPPED_MARKS:
            if part == _RING and out and out[-1] == "a":
                out[-1] = "å"
            continue
        out.append(part)
    return "".join(out)


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table filled on first sight of each character.

    ``str.translate`` runs in C, so folding a post is fast; the table only ever holds the
    characters actually seen, instead of all of Unicode.
    """

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def _fold_decomposed(s: str) -> str:
    """Fold ``s`` one character at a time, recombining a decomposed ring with its "a".

    Only used for text containing a free-standing U+030A (rare: decomposed text, e.g. from
    macOS), since a per-character translate table cannot see the "a" before the ring. The
    result has the same length as ``s.translate(_FOLD)``, so offsets map the same way.
    """
    chars: list[str] = []
    for ch in s:
        folded = _FOLD[ord(ch)]
        if not folded and ch == _RING and chars and chars[-1] == "a":
            chars[-1] = "å"
        chars.extend(folded)
    return "".join(chars)


_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")


class _Folded:
    """One string folded for matching, able to map folded spans back to the original."""

    __slots__ = ("_changes", "original", "text")

    def __init__(self, original: str) -> None:
        self.original = original
        # Where folding changed the length: (folded index, original index, folded length).
        self._changes: tuple[list[int], list[int], list[int]] | None = None
        if original.isascii():
            # Fast path: for ASCII, case folding is lower() and keeps every offset.
            self.text = original.lower()
        elif _RING in original:
            self.text = _fold_decomposed(original)
        else:
            self.text = original.translate(_FOLD)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded ``[start, end)`` back to the original string.

        The end is extended over combining marks that folding dropped, so a span ending at a
        decomposed "é" covers its accent.
        """
        if self.original.isascii():
            return start, end
        original, fold = self.original, _FOLD
        stop = self._position(end - 1) + 1
        while stop < len(original) and not fold[ord(original[stop])]:
            stop += 1
        return self._position(start), stop

    def _position(self, index: int) -> int:
        """The original index of the character that produced folded character ``index``."""
        if self._changes is None:
            # Built only for posts that match, and only from the non-ASCII characters: most
            # fold to exactly one character and need no entry.
            at: list[int] = []
            origins: list[int] = []
            lengths: list[int] = []
            shift = 0
            for m in _NON_ASCII_RE.finditer(self.original):
                length = len(_FOLD[ord(m.group())])
                if length != 1:
                    at.append(m.start() + shift)
                    origins.append(m.start())
                    lengths.append(length)
                    shift += length - 1
            self._changes = (at, origins, lengths)
        at, origins, lengths = self._changes
        k = bisect_right(at, index) - 1
        if k < 0:
            return index
        if index < at[k] + lengths[k]:
            return origins[k]  # inside the expansion of one character (ß -> ss)
        return origins[k] + 1 + index - at[k] - lengths[k]


def _fold(s: str) -> str:
    return _fold_decomposed(s)


# --------------------------------------------------------------------------------------------
# Tokens and masks
# --------------------------------------------------------------------------------------------


@cache
def _word_class() -> str:
    """The regex class of word characters: letters, digits, ``_``, spacing marks.

    ``\\w`` already covers letters, digits and ``_`` (so ``acme_corp`` and ``Acme2`` are
    single words that do not contain "acme"). Spacing combining marks (Mc) are added so that
    words in Indic and other scripts are not cut in the middle. Built lazily: scanning the
    Unicode tables takes a few milliseconds that a CLI command not matching anything should
    not pay.
    """
    ranges: list[tuple[int, int]] = []
    for code in range(0x300, 0x20000):  # every Mc code point lives in this range
        if unicodedata.category(chr(code)) == "Mc":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    # Mc characters are never regex metacharacters, so they go into the class unescaped.
    marks = "".join(f"{chr(a)}-{chr(b)}" if a != b else chr(a) for a, b in ranges)
    return f"[\\w{marks}]"


@cache
def _word_re() -> re.Pattern[str]:
    """The one tokenizer: maximal runs of word characters."""
    return re.compile(_word_class() + "+")


_STEM = q.MIN_PREFIX  # the shortest prefix: prefix terms are indexed by at least this much
_MAX_STEM = 6  # ... and at most this much (longer keys would rarely be more selective)


@cache
def _stem_words_re(stem: str, is_ascii: bool) -> re.Pattern[str]:
    """``stem`` and the rest of the word it begins (cached: one per configured stem).

    No look-behind for the start of the word: a pattern that starts with a literal is
    searched for by the regex engine's fast literal scan, which a look-behind disables; the
    caller checks the start instead. ASCII text gets the (much faster) ASCII ``\\w``.
    """
    if is_ascii:
        return re.compile(rf"{re.escape(stem)}\w*", re.ASCII)
    return re.compile(f"{re.escape(stem)}{_word_class()}*")


# Links and e-mail addresses are not mentions. Each alternative starts only at the beginning
# of a run (look-behinds), which keeps the scan linear on long unbroken strings.
_LINK_RE = re.compile(
    r"""
      (?<![a-z0-9+.\-])[a-z][a-z0-9+.\-]*://\S+                 # scheme://anything
    | (?<![\w.\-])www\.\S+                                      # www.host...
    | (?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+              # user@host.tld
    | (?<![\w.\-@/])[\w\-]+(?:\.[\w\-]+)*\.[a-z]{2,}(?::\d+)?/\S*  # host.tld/path
    """,
    re.VERBOSE,
)
# A bare "acme.com" in prose is deliberately NOT masked: it is a person naming the site
# (often the brand itself), not a link; only a scheme, "www." or a path makes it a link.

_ASCII_WORD_RE = re.compile(r"\w+", re.ASCII)

_MASK_CHAR = "\x00"  # not a word character and not white space: ends words, breaks phrases


# A whitespace-delimited chunk that could hold a link: one with "/", "@" or "www.". Running
# _LINK_RE only inside such chunks is about three times faster than over the whole post.
_LINK_CHUNK_RE = re.compile(r"(?<!\S)[^\s/@]*(?:[/@]|www\.)\S*")


def _blank(link: re.Match[str]) -> str:
    return _MASK_CHAR * (link.end() - link.start())


def _mask_chunk(chunk: re.Match[str]) -> str:
    return _LINK_RE.sub(_blank, chunk.group())


def _mask_links(folded: str) -> str:
    """``folded`` with every link and e-mail address overwritten by _MASK_CHAR.

    Same length, so offsets still hold.
    """
    # Cheap substring tests first: most posts contain no link at all.
    if "/" not in folded and "@" not in folded and "www." not in folded:
        return folded
    return _LINK_CHUNK_RE.sub(_mask_chunk, folded)


def _match_forward(s: str, pos: int, literal: str) -> int:
    """Match ``literal`` at ``s[pos:]``; a space in it matches any run of white space.

    Returns the end position, or -1.
    """
    n = len(s)
    for ch in literal:
        if ch == " ":
            if pos >= n or not s[pos].isspace():
                return -1
            pos += 1
            while pos < n and s[pos].isspace():
                pos += 1
        elif pos < n and s[pos] == ch:
            pos += 1
        else:
            return -1
    return pos


def _match_backward(s: str, pos: int, literal: str) -> int:
    """Match ``literal`` ending at ``s[:pos]``; returns its start position, or -1."""
    for ch in reversed(literal):
        if ch == " ":
            if pos <= 0 or not s[pos - 1].isspace():
                return -1
            pos -= 1
            while pos > 0 and s[pos - 1].isspace():
                pos -= 1
        elif pos > 0 and s[pos - 1] == ch:
            pos -= 1
        else:
            return -1
    return pos


# --------------------------------------------------------------------------------------------
# Finding terms
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pattern:
    """A folded term, split the way the tokenizer splits text.

    ``lead`` / ``trail``: punctuation that must appear right before the first word / after
    the last (``#`` of a hashtag, ``@`` of a handle, ``++`` of ``C++``). ``gaps[i]``: what
    must stand between ``words[i]`` and ``words[i + 1]``, white space collapsed to one space.
    ``prefix``: the last word only has to begin a word of the post (``acm*``).
    """

    lead: str
    words: tuple[str, ...]
    gaps: tuple[str, ...]
    trail: str
    prefix: bool = False

    def render(self) -> str:
        parts = [self.lead]
        for i, word in enumerate(self.words):
            if i:
                parts.append(self.gaps[i - 1].replace(" ", "␣"))
            parts.append(word)
        parts.append("*" if self.prefix else "")
        parts.append(self.trail.replace(" ", "␣"))
        return "".join(parts)


def _parse_term(term: str, *, prefix: bool = False) -> _Pattern | None:
    """Fold and split one configured term; None when it contains no word at all."""
    folded = " ".join(_fold(term).split())  # any white space in a term means "a space"
    words = list(_word_re().finditer(folded))
    if not words:
        return None
    return _Pattern(
        lead=folded[: words[0].start()],
        words=tuple(m.group() for m in words),
        gaps=tuple(folded[a.end() : b.start()] for a, b in pairwise(words)),
        trail=folded[words[-1].end() :],
        prefix=prefix,
    )


def _is_stem(pattern: _Pattern) -> bool:
    """A one-word prefix term: found by the first characters of words, not by words."""
    return pattern.prefix and len(pattern.words) == 1


_Key = tuple[bool, str]  # how a pattern is looked up: (by stem?, first word or stem)


class _TermIndex:
    """Finds the compiled patterns in a folded post, in time proportional to its tokens.

    ``triggers``: the patterns of which a post must contain one for any rule to hold. Only
    posts with a trigger word go further, and only trigger patterns are located at once; the
    others (require / exclude terms, the common-word side of a NEAR...) are located when a
    rule asks for them (:class:`_PostHits`), so a common word in a query costs little.
    """

    def __init__(self, patterns: Sequence[_Pattern], triggers: Iterable[int]) -> None:
        self.patterns = tuple(patterns)
        self.word_re = _word_re()
        by_first: dict[str, list[int]] = {}
        by_stem: dict[str, list[int]] = {}
        plain: dict[str, int] = {}
        # "acm*": its only word is not a whole word of the post, so it cannot be looked up by
        # word; its first characters can, as many as the shortest prefix has: the longer the
        # key, the fewer words of a post share it by chance.
        stem = min((len(p.words[0]) for p in self.patterns if _is_stem(p)), default=_STEM)
        self.stem_of = itemgetter(slice(0, min(stem, _MAX_STEM)))  # run in C by map()
        for pid, pattern in enumerate(self.patterns):
            if _is_stem(pattern):
                by_stem.setdefault(self.stem_of(pattern.words[0]), []).append(pid)
            elif len(pattern.words) == 1 and not (pattern.lead or pattern.trail or pattern.prefix):
                # A bare word (the most common term) is found once its token is: no _verify.
                plain[pattern.words[0]] = pid
                by_first.setdefault(pattern.words[0], [])
            else:
                by_first.setdefault(pattern.words[0], []).append(pid)
        # first word -> (the bare-word pattern or -1, the patterns needing verification)
        self.by_first = {
            word: (plain.get(word, -1), tuple(pids)) for word, pids in by_first.items()
        }
        self.by_stem = {stem: tuple(pids) for stem, pids in by_stem.items()}
        self.keys: tuple[_Key, ...] = tuple(
            (True, self.stem_of(p.words[0])) if _is_stem(p) else (False, p.words[0])
            for p in self.patterns
        )
        trigger_patterns = [self.patterns[pid] for pid in set(triggers)]
        self._trigger_words = frozenset(p.words[0] for p in trigger_patterns if not _is_stem(p))
        self._trigger_stems = frozenset(
            self.stem_of(p.words[0]) for p in trigger_patterns if _is_stem(p)
        )
        trigger_keys = {(True, s) for s in self._trigger_stems}
        trigger_keys |= {(False, w) for w in self._trigger_words}
        self.eager = frozenset(pid for pid, key in enumerate(self.keys) if key in trigger_keys)

    def find(self, folded: str, separator: int) -> _PostHits | None:
        """The patterns in ``folded``, or None when it holds no trigger at all.

        ``separator`` is the index of the newline between title and text: no match may
        straddle it (a phrase does not run from the end of a title into the text).
        """
        # For ASCII text the plain ASCII \w tokenizer gives the same words, about twice as
        # fast as the class with the Unicode spacing marks.
        is_ascii = folded.isascii()
        word_re = _ASCII_WORD_RE if is_ascii else self.word_re
        # Most posts mention nothing: one C-level tokenize + one set test settles them,
        # whatever the number of keywords. Links are masked only afterwards, since masking
        # can only remove candidates.
        tokens = word_re.findall(folded)
        words = self.by_first.keys() & tokens
        stems: set[str] | None = None  # computed when first needed
        if self._trigger_words.isdisjoint(words):
            if not self._trigger_stems:
                return None
            stems = self.by_stem.keys() & map(self.stem_of, tokens)
            if self._trigger_stems.isdisjoint(stems):
                return None
        hits = _PostHits(self, _mask_links(folded), separator, is_ascii, words, stems, tokens)
        if stems is None and self._trigger_stems:
            stems = hits.stems()
        for word in self._trigger_words.intersection(words):
            hits.locate_word(word)
        if stems:
            for stem in self._trigger_stems.intersection(stems):
                hits.locate_stem(stem)
        return hits


class _PostHits:
    """The folded-text spans [start, end) of the patterns in one post, by pattern id.

    Trigger patterns are located by :meth:`_TermIndex.find`; any other pattern the first
    time a rule asks for it (:meth:`get`). ``text`` is the post with its links masked: what
    the spans index and NEAR counts words in.
    """

    __slots__ = (
        "_index",
        "_is_ascii",
        "_looked",
        "_separator",
        "_stems",
        "_tokens",
        "_words",
        "eager",
        "found",
        "text",
    )

    def __init__(
        self,
        index: _TermIndex,
        text: str,
        separator: int,
        is_ascii: bool,
        words: set[str],
        stems: set[str] | None,
        tokens: list[str],
    ) -> None:
        self._index = index
        self.text = text
        self._separator = separator
        self._is_ascii = is_ascii
        self._words = words  # first words of patterns that occur as words of the post
        self._stems = stems  # stems of prefixes that occur at word starts (None: not yet)
        self._tokens = tokens  # the words of the post (before masking: a superset)
        # pattern -> spans: every trigger pattern in the post, and the others looked up so far
        self.found: dict[int, list[tuple[int, int]]] = {}
        self.eager = index.eager  # patterns located at once: absent from found = not there
        self._looked: set[_Key] = set()

    def stems(self) -> set[str]:
        """The configured prefix stems that begin a word of the post."""
        if self._stems is None:
            index = self._index
            self._stems = index.by_stem.keys() & map(index.stem_of, self._tokens)
        return self._stems

    def get(self, pid: int) -> list[tuple[int, int]] | None:
        """The spans of pattern ``pid`` in the post, or None when it is not there."""
        spans = self.found.get(pid)
        if spans is None and pid not in self.eager:
            key = self._index.keys[pid]
            if key not in self._looked:
                self._looked.add(key)
                by_stem, word = key
                if by_stem:
                    if word in self.stems():
                        self.locate_stem(word)
                elif word in self._words:
                    self.locate_word(word)
                spans = self.found.get(pid)
        return spans

    def __contains__(self, pid: int) -> bool:
        return self.get(pid) is not None

    def locate_word(self, word: str) -> None:
        """Every pattern whose first word is ``word`` (which is a word of the post)."""
        folded, separator, found = self.text, self._separator, self.found
        word_re = _ASCII_WORD_RE if self._is_ascii else self._index.word_re
        patterns = self._index.patterns
        plain, pids = self._index.by_first[word]
        # str.find jumps (in C) to each occurrence of the candidate word; tokens are maximal
        # runs of word characters, so an occurrence is a token only at boundaries.
        start = folded.find(word)
        while start >= 0:
            end = start + len(word)
            if not (start and word_re.match(folded, start - 1)) and not word_re.match(folded, end):
                if plain >= 0:  # a word never straddles the title/text newline
                    found.setdefault(plain, []).append((start, end))
                for pid in pids:
                    span = _verify(patterns[pid], folded, word_re, start, end)
                    if span is not None and not span[0] <= separator < span[1]:
                        found.setdefault(pid, []).append(span)
            start = folded.find(word, start + 1)

    def locate_stem(self, stem: str) -> None:
        """Every prefix pattern of ``stem`` (which begins a word of the post)."""
        folded, separator, found = self.text, self._separator, self.found
        word_re = _ASCII_WORD_RE if self._is_ascii else self._index.word_re
        patterns = self._index.patterns
        pids = self._index.by_stem[stem]
        for token in _stem_words_re(stem, self._is_ascii).finditer(folded):
            word, start = token.group(), token.start()
            if start and word_re.match(folded, start - 1):
                continue  # inside a word ("ter" in "after"), which runs to the word's end
            for pid in pids:
                pattern = patterns[pid]
                if word.startswith(pattern.words[0]):
                    span = _edges(pattern, folded, word_re, start, token.end())
                    if span is not None and not span[0] <= separator < span[1]:
                        found.setdefault(pid, []).append(span)


def _verify(
    pattern: _Pattern, folded: str, word_re: re.Pattern[str], start: int, end: int
) -> tuple[int, int] | None:
    """The span of ``pattern`` if it occurs with its first word at ``folded[start:end]``."""
    last = len(pattern.gaps) - 1
    for i, (word, gap) in enumerate(zip(pattern.words[1:], pattern.gaps, strict=True)):
        # Gaps are non-word characters, so after one the next token starts right there and
        # must be exactly the next word of the pattern (or begin with it, for a prefix).
        end = _match_forward(folded, end, gap)
        if end < 0:
            return None
        token = word_re.match(folded, end)
        if token is None:
            return None
        found = token.group()
        if found != word and not (pattern.prefix and i == last and found.startswith(word)):
            return None
        end = token.end()
    return _edges(pattern, folded, word_re, start, end)


def _edges(
    pattern: _Pattern, folded: str, word_re: re.Pattern[str], start: int, end: int
) -> tuple[int, int] | None:
    """The span with the pattern's lead and trail punctuation, if they are there.

    A term without lead/trail is whole-word already (the caller checked the tokens'
    boundaries); punctuation at the term's edges needs its own boundary check: "#acme" not
    in "foo#acme", "C++" not in "C++11".
    """
    if pattern.lead:
        start = _match_backward(folded, start, pattern.lead)
        if start < 0 or (start > 0 and word_re.match(folded, start - 1)):
            return None
    if pattern.trail:
        end = _match_forward(folded, end, pattern.trail)
        if end < 0 or word_re.match(folded, end):
            return None
    return start, end


# --------------------------------------------------------------------------------------------
# Word positions (for NEAR)
# --------------------------------------------------------------------------------------------

# One piece of evidence: folded start, end, and the term as configured / written.
_Found = tuple[int, int, str]


class _Occurrence(NamedTuple):
    """Where a positional part of a query occurs: a run of words, title or text.

    A named tuple, not a frozen dataclass: NEAR creates many, and a tuple is built faster.
    """

    in_text: bool  # False: in the title; NEAR never pairs a title word with a text word
    first: int  # index of the first word
    last: int  # index of the last word
    found: tuple[_Found, ...]


class _Where:
    """Word positions in one post, counted on demand: only NEAR needs them.

    The index of a word is the number of words before it, counted (by the C tokenizer) from
    the nearest offset already counted, so a few NEAR hits in a long post cost a few short
    counts, not a tokenization of the whole post into a list.
    """

    __slots__ = ("_counts", "_offsets", "_separator", "_text")

    def __init__(self, masked: str, separator: int) -> None:
        self._text = masked  # counted in the masked text: the words of a link are no words
        self._separator = separator
        self._offsets = [0]  # sorted offsets whose word counts are known (all at boundaries)
        self._counts = [0]

    def _words_before(self, offset: int) -> int:
        k = bisect_right(self._offsets, offset) - 1
        base, count = self._offsets[k], self._counts[k]
        if base == offset:
            return count
        # Spans start and end between words, so no word is cut by counting from one of them.
        word_re = _ASCII_WORD_RE if self._text.isascii() else _word_re()
        count += len(word_re.findall(self._text, base, offset))
        self._offsets.insert(k + 1, offset)
        self._counts.insert(k + 1, count)
        return count

    def occurrences(self, spans: Iterable[tuple[int, int]], term: _Term) -> list[_Occurrence]:
        """Where each span of ``term`` lies, in words."""
        out = []
        separator, text, width = self._separator, term.text, term.words - 1
        for start, end in spans:
            first = self._words_before(start)  # the span may begin with "#" / "@"
            out.append(_Occurrence(start > separator, first, first + width, ((start, end, text),)))
        return out


def _near(left: list[_Occurrence], right: list[_Occurrence], n: int) -> list[_Occurrence]:
    """Every pair of a left and a right occurrence at most ``n`` words apart, in either
    order, not overlapping, on the same side of the title/text break; each pair becomes one
    occurrence covering both (so NEAR can nest)."""
    by_first = sorted(right, key=lambda o: o.first)
    firsts = [o.first for o in by_first]
    by_last = sorted(right, key=lambda o: o.last)
    lasts = [o.last for o in by_last]
    pairs: dict[tuple[bool, int, int], dict[_Found, None]] = {}
    for a in left:
        after = by_first[bisect_right(firsts, a.last) : bisect_right(firsts, a.last + 1 + n)]
        before = by_last[bisect_left(lasts, a.first - 1 - n) : bisect_left(lasts, a.first)]
        for b in (*after, *before):
            if a.in_text == b.in_text:
                key = (a.in_text, min(a.first, b.first), max(a.last, b.last))
                pairs.setdefault(key, {}).update(dict.fromkeys((*a.found, *b.found)))
    return [
        _Occurrence(in_text, first, last, tuple(found))
        for (in_text, first, last), found in pairs.items()
    ]


# --------------------------------------------------------------------------------------------
# Rules: what the found terms mean for each brand
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Term:
    text: str  # as configured (or written in the query): reported in Match.terms / Span.term
    pattern: int  # index into _TermIndex.patterns
    words: int = 1  # how many words of a post it covers (a span of it always covers these)


@dataclass(frozen=True, slots=True)
class _BrandRule:
    """Any keyword AND (no require terms OR any require term) AND no exclude term."""

    name: str
    keywords: tuple[_Term, ...]
    require: tuple[_Term, ...]
    exclude: tuple[_Term, ...]

    @property
    def triggers(self) -> tuple[int, ...]:
        """Patterns of which a post must contain one for the rule to hold."""
        return tuple(t.pattern for t in self.keywords)

    def evaluate(self, hits: _PostHits, where: _Where) -> tuple[Span, ...] | None:
        """Folded-text spans (as Spans) of the matching keywords, or None if no mention."""
        located = hits.found  # keywords are triggers: located already
        if self.require and not any(_present(t.pattern, hits) for t in self.require):
            return None
        if any(_present(t.pattern, hits) for t in self.exclude):
            return None
        found = [
            (start, end, order, term.text)
            for order, term in enumerate(self.keywords)
            for start, end in located.get(term.pattern, ())
        ]
        if not found:
            return None
        found.sort()
        return tuple(Span(start, end, text) for start, end, _, text in found)

    def describe(self, patterns: Sequence[_Pattern]) -> list[str]:
        lines = [_describe_term("keyword", t, patterns[t.pattern]) for t in self.keywords]
        lines += [_describe_term("require", t, patterns[t.pattern]) for t in self.require]
        lines += [_describe_term("exclude", t, patterns[t.pattern]) for t in self.exclude]
        rule = "mention = any keyword"
        if self.require:
            rule += " AND any require term"
        if self.exclude:
            rule += " AND NOT any exclude term"
        lines.append(rule + "  (whole words; case and accents ignored; ␣ = any white space)")
        return lines


def _present(pid: int, hits: _PostHits) -> bool:
    # The common answers without a method call: located already, or eager and not there.
    return pid in hits.found or (pid not in hits.eager and hits.get(pid) is not None)


def _describe_term(role: str, term: _Term, pattern: _Pattern) -> str:
    note = ""
    if pattern.lead == "#":
        note = "  (hashtag only)"
    elif pattern.lead == "@":
        note = "  (handle only)"
    if pattern.prefix:
        note += "  (prefix: every word starting so)"
    return f"{role} {term.text!r} → {pattern.render()}{note}"


# A compiled query: the tree of config.query with each term resolved to its pattern.


@dataclass(frozen=True, slots=True)
class _QTerm:
    term: _Term


@dataclass(frozen=True, slots=True)
class _QAll:
    children: tuple[_QNode, ...]


@dataclass(frozen=True, slots=True)
class _QAny:
    children: tuple[_QNode, ...]


@dataclass(frozen=True, slots=True)
class _QNot:
    child: _QNode


@dataclass(frozen=True, slots=True)
class _QNear:
    left: _QNode
    right: _QNode
    distance: int


_QNode = _QTerm | _QAll | _QAny | _QNot | _QNear


def _holds(node: _QNode, hits: _PostHits, where: _Where, evidence: list[_Found]) -> bool:
    """Does ``node`` hold? If so, the found terms that make it hold are added to ``evidence``.

    Only terms on a path that holds are evidence: in ``(a AND b) OR c`` over a post with
    ``a`` and ``c``, the evidence is ``c``; negated terms never are. An OR is explained by
    those of its plain terms that occur; its groups (AND, NEAR, parentheses) are looked into
    only when none does: one reason is enough to explain a mention, and a NEAR costs far
    more than a term (this cuts the query case of ``benchmarks/match_bench.py`` by a fifth). Terms
    are tested inline (not by a call each): a query is mostly terms, and this runs for every
    candidate post.
    """
    if isinstance(node, _QAny):
        held = False
        for child in node.children:
            if isinstance(child, _QTerm):
                pid = child.term.pattern
                spans = hits.found.get(pid)
                if spans is None and pid not in hits.eager:
                    spans = hits.get(pid)
                if spans is not None:
                    text = child.term.text
                    evidence += [(s, e, text) for s, e in spans]
                    held = True
        if held:
            return True
        for child in node.children:
            if not isinstance(child, _QTerm) and _holds(child, hits, where, evidence):
                held = True
        return held
    if isinstance(node, _QAll):
        mark = len(evidence)
        for child in node.children:
            if isinstance(child, _QTerm):
                pid = child.term.pattern
                spans = hits.found.get(pid)
                if spans is None and pid not in hits.eager:
                    spans = hits.get(pid)
                if spans is None:
                    del evidence[mark:]
                    return False
                text = child.term.text
                evidence += [(s, e, text) for s, e in spans]
            elif not _holds(child, hits, where, evidence):
                del evidence[mark:]
                return False
        return True
    if isinstance(node, _QTerm):
        spans = hits.get(node.term.pattern)
        if spans is None:
            return False
        text = node.term.text
        evidence += [(s, e, text) for s, e in spans]
        return True
    if isinstance(node, _QNot):
        return not _holds(node.child, hits, where, [])
    occurrences = _occurrences(node, hits, where)
    for occurrence in occurrences:
        evidence += occurrence.found
    return bool(occurrences)


def _witnesses(node: _QNode) -> frozenset[int] | None:
    """Patterns of which every post the node holds for contains at least one; None when
    the node can hold without any hit (a NOT).

    Only posts with a hit in this set are evaluated at all, so it should be small and
    rare: of the parts an AND (or a NEAR) needs, the one with the fewest terms is taken.
    In ``acme NEAR/3 (phone OR laptop)`` that is {acme}: a post saying "phone" (common)
    does not make the query worth evaluating.
    """
    if isinstance(node, _QTerm):
        return frozenset((node.term.pattern,))
    if isinstance(node, _QNot):
        return None
    if isinstance(node, _QAny):
        union: set[int] = set()
        for child in node.children:
            found = _witnesses(child)
            if found is None:
                return None
            union |= found
        return frozenset(union)
    parts = (node.left, node.right) if isinstance(node, _QNear) else node.children
    options = [w for w in map(_witnesses, parts) if w is not None]
    return min(options, key=len) if options else None


def _occurrences(node: _QNode, hits: _PostHits, where: _Where) -> list[_Occurrence]:
    """Where a positional node (term, OR of positional nodes, NEAR) occurs."""
    if isinstance(node, _QTerm):
        spans = hits.get(node.term.pattern)
        return where.occurrences(spans, node.term) if spans else []
    if isinstance(node, _QAny):
        out: list[_Occurrence] = []
        for child in node.children:
            if isinstance(child, _QTerm):  # inline: an OR inside a NEAR is mostly terms
                spans = hits.get(child.term.pattern)
                if spans:
                    out += where.occurrences(spans, child.term)
            else:
                out += _occurrences(child, hits, where)
        return out
    if not isinstance(node, _QNear):  # pragma: no cover - the parser only builds these
        raise TypeError(f"NEAR over a non-positional part: {node!r}")
    left = _occurrences(node.left, hits, where)
    if not left:
        return []
    right = _occurrences(node.right, hits, where)
    if not right:
        return []
    return _near(left, right, node.distance)


@dataclass(frozen=True, slots=True)
class _QueryRule:
    """A boolean query over the term hits (see mentionwatch.config.query)."""

    name: str
    query: str  # normalised (query.render): explicit AND/OR and parentheses
    root: _QNode
    terms: tuple[tuple[_Term, bool], ...]  # every term once, and whether only ever negated
    triggers: tuple[int, ...]  # patterns of which a post must contain one: see _witnesses

    def evaluate(self, hits: _PostHits, where: _Where) -> tuple[Span, ...] | None:
        found: list[_Found] = []
        if not _holds(self.root, hits, where, found) or not found:
            return None
        return tuple(Span(start, end, term) for start, end, term in sorted(set(found)))

    def describe(self, patterns: Sequence[_Pattern]) -> list[str]:
        lines = [f"query {self.query}"]
        for term, negated in self.terms:
            line = _describe_term("term", term, patterns[term.pattern])
            lines.append(line + ("  (under NOT)" if negated else ""))
        lines.append(
            "mention = the query holds  (NEAR > NOT > AND > OR; whole words; case and accents "
            "ignored; ␣ = any white space)"
        )
        return lines


_Rule = _BrandRule | _QueryRule


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


class Matcher:
    """Compiled brands. Build with :func:`compile_brands`; immutable and reusable."""

    def __init__(
        self, patterns: Sequence[_Pattern], rules: Sequence[_Rule], brands: Sequence[Brand] = ()
    ) -> None:
        self._rules = tuple(rules)
        self._brands = {b.name: b for b in brands}
        self._index = _TermIndex(patterns, (pid for rule in rules for pid in rule.triggers))
        # pattern -> indexes of the brands it can trigger, so a post only evaluates the
        # brands its hits touch (keeps the per-post cost independent of the number of brands).
        owners: dict[int, set[int]] = {}
        for b, rule in enumerate(self._rules):
            for pid in rule.triggers:
                owners.setdefault(pid, set()).add(b)
        self._owners = {pid: tuple(sorted(bs)) for pid, bs in owners.items()}

    def excluded(self, brand: str, source: str, author: str, url: str) -> bool:
        """Whether the brand's exclude_authors / _domains / _sources leave this post out
        (who posted it and where, which the words alone cannot say)."""
        b = self._brands.get(brand)
        return b is not None and b.excludes(source, author, url)

    def match(self, title: str, text: str) -> list[Match]:
        """One Match per brand the post mentions, in configuration order.

        ``Match.terms``: the keywords (or query terms, as written: ``acme``, ``"acme
        corp"``, ``acm*``) that made it a mention, in order of first appearance; spans index
        the original ``title + "\\n" + text``.
        """
        folded_title, folded_text = _Folded(title), _Folded(text)
        separator = len(folded_title.text)
        hits = self._index.find(folded_title.text + "\n" + folded_text.text, separator)
        if hits is None:
            return []
        owners = self._owners
        brands = sorted({b for pid in hits.found for b in owners.get(pid, ())})
        if not brands:
            return []
        where = _Where(hits.text, separator)
        matches: list[Match] = []
        for b in brands:
            rule = self._rules[b]
            spans = rule.evaluate(hits, where)
            if spans is None:
                continue
            original = tuple(
                _to_original(span, folded_title, folded_text, separator) for span in spans
            )
            matches.append(
                Match(
                    brand=rule.name,
                    terms=tuple(dict.fromkeys(span.term for span in original)),
                    spans=original,
                )
            )
        return matches

    def describe(self) -> dict[str, list[str]]:
        """Brand name → human-readable compiled rule lines (for ``mentionwatch check``)."""
        return {rule.name: rule.describe(self._index.patterns) for rule in self._rules}


def _to_original(span: Span, title: _Folded, text: _Folded, separator: int) -> Span:
    if span.end <= separator:
        start, end = title.span(span.start, span.end)
    else:
        offset = separator + 1
        start, end = text.span(span.start - offset, span.end - offset)
        start += len(title.original) + 1
        end += len(title.original) + 1
    return Span(start, end, span.term)


def compile_brands(brands: Sequence[Brand]) -> Matcher:
    """Compile every brand's terms once into a :class:`Matcher`.

    Raises :class:`ConfigError`, naming the brand and the term, for a term that can never
    match (no letters or digits, or a link / e-mail address, which are masked out of posts),
    for a brand without keywords or query, for one with both, and, naming the column, for a
    query that does not parse.
    """
    patterns: list[_Pattern] = []
    pattern_ids: dict[_Pattern, int] = {}  # the same term in several brands is found once

    def compile_term(
        brand: Brand, role: _Role, text: str, shown: str, *, prefix: bool = False
    ) -> _Term:
        pattern = _parse_term(text, prefix=prefix)
        if pattern is None:
            raise ConfigError(
                f"brand {brand.name!r}: {role} {shown!r} can never match: "
                "it has no letters or digits"
            )
        if _MASK_CHAR in _mask_links(_fold(text)):
            raise ConfigError(
                f"brand {brand.name!r}: {role} {shown!r} can never match: links and "
                "e-mail addresses are not counted as mentions (use the bare name or domain)"
            )
        if prefix and (pattern.trail or len(pattern.words[-1]) < _STEM):
            raise ConfigError(
                f"brand {brand.name!r}: {role} {shown!r}: a prefix needs at least "
                f"{_STEM} letters or digits before the '*'"
            )
        pid = pattern_ids.setdefault(pattern, len(patterns))
        if pid == len(patterns):
            patterns.append(pattern)
        return _Term(shown, pid, len(pattern.words))

    def compile_terms(brand: Brand, role: _Role, terms: Iterable[str]) -> tuple[_Term, ...]:
        # A term listed twice is still one term.
        return tuple(compile_term(brand, role, term, term) for term in dict.fromkeys(terms))

    def compile_query(brand: Brand, query: str) -> _QueryRule:
        try:
            root = q.parse_query(query)
        except q.QuerySyntaxError as exc:
            raise ConfigError(f"brand {brand.name!r}: {exc}") from None
        compiled: dict[q.Term, _Term] = {}
        only_negated: dict[q.Term, bool] = {}
        for term, negated in q.terms(root):
            if term not in compiled:
                compiled[term] = compile_term(
                    brand, "query term", term.text, term.display, prefix=term.kind == "prefix"
                )
            only_negated[term] = only_negated.get(term, True) and negated

        def build(node: q.Node) -> _QNode:
            if isinstance(node, q.Term):
                return _QTerm(compiled[node])
            if isinstance(node, q.Not):
                return _QNot(build(node.child))
            if isinstance(node, q.Near):
                return _QNear(build(node.left), build(node.right), node.distance)
            children = tuple(build(child) for child in node.children)
            return _QAll(children) if isinstance(node, q.And) else _QAny(children)

        compiled_root = build(root)
        # The parser refused queries that could hold without any term, so this is a set.
        triggers = _witnesses(compiled_root)
        if triggers is None:  # pragma: no cover - defended by parse_query
            raise ConfigError(f"brand {brand.name!r}: the query needs a term to look for")
        return _QueryRule(
            name=brand.name,
            query=q.render(root),
            root=compiled_root,
            terms=tuple((compiled[t], negated) for t, negated in only_negated.items()),
            triggers=tuple(sorted(triggers)),
        )

    rules: list[_Rule] = []
    for brand in brands:
        if brand.query is not None:
            if brand.keywords or brand.require or brand.exclude:
                raise ConfigError(
                    f"brand {brand.name!r}: give either a query or keywords/require/exclude, "
                    "not both (a query can say all of it: acme AND (phone OR laptop) AND NOT x)"
                )
            rules.append(compile_query(brand, brand.query))
            continue
        if not brand.keywords:
            raise ConfigError(f"brand {brand.name!r}: no keywords, so it can never match")
        rules.append(
            _BrandRule(
                name=brand.name,
                keywords=compile_terms(brand, "keyword", brand.keywords),
                require=compile_terms(brand, "require", brand.require),
                exclude=compile_terms(brand, "exclude", brand.exclude),
            )
        )
    return Matcher(patterns, rules, brands)
