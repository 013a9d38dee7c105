"""Decide which configured brands a post mentions, by which terms, and where.

One responsibility: compile the brands' keywords / require / exclude terms once
(:func:`compile_brands`), then answer, for any ``title`` + ``text``, which brands the post
mentions under the matching rules of DESIGN.md ("Matching rules"), with character spans into
the original ``title + "\\n" + text``.

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
* Finding terms (:class:`_TermIndex`) is kept apart from deciding what a set of found terms
  means for a brand (:class:`_BrandRule`), so the boolean query language can later be added
  as another kind of rule over the same term hits.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Literal

from mentionwatch.config import Brand
from mentionwatch.errors import ConfigError
from mentionwatch.models import Match, Span

__all__ = ["Matcher", "compile_brands"]

_Role = Literal["keyword", "require", "exclude"]

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
def _word_re() -> re.Pattern[str]:
    """The one tokenizer: runs of word characters (letters, digits, ``_``, spacing marks).

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
    return re.compile(f"[\\w{marks}]+")


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
    """

    lead: str
    words: tuple[str, ...]
    gaps: tuple[str, ...]
    trail: str

    def render(self) -> str:
        parts = [self.lead]
        for i, word in enumerate(self.words):
            if i:
                parts.append(self.gaps[i - 1].replace(" ", "␣"))
            parts.append(word)
        parts.append(self.trail.replace(" ", "␣"))
        return "".join(parts)


def _parse_term(term: str) -> _Pattern | None:
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
    )


# Folded-text spans [start, end) of one pattern in one post.
_Hits = dict[int, list[tuple[int, int]]]


class _TermIndex:
    """Finds every compiled pattern in a folded post, in time proportional to its tokens."""

    def __init__(self, patterns: Sequence[_Pattern]) -> None:
        self.patterns = tuple(patterns)
        self._word_re = _word_re()
        by_first: dict[str, list[int]] = {}
        for pid, pattern in enumerate(self.patterns):
            by_first.setdefault(pattern.words[0], []).append(pid)
        self._by_first = {word: tuple(pids) for word, pids in by_first.items()}

    def find(self, folded: str, separator: int) -> _Hits:
        """Spans of every pattern found in ``folded``.

        ``separator`` is the index of the newline between title and text: no match may
        straddle it (a phrase does not run from the end of a title into the text).
        """
        # For ASCII text the plain ASCII \w tokenizer gives the same words, about twice as
        # fast as the class with the Unicode spacing marks.
        word_re = _ASCII_WORD_RE if folded.isascii() else self._word_re
        # Most posts mention nothing: one C-level tokenize + one set intersection settles
        # them, whatever the number of keywords. Links are masked only afterwards, since
        # masking can only remove candidates.
        candidates = self._by_first.keys() & word_re.findall(folded)
        if not candidates:
            return {}
        folded = _mask_links(folded)
        hits: _Hits = {}
        for word in candidates:
            pids = self._by_first[word]
            # str.find jumps (in C) to each occurrence of the few candidate words; tokens are
            # maximal runs of word characters, so an occurrence is a token only at boundaries.
            start = folded.find(word)
            while start >= 0:
                end = start + len(word)
                if not (start and word_re.match(folded, start - 1)) and not word_re.match(
                    folded, end
                ):
                    for pid in pids:
                        span = _verify(self.patterns[pid], folded, word_re, start, end)
                        if span is not None and not span[0] <= separator < span[1]:
                            hits.setdefault(pid, []).append(span)
                start = folded.find(word, start + 1)
        return hits


def _verify(
    pattern: _Pattern, folded: str, word_re: re.Pattern[str], start: int, end: int
) -> tuple[int, int] | None:
    """The span of ``pattern`` if it occurs with its first word at ``folded[start:end]``."""
    for word, gap in zip(pattern.words[1:], pattern.gaps, strict=True):
        # Gaps are non-word characters, so after one the next token starts right there and
        # must be exactly the next word of the pattern.
        end = _match_forward(folded, end, gap)
        if end < 0:
            return None
        token = word_re.match(folded, end)
        if token is None or token.group() != word:
            return None
        end = token.end()
    # A term without lead/trail is whole-word already (the caller checked the first token's
    # boundaries, and each token above is maximal); punctuation at the term's edges needs its
    # own boundary check: "#acme" not in "foo#acme", "C++" not in "C++11".
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
# Rules: what the found terms mean for each brand
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Term:
    text: str  # as configured: reported in Match.terms / Span.term
    pattern: int  # index into _TermIndex.patterns


@dataclass(frozen=True, slots=True)
class _BrandRule:
    """Any keyword AND (no require terms OR any require term) AND no exclude term."""

    name: str
    keywords: tuple[_Term, ...]
    require: tuple[_Term, ...]
    exclude: tuple[_Term, ...]

    def evaluate(self, hits: _Hits) -> tuple[Span, ...] | None:
        """Folded-text spans (as Spans) of the matching keywords, or None if no mention."""
        if self.require and not any(t.pattern in hits for t in self.require):
            return None
        if any(t.pattern in hits for t in self.exclude):
            return None
        found = [
            (start, end, order, term.text)
            for order, term in enumerate(self.keywords)
            for start, end in hits.get(term.pattern, ())
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


def _describe_term(role: _Role, term: _Term, pattern: _Pattern) -> str:
    note = ""
    if pattern.lead == "#":
        note = "  (hashtag only)"
    elif pattern.lead == "@":
        note = "  (handle only)"
    return f"{role} {term.text!r} → {pattern.render()}{note}"


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


class Matcher:
    """Compiled brands. Build with :func:`compile_brands`; immutable and reusable."""

    def __init__(self, index: _TermIndex, rules: Sequence[_BrandRule]) -> None:
        self._index = index
        self._rules = tuple(rules)
        # pattern -> indexes of the brands using it, so a post only evaluates the brands its
        # hits touch (keeps the per-post cost independent of the number of brands).
        owners: dict[int, set[int]] = {}
        for b, rule in enumerate(self._rules):
            for term in (*rule.keywords, *rule.require, *rule.exclude):
                owners.setdefault(term.pattern, set()).add(b)
        self._owners = {pid: tuple(sorted(bs)) for pid, bs in owners.items()}

    def match(self, title: str, text: str) -> list[Match]:
        """One Match per brand the post mentions, in configuration order.

        Spans index the original ``title + "\\n" + text``.
        """
        folded_title, folded_text = _Folded(title), _Folded(text)
        separator = len(folded_title.text)
        hits = self._index.find(folded_title.text + "\n" + folded_text.text, separator)
        if not hits:
            return []
        brands = sorted({b for pid in hits for b in self._owners[pid]})
        matches: list[Match] = []
        for b in brands:
            rule = self._rules[b]
            spans = rule.evaluate(hits)
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
    for a brand without keywords, and for a brand using ``query`` (not supported yet).
    """
    patterns: list[_Pattern] = []
    pattern_ids: dict[_Pattern, int] = {}  # the same term in several brands is found once

    def compile_terms(brand: Brand, role: _Role, terms: Iterable[str]) -> tuple[_Term, ...]:
        compiled: list[_Term] = []
        for term in dict.fromkeys(terms):  # a term listed twice is still one term
            pattern = _parse_term(term)
            if pattern is None:
                raise ConfigError(
                    f"brand {brand.name!r}: {role} {term!r} can never match: "
                    "it has no letters or digits"
                )
            if _MASK_CHAR in _mask_links(_fold(term)):
                raise ConfigError(
                    f"brand {brand.name!r}: {role} {term!r} can never match: links and "
                    "e-mail addresses are not counted as mentions (use the bare name or domain)"
                )
            pid = pattern_ids.setdefault(pattern, len(patterns))
            if pid == len(patterns):
                patterns.append(pattern)
            compiled.append(_Term(term, pid))
        return tuple(compiled)

    rules: list[_BrandRule] = []
    for brand in brands:
        if brand.query is not None:
            raise ConfigError(
                f"brand {brand.name!r}: 'query' is not supported yet; "
                "use keywords, require and exclude"
            )
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
    return Matcher(_TermIndex(patterns), rules)
