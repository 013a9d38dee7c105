"""Sentiment toward a brand: engines, the focus on the brand's clause, languages."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mentionwatch.analysis.language import detect, normalize
from mentionwatch.analysis.matcher import compile_brands
from mentionwatch.analysis.sentiment import (
    ENGINES,
    analyze,
    analyze_mention,
    focus,
    get_scorer,
    label_for,
)
from mentionwatch.cli import app
from mentionwatch.config.model import Brand
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


def _span(text: str, word: str, nth: int = 0) -> Span:
    start = -1
    for _ in range(nth + 1):
        start = text.index(word, start + 1)
    return Span(start, start + len(word), word)


def _spans(text: str, name: str) -> tuple[Span, ...]:
    """Where the matcher (as a scan runs it) finds ``name`` in a post with this text."""
    found = compile_brands([Brand(name=name, keywords=(name,))]).match("", text)
    return tuple(s for m in found for s in m.spans)


@pytest.mark.parametrize("engine", list(ENGINES))
def test_each_brand_gets_its_own_score(engine: str) -> None:
    acme = analyze(TEXT, engine=engine, spans=[_span(TEXT, "Acme")])
    globex = analyze(TEXT, engine=engine, spans=[_span(TEXT, "Globex")])
    assert acme.label == "positive"
    assert globex.label == "negative"
    assert acme.engine == engine


def test_the_default_engine_is_the_shipped_model() -> None:
    assert analyze("Acme support was wonderful, thank you!").engine == "model"


# ------------------------------------------------------------------ focus


def test_focus_cuts_a_shared_sentence_at_contrast() -> None:
    text = "Acme is excellent, but Globex is awful."
    assert focus(text, [_span(text, "Acme")]) == "Acme is excellent"
    assert focus(text, [_span(text, "Globex")]) == "Globex is awful."


def test_focus_keeps_the_brand_sentence_and_a_following_one_about_it() -> None:
    # "We are very happy with them." goes on about Acme; the Globex sentence does not.
    assert focus(TEXT, [_span(TEXT, "Acme")]) == (
        "Acme shipped on time and their support team is wonderful. We are very happy with them."
    )
    assert focus("no spans here", []) == "no spans here"


def test_focus_keeps_a_short_verdict_after_the_brand() -> None:
    text = "My Ember order is three weeks late. Never again."
    assert focus(text, [_span(text, "Ember")]) == text


def test_focus_keeps_what_follows_the_brand_in_its_clause_chain() -> None:
    text = "Ember is great, but expensive."
    assert focus(text, [_span(text, "Ember")]) == "Ember is great expensive."


@pytest.mark.parametrize(
    ("text", "brand", "expected"),
    [
        ("Kettlo er best, men Ember er elendig.", "Ember", "Ember er elendig."),
        ("Ember er treg mens Kettlo er rask.", "Ember", "Ember er treg"),
        ("Kettlo leverte raskt, selv om Ember var billigere.", "Ember", "Ember var billigere."),
        ("Kettlo er dyr; Ember er billig.", "Ember", "Ember er billig."),
        ("Kettlo is dear \u2014 Ember is cheap.", "Ember", "Ember is cheap."),
        ("Kettlo lasted years whereas Ember broke.", "Ember", "Ember broke."),
        ("Kettlo was fine. However, Ember broke.", "Ember", "Ember broke."),
    ],
)
def test_focus_splits_at_english_and_norwegian_contrast(
    text: str, brand: str, expected: str
) -> None:
    assert focus(text, [_span(text, brand)]) == expected


# The defect from the issue: the tone toward Ember must not depend on whether Kettlo
# is a configured brand. Both scans now see the same focus, hence the same score.
KETTLE = (
    "Kettlo makes a wonderful kettle, while Ember's grinder broke after a week and "
    "support ignored me."
)


def test_tone_toward_a_brand_ignores_which_other_brands_are_configured() -> None:
    only_ember = compile_brands([Brand(name="Ember", keywords=("Ember",))])
    both = compile_brands(
        [Brand(name="Ember", keywords=("Ember",)), Brand(name="Kettlo", keywords=("Kettlo",))]
    )
    ember_alone = next(m for m in only_ember.match("", KETTLE) if m.brand == "Ember")
    ember_with_kettlo = next(m for m in both.match("", KETTLE) if m.brand == "Ember")
    alone = analyze_mention("", KETTLE, ember_alone.spans)
    together = analyze_mention("", KETTLE, ember_with_kettlo.spans)
    assert alone == together
    assert alone.label == "negative"
    kettlo = next(m for m in both.match("", KETTLE) if m.brand == "Kettlo")
    assert analyze_mention("", KETTLE, kettlo.spans).label == "positive"


# ------------------------------------------------------------------ the model on customer talk


@pytest.mark.parametrize(
    "text",
    [
        "@Ember flight delayed 3 hours and nobody at the desk",
        "@Ember still waiting for my refund, 3 weeks now",
        "3 hours on hold with @Ember support and nobody answers",
        "@Ember lost my bag. Never again.",
        "Thanks for nothing @Ember",
        "@Ember fix this, the app crashes every time I pay",
        "Ember cancelled my order without telling me",
    ],
)
def test_the_model_hears_customer_complaints(text: str) -> None:
    result = analyze_mention("", text, _spans(text, "Ember"))
    assert result.label == "negative", result


@pytest.mark.parametrize(
    "text",
    [
        "@Ember thank you so much, the new grinder is perfect",
        "Huge thanks to Ember support for sorting my refund in minutes!",
        "Loving my Ember kettle, best purchase this year",
    ],
)
def test_the_model_hears_praise(text: str) -> None:
    assert analyze_mention("", text, _spans(text, "Ember")).label == "positive"


def test_the_model_scores_in_range_with_vader_as_an_alternative() -> None:
    text = "Ember support ignored me for a week"
    model = analyze_mention("", text, _spans(text, "Ember"))
    vader = analyze_mention("", text, _spans(text, "Ember"), engine="vader")
    assert model.score is not None
    assert -1.0 <= model.score <= 1.0
    assert vader.engine == "vader"


# ------------------------------------------------------------------ languages


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The delivery was late and the support team never answered my emails", "en"),
        ("Kundeservicen svarte aldri, og pakken kom to uker for sent", "no"),
        ("Eg har venta i tre veker og ingen har svart meg", "no"),  # nynorsk
        ("Jag har väntat i tre veckor och ingen har svarat", "sv"),
        ("Ich habe drei Wochen gewartet und niemand hat geantwortet", "de"),
    ],
)
def test_language_detection_on_short_posts(text: str, lang: str) -> None:
    assert detect(text) == lang


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Ich habe das gestern in der Stadt gesehen, und es war so schön, aber was kann man", "de"),
        ("Het is een mooie dag en ik ben blij dat ik hier ben met al mijn vrienden", "nl"),
        ("Voy a la playa con mi amigo y vamos a comer algo a las tres", "es"),
        ("Je suis allé à la plage avec mon ami et il a fait beau toute la journée", "fr"),
        ("Jeg har ventet i tre uker, og det er ikke godt nok for en kunde som meg", "no"),
        ("Eg har venta i tre veker og det er ikkje godt nok for ein kunde som meg", "no"),
        ("Jag har väntat i tre veckor och det är inte bra nog för en kund som mig", "sv"),
    ],
)
def test_the_english_fast_path_leaves_other_languages_alone(text: str, lang: str) -> None:
    assert detect(text) == lang


def test_too_little_text_to_tell_is_unknown() -> None:
    assert detect("Ember!") is None
    assert detect("https://example.com @ember #fail") is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [("en-US", "en"), ("nb", "no"), ("nn-NO", "no"), ("NO", "no"), ("", None), ("x1", None)],
)
def test_language_codes_are_normalised(given: str, expected: str | None) -> None:
    assert normalize(given) == expected


def test_norwegian_is_scored_by_the_norwegian_model() -> None:
    text = "Kundeservicen til Ember er dårlig og treg."
    result = analyze_mention("", text, _spans(text, "Ember"))
    assert result.lang == "no"
    assert result.label == "negative"
    praise = "Tusen takk til Ember, kaffemaskinen er helt fantastisk!"
    assert analyze_mention("", praise, _spans(praise, "Ember")).label == "positive"


def test_a_language_without_a_model_is_unscored_not_scored_as_english() -> None:
    text = "Ich habe drei Wochen auf Ember gewartet und niemand hat geantwortet"
    result = analyze_mention("", text, _spans(text, "Ember"))
    assert (result.score, result.label, result.lang) == (None, "unscored", "de")
    # The lexicons are English: they leave other languages unscored too.
    assert analyze(text, engine="vader").label == "unscored"
    assert get_scorer("model", "de") is None


def test_the_source_language_wins_over_detection() -> None:
    assert analyze("Ember is great", lang="en-GB").lang == "en"
    assert analyze("Ember is great", lang="de").label == "unscored"


def test_empty_text_is_neutral() -> None:
    result = analyze("   ")
    assert (result.score, result.label) == (0.0, "neutral")


# ------------------------------------------------------------------ the command


def _cli(*args: str, stdin: str | None = None) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, ["sentiment", *args], input=stdin)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_sentiment_target_scores_the_tone_toward_each_name() -> None:
    text = "Ember is great but Kettlo is awful"
    [ember] = _cli(text, "--target", "Ember")
    [kettlo] = _cli(text, "--target", "Kettlo")
    assert ember["label"] == "positive"
    assert kettlo["label"] == "negative"
    assert ember["score"] != kettlo["score"]


def test_sentiment_reads_stdin_lines_and_says_the_language() -> None:
    rows = _cli(stdin="Ember lost my bag\nJag älskar den här kaffebryggaren\n")
    assert [r["label"] for r in rows] == ["negative", "unscored"]
    assert rows[1]["lang"] == "sv"
    assert rows[1]["score"] is None


def test_sentiment_rejects_an_unknown_engine() -> None:
    result = CliRunner().invoke(app, ["sentiment", "x", "--engine", "nope"])
    assert result.exit_code == 2
    assert "unknown engine 'nope'" in result.output
