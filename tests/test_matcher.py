"""Tests for the matching rules of DESIGN.md, as implemented by mentionwatch.analysis.matcher."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mentionwatch.analysis.matcher import _FOLD, _Folded, compile_brands
from mentionwatch.config.model import Brand
from mentionwatch.errors import ConfigError
from mentionwatch.models import Match, Span


def matches(keyword: str, text: str, title: str = "") -> bool:
    """Does a one-keyword brand match the post?"""
    return bool(compile_brands([Brand("B", (keyword,))]).match(title, text))


def spans(keywords: tuple[str, ...], title: str, text: str) -> list[tuple[int, int, str]]:
    found = compile_brands([Brand("B", keywords)]).match(title, text)
    return [(s.start, s.end, s.term) for m in found for s in m.spans]


# --------------------------------------------------------------------------------------------
# The matching rules, one table
# --------------------------------------------------------------------------------------------

RULES = [
    # Whole words, with punctuation around them.
    ("Acme", "Acme's new phone", True),
    ("Acme", "Acme\u2019s new phone", True),  # typographic apostrophe
    ("Acme", "ACME!", True),
    ("Acme", "I like (Acme) a lot", True),
    ("Acme", "#Acme", True),
    ("Acme", "@acme", True),
    ("Acme", "We bought from Acme.", True),
    ("Acme", "Acme.Then no space", True),
    ("Acme", '"Acme"', True),
    ("Acme", "Acme/Globex merger", True),
    ("Acme", "Acme-Corp", True),  # a hyphen is a word boundary for a single word
    ("Acme", "acme", True),
    ("Acme", "Acmeville", False),
    ("Acme", "Acme2", False),
    ("Acme", "2Acme", False),
    ("Acme", "#AcmeSupport", False),
    ("Acme", "acme_corp", False),
    ("Acme", "superacme", False),
    # Links and e-mail addresses are not mentions ...
    ("Acme", "https://acme.com/x", False),
    ("Acme", "HTTPS://ACME.COM", False),
    ("Acme", "http://x.org/acme", False),
    ("Acme", "see (https://x.org/#acme)", False),
    ("Acme", "www.acme.com", False),
    ("Acme", "example.com/acme/path", False),
    ("Acme", "acme.com/pricing", False),
    ("Acme", "support@acme.com", False),
    ("Acme", "mailto:support@acme.com", False),
    ("Acme", "acme@example.com", False),
    # ... but the words around them still are, and a bare domain in prose is a mention
    # (someone naming the site), by design.
    ("Acme", "Acme: https://acme.com", True),
    ("Acme", "x https://t.co/abc Acme", True),
    ("Acme", "Visit acme.com today", True),
    # Case folding and diacritics.
    ("Straße", "STRASSE", True),
    ("Straße", "strasse", True),
    ("STRASSE", "Straße", True),
    ("Gross", "Groß", True),
    ("Stra", "Straße", False),  # ß is a letter, not a boundary
    ("Nestlé", "Nestle", True),
    ("Nestle", "NESTLÉ", True),
    ("Nestle", "Nestle\u0301", True),  # decomposed é
    ("Nestlé", "Nestle\u0301", True),
    ("café", "cafe", True),
    ("cafe", "Café", True),
    ("cafe", "caféteria", False),
    ("fish", "ﬁsh", True),  # the ligature case-folds to "fi"
    ("istanbul", "İstanbul", True),  # İ case-folds to i + combining dot
    # Norwegian / Danish letters: æ ø å are letters, and å is not folded to a.
    ("Blåbær", "blåbær", True),
    ("Blåbær", "BLÅBÆR", True),
    ("Blåbær", "Blabaer", False),
    ("Blåbær", "blabær", False),
    ("Blåbær", "bla\u030abær", True),  # decomposed å
    ("Blåbær", "BLA\u030aBÆR", True),
    ("Blåbær", "Blåbærsyltetøy", False),
    ("Ål", "\u212bl", True),  # ANGSTROM SIGN is an Å
    ("Øl", "ØL", True),
    ("Øl", "Ol", False),
    ("Smør", "Smørbukk", False),
    ("Ærø", "ærø", True),
    # Hashtags and handles.
    ("#acme", "#acme", True),
    ("#acme", "#Acme", True),
    ("#acme", "(#ACME)", True),
    ("#acme", "##acme", True),
    ("#acme", "acme", False),
    ("#acme", "@acme", False),
    ("#acme", "#acmesupport", False),
    ("#acme", "foo#acme", False),
    ("@acmehq", "@acmehq", True),
    ("@acmehq", "@AcmeHQ's reply", True),
    ("@acmehq", "acmehq", False),
    ("@acmehq", "#acmehq", False),
    ("@acmehq", "support@acmehq.com", False),
    # A space in a keyword matches any run of white space, not a hyphen.
    ("Acme Corp", "Acme Corp", True),
    ("Acme Corp", "acme\n  corp", True),
    ("Acme Corp", "Acme\tCorp", True),
    ("Acme Corp", "Acme\u00a0Corp", True),  # no-break space
    ("Acme Corp", "Acme\r\n\r\nCorp.", True),
    ("Acme  Corp", "Acme Corp", True),  # extra spaces in the keyword mean the same
    ("Acme Corp", "Acme-Corp", False),
    ("Acme Corp", "AcmeCorp", False),
    ("Acme Corp", "Acme, Corp", False),
    ("Acme Corp", "Acme Corporation", False),
    ("Acme Corp", "Acme https://x.org Corp", False),
    # Other punctuation inside a keyword must appear literally.
    ("AT&T", "AT&T", True),
    ("AT&T", "at&t's network", True),
    ("AT&T", "AT T", False),
    ("AT&T", "AT & T", False),
    ("AT&T", "AT&amp;T", False),  # entities are decoded upstream, not here
    ("C++", "I love C++.", True),
    ("C++", "C++ rocks", True),
    ("C++", "C++11", False),
    ("C++", "C+", False),
    ("C++", "C", False),
    ("Acme.io", "try acme.io now", True),
    ("Acme.io", "Acme io", False),
    ("Acme.io", "acme.io/x", False),
    ("Acme - Corp", "Acme -\nCorp", True),
    ("Acme - Corp", "Acme-Corp", False),
]


@pytest.mark.parametrize(("keyword", "text", "expected"), RULES)
def test_matching_rules(keyword: str, text: str, expected: bool) -> None:
    assert matches(keyword, text) is expected


@pytest.mark.parametrize(("keyword", "text", "expected"), RULES)
def test_matching_rules_in_title(keyword: str, text: str, expected: bool) -> None:
    assert matches(keyword, "", title=text) is expected


def test_phrase_does_not_run_from_title_into_text() -> None:
    assert not matches("Acme Corp", "Corp", title="Acme")
    assert matches("Acme Corp", "Corp", title="Acme Corp")


# --------------------------------------------------------------------------------------------
# Spans point at the original characters
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "text", "keyword", "expected"),
    [
        ("", "Acme", "Acme", "Acme"),
        ("Acme news", "", "Acme", "Acme"),
        ("Straße", "Acme", "Acme", "Acme"),  # in the text, after a title that folds longer
        ("", "Straße Straße Acme", "Acme", "Acme"),
        ("", "Cafe\u0301 Acme", "Acme", "Acme"),  # a dropped combining mark before
        ("İİİ", "ﬁﬁ Acme", "Acme", "Acme"),
        ("", "We love NESTLE\u0301!", "Nestlé", "NESTLE\u0301"),  # accent included
        ("", "Nestlé.", "Nestle", "Nestlé"),
        ("", "Groß Grosz", "GROSS", "Groß"),
        ("", "ßACME CORP", "Acme Corp", None),
        ("", "ß ACME\n CORP!", "Acme Corp", "ACME\n CORP"),
        ("", "blå BLA\u030aBÆR", "blåbær", "BLA\u030aBÆR"),
        ("", "Hi @AcmeHQ!", "@acmehq", "@AcmeHQ"),
        ("", "Straße #Acme", "#acme", "#Acme"),
        ("", "ß C++!", "C++", "C++"),
    ],
)
def test_span_points_at_original_characters(
    title: str, text: str, keyword: str, expected: str | None
) -> None:
    combined = title + "\n" + text
    found = spans((keyword,), title, text)
    if expected is None:
        assert found == []
        return
    assert len(found) == 1
    start, end, term = found[0]
    assert combined[start:end] == expected
    assert term == keyword


def test_every_occurrence_is_a_span_and_terms_are_in_first_appearance_order() -> None:
    title = "#acme loves Acme Corp"
    text = "Acme Corp, again: ACME."
    [match] = compile_brands([Brand("Acme", ("Acme", "Acme Corp", "#acme"))]).match(title, text)
    combined = title + "\n" + text
    assert match.terms == ("#acme", "Acme", "Acme Corp")
    assert [(combined[s.start : s.end], s.term) for s in match.spans] == [
        ("#acme", "#acme"),
        ("acme", "Acme"),
        ("Acme", "Acme"),
        ("Acme Corp", "Acme Corp"),
        ("Acme", "Acme"),
        ("Acme Corp", "Acme Corp"),
        ("ACME", "Acme"),
    ]


# --------------------------------------------------------------------------------------------
# require / exclude and several brands
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("brand", "text", "expected"),
    [
        (Brand("A", ("Acme",), require=("phone", "laptop")), "Acme phone", True),
        (Brand("A", ("Acme",), require=("phone", "laptop")), "LAPTOP by acme", True),
        (Brand("A", ("Acme",), require=("phone", "laptop")), "Acme", False),
        (Brand("A", ("Acme",), require=("phone", "laptop")), "phone laptop", False),
        (Brand("A", ("Acme",), require=("phone", "laptop")), "Acme phones", False),
        (Brand("A", ("Acme",), require=("phone",)), "Acme https://x.org/phone", False),
        (Brand("A", ("Acme",), exclude=("Acmeville", "Acme Road")), "Acme", True),
        (Brand("A", ("Acme",), exclude=("Acmeville", "Acme Road")), "Acme in Acmeville", False),
        (Brand("A", ("Acme",), exclude=("Acmeville", "Acme Road")), "Acme\nROAD", False),
        (Brand("A", ("Acme",), exclude=("Acmeville", "Acme Road")), "Acme-Road", True),
        (Brand("A", ("Acme",), exclude=("#ad",)), "Acme #ad", False),
        (Brand("A", ("Acme",), exclude=("#ad",)), "Acme ad", True),
        (Brand("A", ("Acme",), exclude=("Acmé",)), "Acme", False),  # same rules as keywords
        (Brand("A", ("Acme",), require=("phone",), exclude=("case",)), "Acme phone", True),
        (Brand("A", ("Acme",), require=("phone",), exclude=("case",)), "Acme phone case", False),
    ],
)
def test_require_and_exclude(brand: Brand, text: str, expected: bool) -> None:
    assert bool(compile_brands([brand]).match("", text)) is expected


def test_require_and_exclude_terms_are_not_reported_as_matched_keywords() -> None:
    brand = Brand("A", ("Acme",), require=("phone",))
    assert compile_brands([brand]).match("", "Acme phone") == [
        Match("A", ("Acme",), (Span(1, 5, "Acme"),))
    ]


def test_two_brands_in_one_post_are_two_matches_in_config_order() -> None:
    matcher = compile_brands(
        [Brand("Acme", ("Acme",)), Brand("Globex", ("Globex", "Globex Corp")), Brand("X", ("x",))]
    )
    assert matcher.match("Globex Corp beats", "Acme again") == [
        Match("Acme", ("Acme",), (Span(18, 22, "Acme"),)),
        Match(
            "Globex",
            ("Globex", "Globex Corp"),
            (Span(0, 6, "Globex"), Span(0, 11, "Globex Corp")),
        ),
    ]


def test_shared_keyword_and_exclusion_are_per_brand() -> None:
    matcher = compile_brands(
        [Brand("Apple", ("apple",), exclude=("pie",)), Brand("Fruit", ("apple", "pie"))]
    )
    assert [m.brand for m in matcher.match("", "apple pie")] == ["Fruit"]
    assert [m.brand for m in matcher.match("", "apple")] == ["Apple", "Fruit"]


def test_nothing_found() -> None:
    matcher = compile_brands([Brand("Acme", ("Acme",))])
    assert matcher.match("", "") == []
    assert matcher.match("Nothing here", "nor here") == []


# --------------------------------------------------------------------------------------------
# Compile-time errors and describe()
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "brand",
    [
        Brand("Acme", ("",)),
        Brand("Acme", ("   ",)),
        Brand("Acme", ("!!!",)),
        Brand("Acme", ("#",)),
        Brand("Acme", ("Acme", "@")),
        Brand("Acme", ("\u0301",)),
        Brand("Acme", ("https://acme.com",)),
        Brand("Acme", ("www.acme.com",)),
        Brand("Acme", ("support@acme.com",)),
        Brand("Acme", ("Acme",), require=("--",)),
        Brand("Acme", ("Acme",), exclude=("...",)),
    ],
)
def test_term_that_cannot_match_is_a_config_error(brand: Brand) -> None:
    bad = next(t for t in (*brand.keywords, *brand.require, *brand.exclude) if t != "Acme")
    with pytest.raises(ConfigError) as info:
        compile_brands([Brand("Other", ("other",)), brand])
    assert "'Acme'" in str(info.value)
    assert repr(bad) in str(info.value)


def test_keywords_and_query_together_are_a_config_error() -> None:
    # One or the other: a query can say everything keywords/require/exclude can.
    with pytest.raises(ConfigError, match=r"'Acme': give either a query or keywords"):
        compile_brands([Brand("Acme", ("Acme",), query="Acme AND phone")])


def test_brand_without_keywords_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'Acme'"):
        compile_brands([Brand("Acme", ())])


def test_describe_lists_every_term_per_brand() -> None:
    matcher = compile_brands(
        [
            Brand("Acme", ("Acme Corp", "#acme", "@acmehq"), require=("phone",)),
            Brand("Nestlé", ("Nestlé",), exclude=("Nestle Road",)),
        ]
    )
    described = matcher.describe()
    assert list(described) == ["Acme", "Nestlé"]
    acme = "\n".join(described["Acme"])
    assert "'Acme Corp' → acme␣corp" in acme
    assert "hashtag only" in acme
    assert "handle only" in acme
    assert "require 'phone'" in acme
    assert "AND any require term" in acme
    nestle = "\n".join(described["Nestlé"])
    assert "'Nestlé' → nestle" in nestle
    assert "exclude 'Nestle Road'" in nestle
    assert "AND NOT any exclude term" in nestle


def test_matcher_is_reusable() -> None:
    matcher = compile_brands([Brand("Acme", ("Acme",))])
    for _ in range(3):
        assert [m.brand for m in matcher.match("", "Acme")] == ["Acme"]
        assert matcher.match("", "Acmeville") == []


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

LETTERS = st.characters(categories=("Lu", "Ll", "Lt", "Lm", "Lo"))
keywords = st.text(LETTERS, min_size=1, max_size=12)


@given(keyword=keywords, prefix=st.text(), suffix=st.text())
@example(keyword="Acme", prefix="https://x.org/", suffix="@example.com")
@example(keyword="blåbær", prefix="bla\u030a", suffix="\u030a")
@example(keyword="Straße", prefix="www.", suffix=".com/x")
def test_keyword_between_spaces_always_matches(keyword: str, prefix: str, suffix: str) -> None:
    text = prefix + " " + keyword + " " + suffix
    start = len("\n" + prefix + " ")
    found = spans((keyword,), "", text)
    assert (start, start + len(keyword), keyword) in found


@given(keyword=keywords, prefix=st.text(), suffix=st.text())
@example(keyword="Acme", prefix="https://x.org/", suffix="@example.com")
@example(keyword="blåbær", prefix="bla\u030a", suffix="\u030a")
def test_keyword_as_a_query_term_always_matches(keyword: str, prefix: str, suffix: str) -> None:
    # The same property through the query language: as a phrase, as a bare word (when it is
    # no operator), and as a prefix of itself when it is long enough.
    text = prefix + " " + keyword + " " + suffix
    start = len("\n" + prefix + " ")
    queries = [f'"{keyword}"']
    if keyword not in ("AND", "OR", "NOT"):
        queries.append(keyword)
    if len(keyword) >= 3 and all(ch.isalnum() for ch in keyword[:3]):
        queries.append(keyword[:3] + "*")
    for query in queries:
        found = compile_brands([Brand("B", (), query=query)]).match("", text)
        spans = [(s.start, s.end, s.term) for m in found for s in m.spans]
        assert (start, start + len(keyword), query) in spans, query


@given(keyword=keywords)
def test_keyword_glued_to_a_letter_never_matches(keyword: str) -> None:
    assert not matches(keyword, keyword + "x")
    assert not matches(keyword, "x" + keyword)


@given(st.text())
@example("Straße İ ﬁ e\u0301\u0302 bla\u030a ß")
def test_folded_offsets_map_back_to_the_character_that_produced_them(original: str) -> None:
    # White-box check of the offset map used for spans: every folded character maps to the
    # original character whose folding produced it.
    folded = _Folded(original)
    expected = [i for i, ch in enumerate(original) for _ in _FOLD[ord(ch)]]
    assert len(folded.text) == len(expected)
    for index, origin in enumerate(expected):
        assert folded.span(index, index + 1)[0] == origin
