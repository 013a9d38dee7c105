"""Tests for mentionwatch.textutil: HTML and markup to plain text."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentionwatch.textutil import html_to_text, normalize_space


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        # entities: named, numeric, hexadecimal, and the HTML5 names without ";"
        ("AT&amp;T", "AT&T"),
        ("It&#x27;s", "It's"),
        ("It&#39;s", "It's"),
        ("a&mdash;b", "a\u2014b"),
        ("&copy; 2025 Acme", "\u00a9 2025 Acme"),
        ("Acme&nbsp;Corp", "Acme Corp"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>"),
        ("&amp;lt;b&amp;gt;", "&lt;b&gt;"),  # decoded once, never twice
        # block elements separate words; inline ones do not
        ("<p>a</p><p>b</p>", "a\nb"),
        ("<div>a<div>b</div>c</div>", "a\nb\nc"),
        ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
        ("<h1>Title</h1>Body", "Title\nBody"),
        ("a<br>b<br/>c<BR >d", "a\nb\nc\nd"),
        ("<blockquote>quoted</blockquote>after", "quoted\nafter"),
        ("<P>Upper</P><p>lower</p>", "Upper\nlower"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><th>c</th></tr></table>", "a b\nc"),
        ("<b>Ac</b>me <i>Corp</i>", "Acme Corp"),
        ('<a href="https://acme.example.com/?a=1&amp;b=2">Acme</a> rocks', "Acme rocks"),
        # invisible content
        ('<script>alert("Acme")</script>visible', "visible"),
        ("<SCRIPT type=text/javascript>x</SCRIPT >y", "y"),
        ("<style>p { color: red }</style><p>text", "text"),
        ("a<noscript>enable JS</noscript>b", "ab"),
        ("<template><p>hidden</p></template>shown", "shown"),
        ("<html><head><title>Page</title></head><body>Body</body></html>", "Body"),
        ("<html><head><title>Page</title><body>No head end tag", "No head end tag"),
        ("<!-- a comment -->visible<!-- another -->", "visible"),
        ("<!DOCTYPE html><p>doc</p>", "doc"),
        ("x<![CDATA[y]]>z", "xz"),
        # white space as a browser collapses it
        ("<p>  lots \n of\t\tspace  </p>", "lots of space"),
        ("<p>a</p>\n\n\n<p>b</p>", "a\nb"),
        # broken markup never raises and never swallows text needlessly
        ("a < b and c > d", "a < b and c > d"),
        ("I <3 Acme", "I <3 Acme"),
        ("<p>unclosed paragraph", "unclosed paragraph"),
        ("text then <b", "text then"),
        ("<script>never closed", ""),
        ("<!-- never closed", ""),
        ("<a href='x>y' title=\"q>r\">link</a> text", "link text"),
        ("<img alt=don't src=x.png>after", "after"),
        ("</>stray", "</>stray"),
        # control characters never survive, C1 ones are read as Windows-1252
        ("<p>a\x1b[31mred</p>", "a [31mred"),
        ("<p>\x93quoted\x94 and\x85</p>", "\u201cquoted\u201d and\u2026"),
        ("a&#27;b", "ab"),  # html.unescape drops invalid character references
        ("<p>e\x7fx</p>", "e x"),
        ("<p>\u00e9\x7fx\x00y</p>", "\u00e9 x y"),
        ("<p>\u00e9\u3000x\u00a0y\x1cz</p>", "\u00e9 x y z"),
        ("a\x00<br>b", "a\nb"),
    ],
)
def test_html_to_text(markup: str, expected: str) -> None:
    assert html_to_text(markup) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Acme Corp unveils Widget 2", "Acme Corp unveils Widget 2"),
        ("  padded  ", "padded"),
        ("tabs\tand\u00a0nbsp\u3000ideographic", "tabs and nbsp ideographic"),
        ("line 1\nline 2", "line 1\nline 2"),
        ("para 1\n\n\n\n\npara 2", "para 1\n\npara 2"),
        ("crlf\r\nline\rold mac", "crlf\nline\nold mac"),
        (" \n\n lead and trail \n\n ", "lead and trail"),
        ("bell\x07 and escape\x1b", "bell and escape"),
        ("smart \x93quotes\x94", "smart \u201cquotes\u201d"),
        ("", ""),
    ],
)
def test_normalize_space(text: str, expected: str) -> None:
    assert normalize_space(text) == expected


def test_plain_text_keeps_its_lines_and_decodes_entities() -> None:
    # No tag at all: a plain-text body, whose line structure is worth keeping.
    assert html_to_text("Q&amp;A with Acme\n\n\nPart 2 &mdash; soon") == (
        "Q&A with Acme\n\nPart 2 \u2014 soon"
    )
    assert html_to_text("AT&T and a & b") == "AT&T and a & b"


def test_max_chars_truncates_before_parsing() -> None:
    assert html_to_text("<p>" + "a" * 50 + "</p>", max_chars=10) == "a" * 7
    assert html_to_text("x" * 100, max_chars=5) == "xxxxx"


@pytest.mark.parametrize(
    "evil",
    [
        "<a" * 300_000,
        '<a "' * 200_000,
        "<p " + '="' * 300_000,
        "<!--" * 250_000,
        "<script>" * 120_000,
        "<head>" + "<" * 600_000,
        "&" * 1_000_000,
        "&#" * 500_000,
        "<" + "a" * 1_000_000,
        "\n" * 1_000_000,
        "<div>" + "a<b>x</b> " * 100_000,
    ],
    ids=lambda s: repr(s[:12]),
)
def test_pathological_input_is_linear(evil: str) -> None:
    start = time.perf_counter()
    html_to_text(evil)
    # Quadratic behaviour on a megabyte would take minutes; linear takes milliseconds.
    assert time.perf_counter() - start < 2.0


def test_default_cap_bounds_huge_input() -> None:
    huge = "<p>Acme</p>" * 500_000  # 5.5 MB
    start = time.perf_counter()
    text = html_to_text(huge)
    assert time.perf_counter() - start < 3.0
    # Cut at 1_000_000 characters: 90_909 whole paragraphs and a lone "<" of the next.
    assert text.count("Acme") == 1_000_000 // len("<p>Acme</p>")
    assert text.endswith("Acme\n<")


_CONTROL = set(map(chr, [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_input_gives_clean_text(s: str) -> None:
    for out in (html_to_text(s), normalize_space(s)):
        assert not _CONTROL & set(out)
        assert out == out.strip()
        assert "  " not in out
        assert "\n\n\n" not in out


_TRICKY = st.sampled_from(
    [
        *("<p>", "</p>", "<br>", "<td>", "<b>", "<script>", "<!--", "-->", "&amp;", "&#x85;"),
        *("&nbsp;", "a", "\u00e9", " ", "  ", "\n", "\t", "\r", "\x00", "\x1b", "\x7f"),
        *("\x85", "\x93", "\xa0", "\u3000", "\u2028", "<", ">", "&"),
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_TRICKY, max_size=30).map("".join))
def test_markup_soup_gives_clean_text(s: str) -> None:
    for out in (html_to_text(s), normalize_space(s)):
        assert not _CONTROL & set(out)
        assert out == out.strip()
        assert "  " not in out
        assert "\n\n\n" not in out


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_space_is_idempotent(s: str) -> None:
    once = normalize_space(s)
    assert normalize_space(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="<&")))
def test_text_without_markup_is_only_tidied(s: str) -> None:
    assert html_to_text(s) == normalize_space(s)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abc xyz", min_size=1), min_size=1, max_size=6))
def test_paragraphs_never_glue_words(words: list[str]) -> None:
    html = "".join(f"<p>{w}</p>" for w in words)
    expected = "\n".join(" ".join(w.split()) for w in words if w.strip())
    assert html_to_text(html) == expected
