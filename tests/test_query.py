"""Tests for the boolean query language: parsing (mentionwatch.config.query), matching with a query
(mentionwatch.analysis.matcher), the config key `query:`, search terms, and
`mentionwatch test-query`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from mentionwatch.analysis.matcher import compile_brands
from mentionwatch.cli import app
from mentionwatch.config import query as q
from mentionwatch.config.model import Brand, Settings
from mentionwatch.config.query import QuerySyntaxError, parse_query, render
from mentionwatch.configure import load_config
from mentionwatch.errors import ConfigError
from mentionwatch.models import Match, Span
from mentionwatch.sources import SourceContext
from mentionwatch.textutil import html_to_text

from .conftest import rss

runner = CliRunner()


def found(query: str, text: str, title: str = "") -> bool:
    """Does a brand with this query match the post?"""
    return bool(compile_brands([Brand("B", (), query=query)]).match(title, text))


def explain(query: str, title: str, text: str) -> Match | None:
    matches = compile_brands([Brand("B", (), query=query)]).match(title, text)
    return matches[0] if matches else None


# --------------------------------------------------------------------------------------------
# Parsing: precedence and normal form
# --------------------------------------------------------------------------------------------

PARSED = [
    # Precedence: NOT > AND > OR, adjacency = AND, NEAR tightest of all.
    ("a OR b AND c", "a OR (b AND c)"),
    ("a AND b OR c", "(a AND b) OR c"),
    ("(a OR b) AND c", "(a OR b) AND c"),
    ("a b OR c d", "(a AND b) OR (c AND d)"),
    ("a b c", "a AND b AND c"),
    ("a AND (b AND c)", "a AND b AND c"),  # nested groups of one operator flatten
    ("a OR (b OR c)", "a OR b OR c"),
    ("a NOT b", "a AND NOT b"),
    ("NOT b a", "NOT b AND a"),
    ("a AND NOT b OR c", "(a AND NOT b) OR c"),
    ("a AND NOT (b OR c)", "a AND NOT (b OR c)"),
    ("a NEAR/3 b c", "(a NEAR/3 b) AND c"),
    ("a OR b NEAR/2 c", "a OR (b NEAR/2 c)"),
    ("a AND NOT b NEAR/2 c", "a AND NOT (b NEAR/2 c)"),
    ("(a OR b) NEAR/5 pri*", "(a OR b) NEAR/5 pri*"),
    ("a NEAR/1 b NEAR/2 c", "(a NEAR/1 b) NEAR/2 c"),
    ("a NEAR/0 b", "a NEAR/0 b"),
    # Operators are upper case only: lower-case ones are words to look for.
    ("acme and phone", "acme AND and AND phone"),
    ("acme or phone", "acme AND or AND phone"),
    ("not acme", "not AND acme"),
    ("acme near/3 phone", "acme AND near/3 AND phone"),
    ("Android ORacle NOTE", "Android AND ORacle AND NOTE"),
    # Terms: phrases, prefixes, hashtags, handles, punctuation kept.
    ('"acme  corp"', '"acme corp"'),
    ('"acme\ncorp" OR acme', '"acme corp" OR acme'),
    ('"AND"', '"AND"'),
    ('"acme*"', '"acme*"'),  # a * inside a phrase is literal
    ("acm*", "acm*"),
    ("Nestlé*", "Nestlé*"),
    ("#acme @acmehq", "#acme AND @acmehq"),
    ("#acm*", "#acm*"),
    ("AT&T C++", "AT&T AND C++"),
    ('acme"corp"', 'acme AND "corp"'),
    ("  acme  ", "acme"),
    ("((acme))", "acme"),
]


@pytest.mark.parametrize(("text", "normal"), PARSED)
def test_parse_and_render(text: str, normal: str) -> None:
    tree = parse_query(text)
    assert render(tree) == normal
    assert parse_query(normal) == tree  # the normal form means the same


def test_tree_shapes() -> None:
    assert parse_query("a OR b AND c") == q.Or((q.Term("a"), q.And((q.Term("b"), q.Term("c")))))
    assert parse_query("NOT a b") == q.And((q.Not(q.Term("a")), q.Term("b")))
    assert parse_query('x NEAR/2 "y z"') == q.Near(q.Term("x"), q.Term("y z", "phrase"), 2)
    assert parse_query("abc*") == q.Term("abc", "prefix")


def test_terms_and_positive_terms() -> None:
    tree = parse_query('acme "acme corp" NOT (fruit OR pie*) OR (phone NEAR/3 acm*) NOT acme')
    assert [(t.display, negated) for t, negated in q.terms(tree)] == [
        ("acme", False),
        ('"acme corp"', False),
        ("fruit", True),
        ("pie*", True),
        ("phone", False),
        ("acm*", False),
        ("acme", True),
    ]
    assert [t.display for t in q.positive_terms(tree)] == ["acme", '"acme corp"', "phone", "acm*"]


# --------------------------------------------------------------------------------------------
# Parsing: errors name the column
# --------------------------------------------------------------------------------------------

ERRORS = [
    ("", 1, "empty query"),
    ("   ", 1, "empty query"),
    ("Acme AND (", 11, "expected a term after ("),
    ("acme AND", 9, "expected a term after AND"),
    ("acme OR", 8, "expected a term after OR"),
    ("AND acme", 1, "expected a term, found AND"),
    ("acme OR OR b", 9, "expected a term, found OR"),
    ("(acme", 6, "missing ')' for the '(' at column 1"),
    ("acme) b", 5, "')' without a matching '('"),
    ("()", 2, "empty parentheses"),
    ("acme ()", 7, "empty parentheses"),
    ('acme "corp', 6, "phrase without its closing"),
    ('acme ""', 6, "empty phrase"),
    ('" "', 1, "empty phrase"),
    ("ac*", 1, "at least 3 letters or digits"),
    ("a*", 1, "at least 3 letters or digits"),
    ("acme OR *", 9, "at least 3 letters or digits"),
    ("acme-c*", 1, "at least 3 letters or digits"),
    ("acme-co*", 1, "at least 3 letters or digits"),
    ("#ac*", 1, "at least 3 letters or digits"),
    ("é\u0301e*", 1, "at least 3 letters or digits"),  # a combining accent is no letter
    ("ac*me", 3, "'*' can only end a term"),
    ("acme**", 5, "'*' can only end a term"),
    ("acme NEAR phone", 6, "NEAR needs a distance"),
    ("acme NEAR/ phone", 6, "NEAR needs a distance"),
    ("acme NEAR/x phone", 6, "NEAR needs a distance"),
    ("acme NEAR/3", 12, "expected a term after NEAR/3"),
    ("NEAR/3 acme", 1, "expected a term, found NEAR/3"),
    ("acme NEAR/3 (phone laptop)", 14, "NEAR/3 needs a term, a phrase, or terms joined by OR"),
    ("(a NOT b) NEAR/3 c", 2, "needs a term, a phrase"),
    ("acme NEAR/3 NOT phone", 13, "expected a term, found NOT"),
    ("acme AND NOT NOT x", 14, "NOT NOT cancels out"),
    ("(" * 60 + "a" + ")" * 60, 51, "nested more than 50 levels"),
]


@pytest.mark.parametrize(("text", "column", "message"), ERRORS)
def test_syntax_errors_name_the_column(text: str, column: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(text)
    assert info.value.column == column
    assert message in info.value.message
    assert str(info.value).startswith(f"syntax error at column {column} of {text!r}: ")
    assert isinstance(info.value, ConfigError)  # a bad --query exits with 2


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("NOT acme", 1),
        ("NOT (acme OR globex)", 1),
        ("acme OR NOT pie", 9),
        ("(acme AND phone) OR NOT pie", 21),
        ("NOT a AND NOT b", 1),
        ("NOT a OR NOT b", 1),
    ],
)
def test_queries_that_would_match_nearly_everything_are_rejected(text: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(text)
    assert info.value.column == column
    assert str(info.value).startswith(f"unusable query at column {column}")
    assert "nearly every post" in str(info.value)


@pytest.mark.parametrize("text", ["acme AND NOT pie", "NOT pie acme", "(acme OR b) NOT (c OR d)"])
def test_not_beside_a_positive_term_is_fine(text: str) -> None:
    parse_query(text)


# --------------------------------------------------------------------------------------------
# Matching with a query: the rules of DESIGN.md, one table
# --------------------------------------------------------------------------------------------

MATCHING = [
    # Boolean logic and precedence over real words.
    ("acme OR phone AND cheap", "acme", True),
    ("acme OR phone AND cheap", "phone", False),
    ("acme OR phone AND cheap", "cheap phone", True),
    ("(acme OR phone) AND cheap", "acme", False),
    ("acme phone", "phone by Acme", True),  # adjacency = AND, any order
    ("acme phone", "acme", False),
    ("acme AND NOT pie", "Acme", True),
    ("acme AND NOT pie", "acme pie", False),
    ("acme AND NOT pie", "acme pies", True),  # whole words, also under NOT
    ("acme NOT pie OR tart", "acme tart", True),  # (acme AND NOT pie) OR tart
    ("acme NOT pie OR tart", "pie tart", True),
    ("acme NOT pie OR tart", "acme pie", False),
    ("acme NOT (pie OR tart)", "acme tart", False),
    # Lower-case and/or/not are words to look for.
    ("rock and roll", "rock and roll", True),
    ("rock and roll", "rock roll", False),
    ("acme not", "acme is not bad", True),
    ("acme not", "acme is bad", False),
    ("this or that", "this or that", True),
    ("this or that", "this", False),
    # Whole words, punctuation, case, possessives with both apostrophes.
    ("acme", "Acme's new phone", True),
    ("acme", "Acme\u2019s new phone", True),
    ("acme", "ACME!", True),
    ("acme", "(Acme)", True),
    ("acme", "Acmeville", False),
    ("acme", "Acme2", False),
    ("acme AND phone", "Acme's phone", True),
    ("acme AND phone", "Acme\u2019s phone", True),
    ('"acme\'s phone"', "ACME'S PHONE", True),
    ('"acme\'s phone"', "Acme\u2019s phone", False),  # inside a term, punctuation is literal
    # Hashtags and handles.
    ("acme", "#Acme", True),
    ("acme", "@acme", True),
    ("#acme", "#ACME rocks", True),
    ("#acme", "acme rocks", False),
    ("#acme", "@acme", False),
    ("@acme", "@Acme", True),
    ("@acme", "#acme", False),
    ("@acme", "mail support@acme.com", False),
    ("#acme OR @acme", "@acme", True),
    ("#acm*", "#AcmeSupport", True),
    ("#acm*", "AcmeSupport", False),
    ("@acm*", "@acmehq", True),
    ("@acm*", "#acmehq", False),
    # Links and e-mail addresses are not mentions, for any kind of term.
    ("acme", "https://acme.com/x", False),
    ("acme", "see www.acme.com", False),
    ("acme", "support@acme.com", False),
    ("acm*", "https://acmesoft.example/x", False),
    ("acm*", "mail acmesupport@example.com", False),
    ("acme AND NOT pie", "acme https://x.org/pie", True),  # a link cannot exclude either
    ("acme NEAR/1 phone", "acme https://x.org/a/b/c phone", True),  # links are no words
    ("acme", "Visit acme.com today", True),  # a bare domain in prose is a mention
    # Diacritics and case folding, prefixes included.
    ("Nestlé", "NESTLE", True),
    ("nestle", "Nestlé", True),
    ("nestle", "Nestle\u0301", True),  # decomposed é
    ("nestl*", "Nestlé's", True),
    ("nestlé*", "NESTLES", True),
    ("café*", "Caféteria", True),
    ("cafe*", "CAFÉTERIA", True),
    ("caf*", "Ca", False),
    ("straß*", "STRASSENBAHN", True),
    ("strasse", "Straße", True),
    # Norwegian letters: æ ø å are letters, å is not an a.
    ("blåbær", "BLÅBÆR", True),
    ("blåbær", "blabær", False),
    ("blåbær", "bla\u030abær", True),  # decomposed å
    ("blå*", "Blåbærsyltetøy", True),
    ("bla*", "Blåbærsyltetøy", False),
    ("smø*", "Smørbrød", True),
    ("smo*", "Smørbrød", False),
    ("øl AND NOT ål", "Øl og mat", True),
    ("øl AND NOT ål", "øl og ål", False),
    ("ærø NEAR/2 øl", "Ærø har godt øl", True),
    ("ærø NEAR/1 øl", "Ærø har godt øl", False),
    # Prefixes.
    ("acm*", "Acme", True),
    ("acm*", "acm", True),
    ("acm*", "ACMEVILLE", True),
    ("acm*", "xacme", False),
    ("acm*", "ac me", False),
    ("acme*", "acme_corp", True),  # "_" is a word character, so one word
    ("price* NOT priceless", "prices", True),
    ("price* NOT priceless", "priceless prices", False),
    ("acme-cor*", "Acme-Corp", True),  # a prefix on the last word of a punctuated term
    ("acme-cor*", "Acme-Corporate's", True),
    ("acme-cor*", "Acme Corp", False),
    ("acme-cor*", "Acme-Co", False),
    # Phrases: a space is any white space, line breaks too; not a hyphen.
    ('"acme corp"', "Acme\nCorp", True),
    ('"acme corp"', "acme\r\n\r\n  corp", True),
    ('"acme corp"', "Acme\u00a0Corp", True),
    ('"acme corp"', "Acme-Corp", False),
    ('"acme corp"', "Acme, Corp", False),
    ('"acme corp" NEAR/2 phone', "phone of Acme\nCorp", True),
    # HTML entities are decoded before matching (see also test_html_entities_arrive_decoded).
    ('"AT&T"', "AT&T", True),
    ("AT&T", "at&t's network", True),
    ("AT&T", "AT&amp;T", False),  # decoding is the extractor's job, not the matcher's
    ("AT&T", "AT & T", False),
    ("AT&T OR C++", "I love C++.", True),
    ("C++", "C++11", False),
    # NEAR/n: at most n words between, either order, never overlapping.
    ("acme NEAR/2 phone", "acme phone", True),
    ("acme NEAR/2 phone", "phone acme", True),
    ("acme NEAR/2 phone", "acme a b phone", True),  # 2 words between: the boundary
    ("acme NEAR/2 phone", "phone a b acme", True),
    ("acme NEAR/2 phone", "acme a b c phone", False),  # 3 words between
    ("acme NEAR/2 phone", "phone a b c acme", False),
    ("acme NEAR/0 phone", "acme phone", True),
    ("acme NEAR/0 phone", "Phone, ACME!", True),  # punctuation is not a word
    ("acme NEAR/0 phone", "acme x phone", False),
    ("acme NEAR/3 phone", "acme", False),
    ("acme NEAR/3 acme", "acme", False),  # two occurrences needed
    ("acme NEAR/3 acme", "acme and acme", True),
    ('"acme corp" NEAR/0 acme', "acme corp", False),  # both sides on the same words
    ('"acme corp" NEAR/0 acme', "acme corp acme", True),
    ("acme NEAR/1 phone", "acme x y phone z acme", True),  # any pair will do
    ("acme NEAR/1 phone", "phone x y z acme x y phone", False),
    ("(acme OR globex) NEAR/1 phone", "globex x phone", True),
    ("(acme OR globex) NEAR/1 (phone OR laptop)", "laptop globex", True),
    ("acme NEAR/1 phone NEAR/1 cheap", "acme phone cheap", True),
    ("acme NEAR/1 phone NEAR/1 cheap", "cheap x acme phone", True),
    ("acme NEAR/1 phone NEAR/1 cheap", "acme phone x x cheap", False),
    ("acm* NEAR/1 pho*", "Acmes' phones", True),
    ("#acme NEAR/1 @support", "#acme thanks @support", True),
    ("#acme NEAR/0 @support", "#acme thanks @support", False),
    ("acme NEAR/2 phone AND NOT pie", "acme phone pie", False),
    ("NOT pie acme NEAR/2 phone", "acme phone", True),
    ("NOT (acme NEAR/1 road) acme", "acme road", False),
    ("NOT (acme NEAR/1 road) acme", "acme far x road", True),
    ("blåbær NEAR/1 straße", "Blåbær og STRASSE", True),
    ("blåbær NEAR/0 straße", "Blåbær og STRASSE", False),
]


@pytest.mark.parametrize(("query", "text", "expected"), MATCHING)
def test_query_matching_rules(query: str, text: str, expected: bool) -> None:
    assert found(query, text) is expected


@pytest.mark.parametrize(("query", "text", "expected"), MATCHING)
def test_query_matching_rules_in_title(query: str, text: str, expected: bool) -> None:
    assert found(query, "", title=text) is expected


@pytest.mark.parametrize(
    ("query", "title", "text", "expected"),
    [
        ("acme NEAR/5 phone", "acme", "phone", False),  # title and text are apart
        ("acme NEAR/5 phone", "acme phone", "phone", True),
        ("acme AND phone", "acme", "phone", True),  # AND spans both
        ('"acme corp"', "acme", "corp", False),  # a phrase does not run across
        ("acme NEAR/1 phone", "phone x acme", "acme", True),
    ],
)
def test_title_and_text(query: str, title: str, text: str, expected: bool) -> None:
    assert found(query, text, title=title) is expected


def test_html_entities_arrive_decoded() -> None:
    text = html_to_text("<p>Deal between AT&amp;T and Acme&#8217;s unit</p>")
    assert text == "Deal between AT&T and Acme\u2019s unit"
    assert found('"AT&T" AND acme', text)
    assert found('"AT&T" NEAR/1 acme', text)


# --------------------------------------------------------------------------------------------
# What a query match records: the terms as written, and their spans
# --------------------------------------------------------------------------------------------


def test_terms_are_reported_as_written_with_spans() -> None:
    title = "Acme Corp phone"
    text = "Cheap #acme deals at acmeshop"
    match = explain('("acme corp" OR #acme) AND acm* AND pho*', title, text)
    assert match is not None
    combined = title + "\n" + text
    # In order of appearance (the shorter first where two start together).
    assert match.terms == ("acm*", '"acme corp"', "pho*", "#acme")
    assert [(combined[s.start : s.end], s.term) for s in match.spans] == [
        ("Acme", "acm*"),
        ("Acme Corp", '"acme corp"'),
        ("phone", "pho*"),
        ("#acme", "#acme"),
        ("acme", "acm*"),
        ("acmeshop", "acm*"),
    ]


@pytest.mark.parametrize(
    ("query", "text", "terms"),
    [
        # An OR is explained by its plain terms that occur, all of them ...
        ("acme OR globex OR initech", "globex and acme", ("globex", "acme")),
        # ... and its groups only when none of its plain terms occurs.
        ("acme OR (phone NEAR/1 cheap)", "acme: cheap phone", ("acme",)),
        ("acme OR (phone NEAR/1 cheap)", "a cheap phone", ("cheap", "phone")),
        (
            "(acme AND phone) OR (globex AND phone)",
            "acme globex phone",
            ("acme", "globex", "phone"),
        ),
        ("(acme OR globex) AND phone", "phone by globex", ("phone", "globex")),
    ],
)
def test_what_explains_an_or(query: str, text: str, terms: tuple[str, ...]) -> None:
    match = explain(query, "", text)
    assert match is not None
    assert match.terms == terms


def test_only_terms_of_parts_that_hold_are_evidence() -> None:
    # (a AND b) does not hold, so "phone" is not why the post matched; negated terms never are.
    match = explain("(acme AND laptop) OR phone", "", "acme phone")
    assert match == Match("B", ("phone",), (Span(6, 11, "phone"),))
    match = explain("phone AND NOT (acme laptop)", "", "acme phone")
    assert match is not None
    assert match.terms == ("phone",)


def test_near_reports_only_the_occurrences_that_are_near() -> None:
    text = "acme is here, and much later a phone; then acme phone"
    match = explain("acme NEAR/0 phone", "", text)
    assert match is not None
    near = text.rindex("acme")
    assert [(s.start - 1, s.end - 1) for s in match.spans] == [
        (near, near + 4),
        (near + 5, near + 10),
    ]


def test_spans_point_at_original_characters_after_folding() -> None:
    title = "Straße"
    text = "ßß Nestle\u0301 and STRASSE"
    match = explain("nestlé NEAR/1 straße", title, text)
    assert match is not None
    combined = title + "\n" + text
    assert [combined[s.start : s.end] for s in match.spans] == ["Nestle\u0301", "STRASSE"]


def test_query_and_keyword_brands_side_by_side() -> None:
    matcher = compile_brands(
        [
            Brand("Apple", (), query="apple AND NOT (pie OR tart OR fruit*)"),
            Brand("Fruit", ("apple", "pie")),
            Brand("Corp", (), query='"apple inc" OR (apple NEAR/3 iphone*)'),
        ]
    )
    assert [m.brand for m in matcher.match("", "apple pie")] == ["Fruit"]
    assert [m.brand for m in matcher.match("", "Apple's iPhones")] == ["Apple", "Fruit", "Corp"]
    assert [m.brand for m in matcher.match("", "fruity apple")] == ["Fruit"]
    assert matcher.match("", "pie tart fruit") == [
        Match("Fruit", ("pie",), (Span(1, 4, "pie"),)),
    ]


@pytest.mark.parametrize(
    ("brand", "message"),
    [
        (Brand("Acme", ("acme",), query="acme"), "either a query or keywords"),
        (Brand("Acme", (), exclude=("x",), query="acme"), "either a query or keywords"),
        (Brand("Acme", (), query="acme AND ("), "brand 'Acme': syntax error at column 11"),
        (Brand("Acme", (), query='acme OR "!!!"'), "brand 'Acme': query term '\"!!!\"' can never"),
        (Brand("Acme", (), query="acme OR ---"), "query term '---' can never match"),
        (Brand("Acme", (), query="acme OR https://acme.com"), "links and e-mail addresses"),
        (Brand("Acme", (), query="NOT acme"), "unusable query at column 1"),
    ],
)
def test_query_compile_errors(brand: Brand, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        compile_brands([brand])
    assert message in str(info.value)


def test_describe_prints_the_compiled_query() -> None:
    matcher = compile_brands(
        [Brand("Acme", (), query='acme phone OR "Acme  Corp" NOT acmeville* OR #acme NEAR/3 @hq')]
    )
    lines = matcher.describe()["Acme"]
    assert lines[0] == (
        'query (acme AND phone) OR ("Acme Corp" AND NOT acmeville*) OR (#acme NEAR/3 @hq)'
    )
    text = "\n".join(lines)
    assert "term '\"Acme Corp\"' → acme␣corp" in text
    assert "term 'acmeville*' → acmeville*  (prefix: every word starting so)  (under NOT)" in text
    assert "term '#acme' → #acme  (hashtag only)" in text
    assert "term '@hq' → @hq  (handle only)" in text
    assert "NEAR > NOT > AND > OR" in text


# --------------------------------------------------------------------------------------------
# Config and search terms
# --------------------------------------------------------------------------------------------


def test_config_accepts_a_query(write_config: Callable[[str], Path]) -> None:
    path = write_config(
        """\
        brands:
          - name: Acme
            query: 'acme AND (phone OR laptop*) AND NOT "acme road"'
            respond_within: 4h
          - {name: Globex, keywords: [Globex]}
        sources: [https://x.org/feed]
        """
    )
    cfg = load_config(path)
    acme = cfg.brands[0]
    assert acme.query == 'acme AND (phone OR laptop*) AND NOT "acme road"'
    assert acme.keywords == ()
    assert acme.respond_within is not None
    assert found(acme.query or "", "Acme laptops")


@pytest.mark.parametrize(
    ("brand_yaml", "message"),
    [
        (
            "query: 'Acme AND ('",
            "c.yaml:4: brands[0].query: brand 'Acme': syntax error at column 11 of "
            "'Acme AND (': expected a term after (",
        ),
        (
            "query: 'acme OR ac*'",
            "c.yaml:4: brands[0].query: brand 'Acme': syntax error at column 9 of "
            "'acme OR ac*': 'ac*': a prefix needs at least 3 letters or digits before the '*'",
        ),
        (
            "query: NOT acme",
            "c.yaml:4: brands[0].query: brand 'Acme': unusable query at column 1 of 'NOT acme'",
        ),
        ("query: 'acme OR \"...\"'", "c.yaml:4: brands[0].query: brand 'Acme': query term"),
        ("query: ''", "c.yaml:4: brands[0].query: brand 'Acme': syntax error at column 1"),
        ("query: [acme]", "c.yaml:4: brands[0].query: expected a query string, got a list"),
        (
            "keywords: [acme]\n    query: acme",
            "c.yaml:5: brands[0].query: brand 'Acme': give either `query` or "
            "keywords/require/exclude, not both",
        ),
        ("exclude: [x]\n    query: acme", "c.yaml:5: brands[0].query: brand 'Acme': give either"),
    ],
)
def test_config_query_errors_name_file_line_brand_and_column(
    write_config: Callable[[str], Path], brand_yaml: str, message: str
) -> None:
    path = write_config(
        f"sources: [https://x.org/feed]\nbrands:\n  - name: Acme\n    {brand_yaml}\n", "c.yaml"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(message.replace("c.yaml", str(path)))


def test_search_terms_of_a_query_brand() -> None:
    context = SourceContext(
        Settings(),
        (
            Brand("Acme", (), query='acme "acme corp" NOT (pie OR fruit*) OR #acm* NEAR/2 pho*'),
            Brand("Globex", ("Globex", "ACME")),
        ),
    )
    # Only what every match must contain: not "acme corp" (acme covers it) nor "pho".
    assert context.search_terms == ("acme", "#acm", "Globex")


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

# A small vocabulary with shared prefixes, folding that changes lengths (ß) and Norwegian
# letters, so random texts hit the interesting cases often.
VOCAB = ["acme", "acmes", "corp", "corporate", "pie", "straße", "blåbær", "x"]
PREFIXES = ["acm", "acme", "cor", "str", "blå", "pie"]
PHRASES = ["acme corp", "corp pie", "pie pie", "straße x"]

leaves = st.one_of(
    st.sampled_from(VOCAB).map(q.Term),
    st.sampled_from(PHRASES).map(lambda p: q.Term(p, "phrase")),
    st.sampled_from(PREFIXES).map(lambda p: q.Term(p, "prefix")),
)
positional = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(lambda a, b: q.Or((a, b)), inner, inner),
        st.builds(q.Near, inner, inner, st.integers(0, 3)),
    ),
    max_leaves=4,
)
trees = st.recursive(
    positional,
    lambda inner: st.one_of(
        st.builds(lambda a, b: q.And((a, b)), inner, inner),
        st.builds(lambda a, b: q.Or((a, b)), inner, inner),
        # NOT NOT is refused by the parser; a double negation is the node itself.
        inner.map(lambda n: n.child if isinstance(n, q.Not) else q.Not(n)),
    ),
    max_leaves=6,
)
texts = st.lists(
    st.tuples(
        st.sampled_from(VOCAB),
        st.sampled_from([str.lower, str.upper, str.title]),
        st.sampled_from([" ", "\n", "  \t", "\r\n"]),
    ),
    max_size=12,
)


def reference_occurrences(node: q.Node, words: list[str]) -> set[tuple[int, int]]:
    """(first word, last word) of every occurrence, on whitespace-split casefolded words."""
    if isinstance(node, q.Term):
        parts = node.text.casefold().split()
        if node.kind == "prefix":
            return {(i, i) for i, w in enumerate(words) if w.startswith(parts[0])}
        n = len(parts)
        return {(i, i + n - 1) for i in range(len(words) - n + 1) if words[i : i + n] == parts}
    if isinstance(node, q.Or):
        return set().union(*(reference_occurrences(c, words) for c in node.children))
    assert isinstance(node, q.Near)
    out = set()
    for a in reference_occurrences(node.left, words):
        for b in reference_occurrences(node.right, words):
            first, second = sorted((a, b))
            if first[1] < second[0] and second[0] - first[1] - 1 <= node.distance:
                out.add((first[0], max(first[1], second[1])))
    return out


def reference_holds(node: q.Node, words: list[str]) -> bool:
    if isinstance(node, q.And):
        return all(reference_holds(c, words) for c in node.children)
    if isinstance(node, q.Or):
        return any(reference_holds(c, words) for c in node.children)
    if isinstance(node, q.Not):
        return not reference_holds(node.child, words)
    return bool(reference_occurrences(node, words))


def reference_witnessed(node: q.Node) -> bool:
    """Can the node only hold when one of its non-negated terms occurs?"""
    if isinstance(node, q.Not):
        return False
    if isinstance(node, q.And):
        return any(reference_witnessed(c) for c in node.children)
    if isinstance(node, q.Or):
        return all(reference_witnessed(c) for c in node.children)
    return True


@settings(max_examples=400)
@given(tree=trees, words=texts)
@example(tree=q.Near(q.Term("acme"), q.Term("pie"), 1), words=[("pie", str.upper, " ")] * 2)
@example(
    tree=q.Near(q.Term("straße"), q.Term("blåbær"), 0),
    words=[("straße", str.upper, " "), ("blåbær", str.title, "\n")],
)
def test_matcher_agrees_with_a_reference_evaluation(
    tree: q.Node, words: list[tuple[str, Callable[[str], str], str]]
) -> None:
    text = "".join(case(word) + gap for word, case, gap in words)
    query = render(tree)
    if not reference_witnessed(tree):
        with pytest.raises(QuerySyntaxError):
            parse_query(query)
        return
    expected = reference_holds(tree, [w.casefold() for w in text.split()])
    assert found(query, text) is expected, (query, text)


@given(tree=trees)
def test_the_normal_form_is_stable(tree: q.Node) -> None:
    # Meaning is preserved through render + parse (the reference test goes that way); here:
    # the normal form of a normal form is itself.
    assume(reference_witnessed(tree))
    normal = render(parse_query(render(tree)))
    assert render(parse_query(normal)) == normal


# --------------------------------------------------------------------------------------------
# mentionwatch test-query
# --------------------------------------------------------------------------------------------

POSTS = rss(
    ("1", "https://n.example/1", "Apple launches a phone|The new Apple phone is out."),
    ("2", "https://n.example/2", "Grandma's apple pie|Bake an apple pie tonight."),
    ("3", "https://n.example/3", "Pie contest|Cherry pie wins; the Apple-pie came last."),
    ("4", "https://n.example/4", "Pie recipes|No brand here, just pie."),
    ("5", "https://n.example/5", "Deal news|AT&amp;amp;T signs a deal with Apple."),
)
SINCE = ["--since", "2026-01-01"]


@pytest.fixture
def stored(httpserver: HTTPServer, write_config: Callable[[str], Path]) -> Path:
    """A store scanned with keyword brands: Apple (apple) and Fruit (pie)."""
    httpserver.expect_request("/f.xml").respond_with_data(POSTS, content_type="application/xml")
    path = write_config(
        f"""\
        database: m.db
        brands:
          - {{name: Apple, keywords: [apple]}}
          - {{name: Fruit, keywords: [pie]}}
        sources:
          - {{name: news, url: "{httpserver.url_for("/f.xml")}"}}
        """
    )
    result = runner.invoke(app, ["scan", "-q"])
    assert result.exit_code == 0, result.output
    return path


def _url_ids(items: list[dict[str, object]]) -> list[str]:
    return [str(item["url"]).rsplit("/", 1)[1] for item in items]


def test_draft_against_the_current_rule(stored: Path) -> None:
    # Label the stored Apple mention of the pie post irrelevant (the precision command's
    # table, written directly: this test is about test-query reading it).
    with sqlite3.connect(stored.parent / "m.db") as db:
        (mention_id,) = db.execute(
            "SELECT m.id FROM mentions m JOIN posts p ON p.id = m.post_id "
            "WHERE m.brand = 'Apple' AND p.url = 'https://n.example/2'"
        ).fetchone()
        db.execute(
            "INSERT INTO labels (mention_id, label, labelled_at) "
            "VALUES (?, 'irrelevant', '2026-11-21T00:00:00Z')",
            [mention_id],
        )
    draft = '(apple AND NOT pie) OR "just pie"'
    result = runner.invoke(app, ["test-query", "apple", "--query", draft, "-f", "json", *SINCE])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["brand"] == "Apple"
    assert report["posts"] == 5
    assert report["baseline"] == {"name": "current rule", "rule": "any of apple"}
    assert report["candidate"] == {
        "name": "draft query",
        "rule": '(apple AND NOT pie) OR "just pie"',
    }
    assert report["counts"] == {"baseline": 4, "candidate": 3, "kept": 2, "gained": 1, "lost": 2}
    assert report["labelled"]["lost"] == {"irrelevant": 1}
    assert report["labelled"]["baseline"] == {"irrelevant": 1}
    assert report["labelled"]["candidate"] == {}
    assert _url_ids(report["gained"]) == ["4"]
    assert sorted(_url_ids(report["lost"])) == ["2", "3"]
    gained = report["gained"][0]
    assert gained["matched"] == ['"just pie"']
    assert gained["mention_id"] is None  # not stored for Apple
    assert "just pie" in gained["snippet"]
    lost = {_url_ids([e])[0]: e for e in report["lost"]}
    assert lost["2"]["matched"] == ["apple"]
    assert lost["2"]["label"] == "irrelevant"
    assert lost["2"]["mention_id"] == mention_id


def test_the_current_rule_against_what_was_stored(
    stored: Path, write_config: Callable[[str], Path]
) -> None:
    # The user edits the config: Apple becomes a query. What would have changed?
    write_config(
        stored.read_text().replace(
            "{name: Apple, keywords: [apple]}", "{name: Apple, query: apple AND NOT pie*}"
        )
    )
    result = runner.invoke(app, ["test-query", "Apple", "-f", "json", *SINCE])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["baseline"]["name"] == "stored mentions"
    assert report["candidate"] == {"name": "current rule", "rule": "apple AND NOT pie*"}
    assert report["counts"]["lost"] == 2
    assert report["counts"]["gained"] == 0
    assert sorted(_url_ids(report["lost"])) == ["2", "3"]
    assert all(e["mention_id"] for e in report["lost"])  # stored: `show` can explain them


def test_a_draft_alone_lists_what_it_matches(stored: Path) -> None:
    # Entities were decoded when the post was read: AT&amp;T is stored as AT&T.
    draft = '"AT&T" NEAR/4 apple'
    result = runner.invoke(app, ["test-query", "--query", draft, "-f", "json", *SINCE])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["brand"] is None
    assert report["baseline"] is None
    assert report["counts"] == {"candidate": 1}
    assert _url_ids(report["matches"]) == ["5"]
    assert report["matches"][0]["matched"] == ['"AT&T"', "apple"]
    assert "gained" not in report


def test_table_output_and_limit(stored: Path) -> None:
    draft = "apple AND NOT pie"
    result = runner.invoke(
        app,
        ["test-query", "Apple", "--query", draft, "--limit", "1", *SINCE],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Apple: draft query vs current rule over 5 stored posts" in out
    assert "apple AND NOT pie" in out
    assert "kept 2, gained 0, lost 2" in out
    assert "Lost (matched by the current rule only): 2, the newest 1" in out
    assert "Gained" not in out  # nothing gained: no empty table
    assert "\x1b" not in out  # not a terminal: no colour codes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["test-query"], "give a BRAND, a --query, or both"),
        (["test-query", "Nope"], "unknown brand 'Nope'; configured: Apple, Fruit"),
        (["test-query", "--query", "apple AND ("], "--query: syntax error at column 12"),
        (["test-query", "--query", "NOT apple"], "--query: unusable query at column 1"),
        (["test-query", "--query", "apple OR ..."], "--query: query term '...' can never match"),
        (["test-query", "--query", "apple", "--since", "soon"], "--since: cannot read 'soon'"),
    ],
)
def test_test_query_usage_errors(stored: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_test_query_without_a_store(write_config: Callable[[str], Path]) -> None:
    write_config(
        "database: none.db\nbrands: [{name: A, keywords: [a]}]\nsources: [https://x.org/f]\n"
    )
    result = runner.invoke(app, ["test-query", "A"])
    assert result.exit_code == 1
    assert "no database here yet" in result.stderr
    assert not Path("none.db").exists()  # read-only: nothing created


def test_scan_with_a_query_brand_records_and_explains_the_terms(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    httpserver.expect_request("/f.xml").respond_with_data(POSTS, content_type="application/xml")
    write_config(
        f"""\
        database: m.db
        brands:
          - name: Apple
            query: 'appl* NEAR/1 phone OR "AT&T" apple AND NOT pie'
        sources:
          - {{name: news, url: "{httpserver.url_for("/f.xml")}"}}
        """
    )
    check = runner.invoke(app, ["check"])
    assert check.exit_code == 0, check.output
    assert 'query (appl* NEAR/1 phone) OR ("AT&T" AND apple AND NOT pie)' in check.stdout
    assert runner.invoke(app, ["scan", "-q"]).exit_code == 0
    rows = json.loads(runner.invoke(app, ["mentions", "-f", "json"]).stdout)
    matched = {_url_ids([r])[0]: r["matched"] for r in rows}
    assert matched == {"1": ["appl*", "phone"], "5": ['"AT&T"', "apple"]}
    shown = runner.invoke(
        app, ["show", str(next(r["id"] for r in rows if r["url"].endswith("/5")))]
    )
    assert shown.exit_code == 0, shown.output
    assert 'matched: "AT&T", apple' in shown.stdout
    assert "'\"AT&T\"' in text" in shown.stdout


@pytest.mark.parametrize(
    ("query", "cover"),
    [
        ("acme", ["acme"]),
        ("acme AND phone", ["acme"]),
        ('"acme corp" OR globex', ["acme corp", "globex"]),
        ("(acme OR globex) AND (phone OR laptop OR tablet)", ["acme", "globex"]),
        ("acme NEAR/3 refund", ["acme"]),
        ("acme AND NOT acmeville", ["acme"]),
        ("acm* AND support", ["acm"]),
    ],
)
def test_search_cover_is_what_every_match_contains(query: str, cover: list[str]) -> None:
    from mentionwatch.config.query import search_cover

    assert [t.text for t in search_cover(parse_query(query))] == cover
