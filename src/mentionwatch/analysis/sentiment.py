"""Score the sentiment of text toward a brand, with pluggable lexicon engines.

Only the sentences (or, when two brands share a sentence, the clauses) around the
brand's matches are scored, so one post can praise one brand and attack another.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache

from ..errors import ConfigError
from ..models import Sentiment, SentimentLabel, Span

# name -> one-line description (shown by `mentionwatch sentiment --help` and `check`).
ENGINES: dict[str, str] = {
    "vader": "VADER (vaderSentiment): lexicon + rules tuned for social media; English",
    "textblob": "TextBlob's pattern analyser: lexicon of adjectives; English",
}
THRESHOLD = 0.05  # |score| below this is neutral, as VADER's authors recommend

# Sentence ends: . ! ? … followed by space, or any line break (the title is its own line).
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*\s+|\n+")
# Where a sentence turns from one subject to another.
_CLAUSE_BREAK = re.compile(r"[;:,]\s+|\s+(?:but|whereas|while|unlike|however|although)\s+", re.I)
_MAX_SCORED_CHARS = 5000  # lexicon scorers are linear; a cap keeps junk posts cheap


def label_for(score: float) -> SentimentLabel:
    if score >= THRESHOLD:
        return "positive"
    if score <= -THRESHOLD:
        return "negative"
    return "neutral"


@cache
def get_scorer(engine: str) -> Callable[[str], float]:
    """A function text -> score in [-1, 1]. Engines load once, on first use."""
    if engine == "vader":
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        vader = SentimentIntensityAnalyzer()
        return lambda text: float(vader.polarity_scores(text)["compound"])
    if engine == "textblob":
        # PatternAnalyzer ships its lexicon inside textblob: no NLTK corpus download.
        from textblob.en.sentiments import PatternAnalyzer

        pattern = PatternAnalyzer()
        return lambda text: float(pattern.analyze(text).polarity)
    raise ConfigError(f"unknown sentiment engine {engine!r}; known: {', '.join(ENGINES)}")


def _pieces(text: str, pattern: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = start
    for m in pattern.finditer(text, start, end):
        if m.start() > pos:
            out.append((pos, m.start()))
        pos = m.end()
    if pos < end:
        out.append((pos, end))
    return out


def _overlaps(piece: tuple[int, int], spans: Sequence[Span]) -> bool:
    return any(s.start < piece[1] and s.end > piece[0] for s in spans)


def focus(text: str, spans: Sequence[Span], others: Sequence[Span] = ()) -> str:
    """The part of ``text`` that speaks about the matched spans.

    Sentences holding a match are kept, with the sentence after each (unless it
    names another brand); when a matched sentence also names another brand
    (``others``), only the clauses around our match are kept. Without spans the
    whole text is the focus.
    """
    if not spans:
        return text[:_MAX_SCORED_CHARS]
    sentences = _pieces(text, _SENTENCE_END, 0, len(text))
    kept: list[str] = []
    follow = False
    for sentence in sentences:
        if not _overlaps(sentence, spans):
            # The sentence after a match often goes on about it ("They were great."),
            # unless it turns to another brand.
            if follow and not _overlaps(sentence, others):
                kept.append(text[sentence[0] : sentence[1]])
            follow = False
            continue
        follow = True
        if _overlaps(sentence, others):
            follow = False
            clauses = _pieces(text, _CLAUSE_BREAK, *sentence)
            mine = [c for c in clauses if _overlaps(c, spans) and not _overlaps(c, others)]
            if mine:
                kept.extend(text[a:b] for a, b in mine)
                continue
        kept.append(text[sentence[0] : sentence[1]])
    return " ".join(kept)[:_MAX_SCORED_CHARS] if kept else text[:_MAX_SCORED_CHARS]


def analyze(
    text: str,
    *,
    engine: str = "vader",
    spans: Sequence[Span] = (),
    others: Sequence[Span] = (),
    lang: str | None = None,
) -> Sentiment:
    """Sentiment of ``text`` toward whatever ``spans`` mark (the whole text without spans)."""
    scorer = get_scorer(engine)
    snippet = focus(text, spans, others)
    score = max(-1.0, min(1.0, round(scorer(snippet), 4))) if snippet.strip() else 0.0
    return Sentiment(score=score, label=label_for(score), engine=engine, lang=lang)
