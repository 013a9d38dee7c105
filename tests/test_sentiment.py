from __future__ import annotations

import pytest

from mentionwatch.analysis.sentiment import analyze, focus, label_for
from mentionwatch.models import Span


@pytest.mark.parametrize(
    ("score", "label"),
    [
        (0.05, "positive"),
        (0.049, "neutral"),
        (-0.049, "neutral"),
        (-0.05, "negative"),
        (0, "neutral"),
    ],
)
def test_label_thresholds(score: float, label: str) -> None:
    assert label_for(score) == label


TEXT = (
    "Quarterly roundup of vendors.\n"
    "Acme shipped on time and their support team is wonderful. "
    "We are very happy with them. "
    "Globex, on the other hand, lost our data twice. Horrible and useless."
)


def _span(text: str, word: str) -> Span:
    start = text.index(word)
    return Span(start, start + len(word), word)


@pytest.mark.parametrize("engine", ["vader", "textblob"])
def test_each_brand_gets_its_own_score(engine: str) -> None:
    acme = analyze(TEXT, engine=engine, spans=[_span(TEXT, "Acme")])
    globex = analyze(TEXT, engine=engine, spans=[_span(TEXT, "Globex")])
    assert acme.label == "positive"
    assert globex.label == "negative"
    assert acme.engine == engine


def test_shared_sentence_is_split_into_clauses() -> None:
    text = "Acme is excellent, but Globex is awful."
    acme, globex = _span(text, "Acme"), _span(text, "Globex")
    assert focus(text, [acme], [globex]) == "Acme is excellent"
    assert analyze(text, spans=[acme], others=[globex]).label == "positive"
    assert analyze(text, spans=[globex], others=[acme]).label == "negative"


def test_focus_keeps_only_sentences_with_the_match() -> None:
    assert focus(TEXT, [_span(TEXT, "Globex")]) == (
        "Globex, on the other hand, lost our data twice. Horrible and useless."
    )
    assert focus("no spans here", []) == "no spans here"


def test_empty_text_is_neutral() -> None:
    result = analyze("   ")
    assert (result.score, result.label) == (0.0, "neutral")
