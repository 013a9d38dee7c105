"""Main-text extraction: boilerplate out, content and metadata in, hostile HTML stays cheap."""

from __future__ import annotations

import types

import pytest

from mentionwatch.errors import SourceError
from mentionwatch.sources import extract
from mentionwatch.sources.extract import Page, decode_html, extract_page, parse_selector

from .conftest import fixture_bytes

URL = "https://example.com/posts/1"


def read(doc: str, **kwargs: object) -> Page:
    return extract_page(doc, URL, extractor="builtin", **kwargs)  # type: ignore[arg-type]


def text(doc: str, **kwargs: object) -> str:
    return read(doc, **kwargs).text


def test_news_fixture_exactly() -> None:
    doc = decode_html(fixture_bytes("web", "news_article.html"), "text/html; charset=utf-8")
    assert read(doc) == Page(
        title="Acme recalls Widget 2 batteries after overheating reports",
        text="Acme recalls Widget 2 batteries after overheating reports\n"
        "By Jane Roe \u00b7 20 November 2026\n"
        "Acme Corp said on Friday it would recall 40,000 Widget 2 battery packs after "
        "customers reported overheating.\n"
        "\u201cSafety comes first,\u201d said Acme\u2019s chief executive. Owners can return "
        "packs to any store, including those run by AT&T.\n"
        "What owners should do\nStop charging the pack.\n"
        "Check the serial number on the recall page.\nThe Widget 2 battery pack.",
        canonical_url="https://news.example.com/business/acme-recalls-widget-2",
        author="Jane Roe",  # not the article:author profile URL
        lang="en",
        dates=("2026-11-20T09:15:00+01:00", "2026-11-20T08:15:00Z"),
    )


# ----------------------------------------------------------------------- boilerplate


@pytest.mark.parametrize(
    "junk",
    [
        "<nav><a href=/>Home</a></nav>",
        "<header><a href=/>Site</a></header>",
        "<footer>(c) Site</footer>",
        "<aside>Most read</aside>",
        "<form><label>Search <input name=q></label><button>Go</button></form>",
        "<script>var x = '<p>not text</p>';</script>",
        "<style>p { color: red }</style>",
        "<noscript><p>Enable JavaScript</p></noscript>",
        "<template><p>Later</p></template>",
        "<svg><title>Icon</title><text>svg text</text></svg>",
        "<iframe>Your browser does not support iframes</iframe>",
        "<textarea>type here</textarea>",
        '<div class="cookie-banner">We use cookies</div>',
        '<div id="cookieConsent">We use cookies</div>',
        '<div class="site-nav">Home | About</div>',
        '<ul class="breadcrumbs"><li>Home</li></ul>',
        '<div class="share-buttons">Share</div>',
        '<div id="comments"><p>First!</p></div>',
        '<div class="ad">Buy now</div>',
        '<div role="navigation">Links</div>',
        '<div role="complementary">Related</div>',
        "<div hidden>Hidden</div>",
        '<div aria-hidden="true">Icon label</div>',
        '<div style="display: none">Tracking</div>',
        '<p class="newsletter-signup">Sign up</p>',
        "<!-- <p>commented out</p> -->",
    ],
)
def test_boilerplate_is_dropped(junk: str) -> None:
    doc = f"<html><body><p>Before.</p>{junk}<p>After.</p></body></html>"
    assert text(doc) == "Before.\nAfter."


@pytest.mark.parametrize(
    "kept",
    [
        '<div class="article-header"><p>Headline</p></div>',  # the article's own part
        '<div class="entry-footer">Posted in News</div>',
        '<div class="has-sidebar"><p>Layout wrapper</p></div>',  # a state, not a sidebar
        '<div class="navigator-review">Not a nav</div>',  # "nav" is a word, not a prefix
        '<div class="canvas-wrap">Canvas text</div>',
        '<div class="download">Download</div>',  # no "ad" in there
    ],
)
def test_look_alikes_are_kept(kept: str) -> None:
    doc = f"<html><body><p>Before.</p>{kept}<p>After.</p></body></html>"
    assert text(doc) == f"Before.\n{text(kept)}\nAfter."


def test_header_inside_an_article_is_its_headline() -> None:
    doc = (
        "<body><header>Site name</header><article><header><h1>Acme news</h1>"
        "<p>By Ann</p></header><p>Body.</p><footer>Share this</footer></article></body>"
    )
    assert text(doc) == "Acme news\nBy Ann\nBody."


def test_dropped_inline_elements_do_not_glue_words() -> None:
    assert text("<p>Acme<button>Like</button>rocks</p>") == "Acme rocks"


def test_entities_and_script_text() -> None:
    doc = "<p>AT&amp;T &lt;b&gt; caf&eacute; &#x1F600;</p><script>if (a < b) {}</script>"
    assert text(doc) == "AT&T <b> caf\u00e9 \U0001f600"


# ----------------------------------------------------------------------- regions


def test_one_article_wins() -> None:
    doc = (
        "<body><div class=promo-box><p>Teaser</p></div><main><p>Main intro</p>"
        "<article><p>The story.</p></article></main></body>"
    )
    assert text(doc) == "The story."


def test_main_wins_over_several_articles() -> None:
    doc = (
        "<body><p>Outside.</p><main><h1>Latest posts</h1><article><p>One.</p></article>"
        "<article><p>Two.</p></article></main></body>"
    )
    assert text(doc) == "Latest posts\nOne.\nTwo."


def test_several_articles_without_main_are_all_kept() -> None:
    doc = (
        "<body><p>Logo</p><article><p>One.</p></article><div><p>Between.</p></div>"
        "<article><p>Two.</p></article></body>"
    )
    assert text(doc) == "One.\nTwo."


def test_role_main() -> None:
    doc = '<body><p>Outside.</p><div role="main"><p>Inside.</p></div></body>'
    assert text(doc) == "Inside."


def test_articles_inside_boilerplate_do_not_count() -> None:
    doc = (
        "<body><article><p>The story.</p></article>"
        "<aside><article><p>Related one.</p></article></aside>"
        '<div class="comments"><article><p>A comment.</p></article></div></body>'
    )
    assert text(doc) == "The story."


def test_no_body_tag() -> None:
    assert text("<title>T</title><p>Just text.</p>") == "Just text."


def test_a_wrapper_misread_as_boilerplate_does_not_blank_the_page() -> None:
    doc = '<body><div class="sidebar-layout"><p>Everything is in here.</p></div></body>'
    assert text(doc) == "Everything is in here."


def test_unclosed_elements_end_with_their_parent() -> None:
    doc = "<body><div><nav>Menu<p>still nav</div><p>Text.</p></body>"
    assert text(doc) == "Text."


# ----------------------------------------------------------------------- selectors


def test_selector_forms() -> None:
    doc = (
        '<body><div id="a" class="post body">A</div><p class="post">P</p>'
        '<section class="other">S</section></body>'
    )
    assert text(doc, selector=parse_selector("#a")) == "A"
    assert text(doc, selector=parse_selector(".post")) == "A\nP"
    assert text(doc, selector=parse_selector("div.post.body")) == "A"
    assert text(doc, selector=parse_selector("p.post, section")) == "P\nS"
    assert text(doc, selector=parse_selector("DIV#a.post")) == "A"


def test_selector_still_drops_boilerplate_inside() -> None:
    doc = '<body><div class="content">Text<nav>Menu</nav><div class="share">Share</div></div>'
    assert text(doc, selector=parse_selector(".content")) == "Text"


@pytest.mark.parametrize("bad", ["div > p", "a b", "[role=main]", "#a#b", "", ".", "p,"])
def test_unsupported_selectors(bad: str) -> None:
    with pytest.raises(ValueError, match="unsupported selector"):
        parse_selector(bad)


# ----------------------------------------------------------------------- metadata


def test_title_order() -> None:
    head = "<meta property='og:site_name' content='Example News'>"
    title = "<title>Acme story | Example News</title>"
    h1 = "<body><h1>Heading</h1><p>x</p></body>"
    assert read(f"{head}{title}{h1}").title == "Acme story"  # site name suffix dropped
    assert read(f"<title>Acme story | Other</title>{h1}").title == "Acme story | Other"
    assert read(f"<meta property='og:title' content='OG &amp; more'>{title}").title == ("OG & more")
    assert read(h1).title == "Heading"
    assert read("<svg><title>icon</title></svg><p>x</p>").title == ""


def test_canonical_url() -> None:
    def canonical(doc: str) -> str | None:
        return read(doc + "<p>x</p>").canonical_url

    assert canonical('<link rel="canonical" href="/a/b?x=1#top">') == "https://example.com/a/b?x=1"
    assert canonical('<link href="c" rel="Canonical">') == "https://example.com/posts/c"
    assert canonical('<base href="https://cdn.example.net/d/"><link rel=canonical href=e>') == (
        "https://cdn.example.net/d/e"
    )
    assert canonical('<link rel="canonical" href="javascript:alert(1)">') is None
    assert canonical('<link rel="alternate" href="/feed">') is None


def test_dates_in_order_of_trust() -> None:
    doc = (
        '<meta property="article:published_time" content="2026-01-01T10:00:00Z">'
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        '"datePublished": "2026-01-02T10:00:00Z"}</script>'
        '<meta itemprop="datePublished" content="2026-01-03">'
        '<body><aside><time datetime="2020-01-01">old</time></aside>'
        '<article><time datetime="2026-01-04T10:00">Jan 4</time><p>x</p></article></body>'
    )
    assert read(doc).dates == (
        "2026-01-01T10:00:00Z",
        "2026-01-02T10:00:00Z",
        "2026-01-03",
        "2026-01-04T10:00",  # the first <time> in the text, not the sidebar's
    )


def test_json_ld_forms_and_junk() -> None:
    doc = (
        '<script type="application/ld+json">{"broken": </script>'
        '<script type="application/ld+json">' + "[" * 100_000 + "]" * 100_000 + "</script>"
        '<script type="application/ld+json"><!--\n[{"@type": "Organization", "name": "Org"},'
        '{"@type": "BlogPosting", "headline": "H", "datePublished": "2026-02-03",'
        '"author": [{"@type": "Person", "name": "Ann"}, "Bob", "https://x.example/u/c",'
        ' {"name": "Ann"}]}]\n--></script><p>x</p>'
    )
    page = read(doc)
    assert (page.title, page.author, page.dates) == ("H", "Ann, Bob", ("2026-02-03",))


def test_author_and_language() -> None:
    page = read(
        '<html lang="pt_BR"><meta property="article:author" content="https://fb.example/ann">'
        '<meta property="article:author" content="ignored second">'
        '<script type="application/ld+json">{"@type": "Article", "author": {"name": "Ann"}}'
        "</script><p>x</p>"
    )
    assert (page.author, page.lang) == ("Ann", "pt")
    assert read('<meta property="og:locale" content="nl_NL"><p>x</p>').lang == "nl"
    assert read('<html lang="x-klingon-is-no-tag"><p>x</p>').lang is None


# ----------------------------------------------------------------------- decoding


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        ("caf\u00e9".encode(), "text/html", "caf\u00e9"),
        (b"\xef\xbb\xbfcaf\xc3\xa9", "text/html; charset=iso-8859-1", "caf\u00e9"),  # BOM wins
        (b"caf\xe9 \x93q\x94", "text/html; charset=ISO-8859-1", "caf\u00e9 \u201cq\u201d"),
        (
            b'<meta charset="windows-1252">\x93q\x94',
            "text/html",
            '<meta charset="windows-1252">\u201cq\u201d',
        ),
        (b"caf\xe9", "text/html", "caf\u00e9"),  # not UTF-8: Windows-1252
        (b"caf\xc3\xa9", "text/html; charset=no-such-codec", "caf\u00e9"),
        ("\u00e9".encode("utf-16"), "text/html", "\u00e9"),
    ],
)
def test_decode_html(content: bytes, content_type: str, expected: str) -> None:
    assert decode_html(content, content_type) == expected


# ----------------------------------------------------------------------- hostile input


def test_megabytes_of_nested_junk_stay_cheap() -> None:
    # ~2 MB in one line: deeply nested unclosed elements with attributes, stray end
    # tags, "<" that are not tags, odd entities, nested boilerplate never closed.
    junk = (
        "<div class=\"x y\" data-a='1'><span>" * 40_000
        + "</b></i></em>" * 20_000
        + "a < b <3 " * 5_000
        + "&amp;&#9999999;&bogus;" * 5_000
        + '<nav class="menu">menu ' * 20_000
    )
    doc = f"<html><body><article><h1>Acme</h1><p>Real text.</p>{junk}</article></body></html>"
    assert len(doc) > 2_000_000
    page = read(doc)
    assert page.text.startswith("Acme\nReal text.\na < b <3 a < b <3 ")
    assert page.text.count("a < b <3") == 5_000
    assert page.text.endswith("&\ufffd&bogus;")
    assert "menu" not in page.text
    assert page.title == "Acme"


def test_a_word_longer_than_the_cap_is_cut() -> None:
    page = read("<p>Acme " + "x" * 200_000 + "</p>")
    assert page.text == "Acme " + "x" * (extract.MAX_TEXT_CHARS - 5)


def test_huge_metadata_is_capped() -> None:
    page = read(
        f"<title>{'Acme ' * 100_000}</title>"
        f"<meta property='article:published_time' content='{'2026' * 100_000}'>"
        f"<meta name='author' content='{'Ann ' * 100_000}'><p>x</p>"
    )
    assert len(page.title) == 1000
    assert len(page.author) == 200
    assert page.dates == ()


def test_megabytes_of_one_line_text_are_capped() -> None:
    page = read("<p>" + "Acme " * 400_000 + "</p>")
    assert len(page.text) <= extract.MAX_TEXT_CHARS
    assert page.text.endswith(" Acme")
    assert page.warnings == ("text cut to 100,000 characters",)


# ----------------------------------------------------------------------- trafilatura


def test_trafilatura_extracts_the_article() -> None:
    pytest.importorskip("trafilatura")
    doc = decode_html(fixture_bytes("web", "news_article.html"))
    page = extract_page(doc, URL, extractor="trafilatura")
    assert "Acme Corp said on Friday" in page.text
    assert "We use cookies" not in page.text
    assert "Most read" not in page.text
    assert page.title == "Acme recalls Widget 2 batteries after overheating reports"


def test_trafilatura_failure_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("lxml exploded")

    fake = types.ModuleType("trafilatura")
    fake.extract = broken  # type: ignore[attr-defined]
    monkeypatch.setattr(extract, "_load_trafilatura", lambda: (fake, ""))
    page = extract_page("<p>Plain.</p>", URL, extractor="auto")
    assert page.text == "Plain."
    assert page.warnings == ("trafilatura failed (RuntimeError: lxml exploded); used built-in",)


def test_trafilatura_nothing_found_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("trafilatura")
    fake.extract = lambda *a, **k: None  # type: ignore[attr-defined]
    monkeypatch.setattr(extract, "_load_trafilatura", lambda: (fake, ""))
    assert extract_page("<p>Plain.</p>", URL, extractor="trafilatura").text == "Plain."


def test_trafilatura_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract, "_load_trafilatura", lambda: (None, extract.NOT_INSTALLED))
    assert extract_page("<p>Plain.</p>", URL, extractor="auto") == Page("", "Plain.", None)
    with pytest.raises(SourceError, match=r"not available \(not installed\): pip install"):
        extract_page("<p>Plain.</p>", URL, extractor="trafilatura")


def test_trafilatura_broken_install_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    reason = "lxml.html.clean module is now a separate project lxml_html_clean"
    monkeypatch.setattr(extract, "_load_trafilatura", lambda: (None, reason))
    page = extract_page("<p>Plain.</p>", URL, extractor="auto")
    assert page.text == "Plain."
    assert page.warnings == (f"trafilatura cannot be imported ({reason}); used built-in",)
