"""Score the tone of a post toward one brand: the engine, the language, the focus.

One function, :func:`analyze_mention`, serves ``scan``, ``rescore`` and
``mentionwatch sentiment --target``, so a text scores the same wherever it is scored.

- **Engines.** ``model`` (default): the trained linear classifiers shipped in
  ``weights/`` (English, Norwegian; see weights/MODEL.md). ``vader`` and ``textblob``:
  English lexicons, kept as choices.
- **Language.** The source's language when it gives one, else the detected one
  (language.py); an undetectable (short) post counts as English. A language the engine
  has no model for is *unscored* (score None, label ``unscored``), never scored as if
  it were English.
- **Focus.** Only the part of the post about the brand is scored: the sentences naming
  it, cut at contrast ("but", "while", "however", "men", "selv om", ";", "—") so that
  "Kettlo makes a wonderful kettle, while Ember's grinder broke" is negative for Ember.
  What counts as "someone else" is read from the text itself (a capitalised name or an
  @handle that isn't the brand), never from which other brands are configured: adding
  a brand to the config must not change another brand's scores.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache

from ..errors import ConfigError
from ..models import Sentiment, SentimentLabel, Span
from .classifier import load_model
from .language import detect, normalize

# name -> one-line description (shown by `mentionwatch sentiment --help` and `check`).
ENGINES: dict[str, str] = {
    "model": "trained linear classifier shipped in the package; English and Norwegian",
    "vader": "VADER (vaderSentiment): lexicon + rules tuned for social media; English",
    "textblob": "TextBlob's pattern analyser: lexicon of adjectives; English",
}
DEFAULT_ENGINE = "model"
DEFAULT_LANG = "en"  # what a post whose language can't be told is scored as
THRESHOLD = 0.05  # lexicon engines: |score| below this is neutral, as VADER's authors advise

# (score, label) for a piece of text.
Scorer = Callable[[str], tuple[float, SentimentLabel]]

# Sentence ends: . ! ? … followed by space, or any line break (the title is its own line).
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*\s+|\n+")
# Where a sentence turns from one subject to another: contrast words (English, bokmål,
# nynorsk), with or without a comma before them, then semicolons and dashes, then the
# weaker breaks (comma, colon), which only cut off clauses that name someone else.
_CLAUSE_BREAK = re.compile(
    r"[,;:]?\s+(?:but|while|whereas|although|though|however|unlike|men|mens|selv om|"
    r"medan|derimot)\s+"
    r"|\s*[;\u2014\u2013]\s*"
    r"|[,:]\s+",
    re.IGNORECASE,
)
_WORD = re.compile(r"@\w+|\w+(?:['\u2019]\w+)*")
_MAX_SCORED_CHARS = 5000  # scorers are linear in the text; a cap keeps junk posts cheap

# Capitalised words that open a sentence without naming anyone: pronouns, articles,
# conjunctions, interjections (English, Norwegian). Sentiment words come from VADER's
# lexicon (see _known_words); the rest of a capitalised opener is taken as a name.
_FUNCTION_WORDS = frozenset(
    re.split(
        r"\s+",
        """
        a an the this that these those it its it's they them their theirs he she his her we
        our us you your i i'm i've my me mine one someone nobody everyone everybody and or
        so then also still just even only again too yet now today yesterday tomorrow never
        always not no yes yeah yep nope ok okay please thanks thank well oh ah wow omg lol
        what why how when where who which whose there here if because since after before
        honestly seriously really totally absolutely definitely literally apparently again
        very much more most less least all any some every each both either neither none is
        are was were be been being do does did have has had can could will would should
        must may might shall got get gets getting make made same other another such den det
        de dem deres dette denne disse han hun vi oss du dere jeg eg meg min mitt mine vår
        vårt våre og eller så da nå også bare enda ikke ikkje aldri alltid ja nei takk
        hvorfor korfor hva kva når hvor kvar som er var har hadde kan skal vil må kanskje
        virkelig veldig helt litt mye mer mest alle noen ingen hver
        """.strip(),
    )
)


def label_for(score: float) -> SentimentLabel:
    """The label of a lexicon engine's score."""
    if score >= THRESHOLD:
        return "positive"
    if score <= -THRESHOLD:
        return "negative"
    return "neutral"


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ConfigError(f"unknown sentiment engine {engine!r}; known: {', '.join(ENGINES)}")


@cache
def get_scorer(engine: str, lang: str = DEFAULT_LANG) -> Scorer | None:
    """The scorer of ``engine`` for ``lang``, loaded once on first use; None when the
    engine has no model for that language."""
    check_engine(engine)
    if engine == "model":
        model = load_model(lang)
        if model is None:
            return None

        def score_model(text: str) -> tuple[float, SentimentLabel]:
            label, score = model.predict(text)
            return round(score, 4), _LABELS[label]

        return score_model
    if lang != "en":
        return None  # the lexicons are English: scoring other text as English is noise
    if engine == "vader":
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        vader = SentimentIntensityAnalyzer()
        return _lexicon(lambda text: float(vader.polarity_scores(text)["compound"]))
    # PatternAnalyzer ships its lexicon inside textblob: no NLTK corpus download.
    from textblob.en.sentiments import PatternAnalyzer

    pattern = PatternAnalyzer()
    return _lexicon(lambda text: float(pattern.analyze(text).polarity))


_LABELS: dict[str, SentimentLabel] = {
    "positive": "positive",
    "neutral": "neutral",
    "negative": "negative",
}


def _lexicon(raw: Callable[[str], float]) -> Scorer:
    def score(text: str) -> tuple[float, SentimentLabel]:
        value = max(-1.0, min(1.0, round(raw(text), 4)))
        return value, label_for(value)

    return score


# ------------------------------------------------------------------ focus


@cache
def _known_words() -> frozenset[str]:
    from importlib.resources import files

    lexicon = files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    words = {line.split("\t", 1)[0].lower() for line in lexicon.splitlines() if line}
    return frozenset(words) | _FUNCTION_WORDS


def _pieces(text: str, pattern: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = start
    for m in pattern.finditer(text, start, end):
        if m.start() > pos:
            out.append((pos, m.start()))
        pos = max(pos, m.end())
    if pos < end:
        out.append((pos, end))
    return out


def _overlaps(piece: tuple[int, int], spans: Sequence[Span]) -> bool:
    return any(s.start < piece[1] and s.end > piece[0] for s in spans)


def _names_someone_else(text: str, piece: tuple[int, int], spans: Sequence[Span]) -> bool:
    """Does this piece name a subject other than the brand: an @handle, or a capitalised
    word that isn't one of ours (a word opening the piece counts unless it's a common
    word, since every opener is capitalised)?"""
    first = True
    for m in _WORD.finditer(text, *piece):
        word = m.group()
        if any(s.start < m.end() and s.end > m.start() for s in spans):
            first = False
            continue
        if word.startswith("@"):
            return True
        titled = word[0].isupper() and any(ch.islower() for ch in word[1:])
        if titled and not (first and word.lower() in _known_words()):
            return True
        first = False
    return False


def focus(text: str, spans: Sequence[Span]) -> str:
    """The part of ``text`` that speaks about the brand at ``spans``.

    Each sentence naming the brand is cut at contrast words and commas; the clause
    naming the brand is kept with the clauses after it up to one that names someone
    else. The sentence after a brand sentence is kept too ("Never again.", "They were
    great.") unless it names someone else. Without spans the whole text is the focus.
    """
    if not spans:
        return text[:_MAX_SCORED_CHARS]
    kept: list[str] = []
    follow = False
    for sentence in _pieces(text, _SENTENCE_END, 0, len(text)):
        if not _overlaps(sentence, spans):
            if follow and not _names_someone_else(text, sentence, spans):
                kept.append(text[sentence[0] : sentence[1]])
            follow = False
            continue
        follow = True
        keep = False
        for clause in _pieces(text, _CLAUSE_BREAK, *sentence):
            if _overlaps(clause, spans):
                keep = True
            elif keep and _names_someone_else(text, clause, spans):
                keep = False
            if keep:
                kept.append(text[clause[0] : clause[1]])
    return " ".join(kept)[:_MAX_SCORED_CHARS] if kept else text[:_MAX_SCORED_CHARS]


# ------------------------------------------------------------------ scoring


def language_of(text: str, given: str | None = None) -> str | None:
    """The post's language: the source's word for it if it gave one, else detected."""
    return normalize(given) or detect(text)


def prepare(
    title: str, text: str, spans: Sequence[Span], lang: str | None = None
) -> tuple[str, str | None]:
    """(focus, language): all a mention's score depends on, so a caller can score each
    distinct pair once (a scan does). ``spans`` index ``title + "\\n" + text``, the string
    the matcher reads; the language is the source's (``lang``) or read from the whole
    post."""
    full = f"{title}\n{text}"
    return focus(full, spans), language_of(full, lang)


def score_snippet(snippet: str, lang: str | None, *, engine: str = DEFAULT_ENGINE) -> Sentiment:
    """Score a focused snippet written in ``lang`` (None: unknown, scored as English)."""
    scorer = get_scorer(engine, lang or DEFAULT_LANG)
    if scorer is None:
        return Sentiment(score=None, label="unscored", engine=engine, lang=lang)
    score, label = scorer(snippet) if snippet.strip() else (0.0, "neutral")
    return Sentiment(score=score, label=label, engine=engine, lang=lang)


def analyze(
    text: str,
    *,
    engine: str = DEFAULT_ENGINE,
    spans: Sequence[Span] = (),
    lang: str | None = None,
) -> Sentiment:
    """Tone of ``text`` toward whatever ``spans`` mark (the whole text without spans).

    ``lang``: the language if known (else it is detected). The returned ``lang`` is the
    one used, None when it could not be told (scored as English)."""
    return score_snippet(focus(text, spans), language_of(text, lang), engine=engine)


def analyze_mention(
    title: str,
    text: str,
    spans: Sequence[Span],
    *,
    engine: str = DEFAULT_ENGINE,
    lang: str | None = None,
) -> Sentiment:
    """A mention's sentiment as ``scan`` stores it (prepare, then score_snippet)."""
    snippet, used = prepare(title, text, spans, lang)
    return score_snippet(snippet, used, engine=engine)
