"""web adapter against recorded pages on 127.0.0.1: one page = one post, main text only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.errors import SourceError
from mentionwatch.models import RawItem, SourceState
from mentionwatch.sources import extract

from .conftest import fetch_with, fixture_bytes

NEWS_TEXT = "\n".join(
    [
        "Acme recalls Widget 2 batteries after overheating reports",
        "By Jane Roe \u00b7 20 November 2026",
        "Acme Corp said on Friday it would recall 40,000 Widget 2 battery packs after "
        "customers reported overheating.",
        "\u201cSafety comes first,\u201d said Acme\u2019s chief executive. Owners can return "
        "packs to any store, including those run by AT&T.",
        "What owners should do",
        "Stop charging the pack.",
        "Check the serial number on the recall page.",
        "The Widget 2 battery pack.",
    ]
)
NEWS = RawItem(
    external_id="https://news.example.com/business/acme-recalls-widget-2",
    url="https://news.example.com/business/acme-recalls-widget-2",
    title="Acme recalls Widget 2 batteries after overheating reports",
    text=NEWS_TEXT,
    author="Jane Roe",
    published=datetime(2026, 11, 20, 8, 15, tzinfo=UTC),  # 09:15+01:00
    lang="en",
)
BLOG = RawItem(
    external_id="https://blog.example.de/acme-wechsel/",
    url="https://blog.example.de/acme-wechsel/",
    title="Warum wir zu Acme gewechselt sind & was es kostet",  # JSON-LD headline
    text="Nach zwei Jahren mit einem anderen Anbieter sind wir zu Acme gewechselt.\n"
    "Der Umzug dauerte einen Nachmittag \u2013 ohne Ausfall.",
    author="Max Mustermann",  # the Person the BlogPosting's author @id points to
    published=datetime(2026, 11, 18, 7, 30, tzinfo=UTC),  # the article's, not the WebPage's
    lang="de",
)
HTML = "text/html; charset=utf-8"
ETAG = '"news-v1"'
LAST_MODIFIED = "Fri, 20 Nov 2026 11:00:00 GMT"


def serve(httpserver: HTTPServer, path: str, body: bytes | str, **kwargs: Any) -> None:
    kwargs.setdefault("content_type", HTML)
    httpserver.expect_request(path).respond_with_data(body, **kwargs)


def pages(result_state: SourceState) -> dict[str, Any]:
    cursor = json.loads(result_state.cursor or "{}")
    assert cursor["config"] == "builtin|"
    pages: dict[str, Any] = cursor["pages"]
    return pages


def test_news_article_main_text_and_metadata(httpserver: HTTPServer) -> None:
    serve(
        httpserver,
        "/business/acme",
        fixture_bytes("web", "news_article.html"),
        headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED},
    )
    url = httpserver.url_for("/business/acme")
    result = fetch_with("web", url=url, extractor="builtin")
    # Navigation, header, cookie banner, breadcrumbs, share bar, ad, tags footer,
    # comments, sidebar, newsletter box, site footer and scripts are all gone.
    assert result.items == (NEWS,)
    assert result.warnings == ()
    assert not result.not_modified
    entry = pages(result.state)[url]
    assert entry["etag"] == ETAG
    assert entry["last_modified"] == LAST_MODIFIED
    assert len(entry["hash"]) == 64
    accept = httpserver.log[0][0].headers["Accept"]
    assert accept.startswith("text/html")


def test_second_fetch_is_conditional_and_304_yields_nothing(httpserver: HTTPServer) -> None:
    serve(
        httpserver,
        "/business/acme",
        fixture_bytes("web", "news_article.html"),
        headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED},
    )
    url = httpserver.url_for("/business/acme")
    first = fetch_with("web", url=url, extractor="builtin")

    httpserver.clear()
    httpserver.expect_request(
        "/business/acme", headers={"If-None-Match": ETAG, "If-Modified-Since": LAST_MODIFIED}
    ).respond_with_data("", status=304)
    again = fetch_with("web", url=url, extractor="builtin", state=first.state)
    httpserver.check_assertions()
    assert again.items == ()
    assert again.not_modified
    assert again.state == first.state


def test_unchanged_text_is_no_item_and_changed_text_comes_back(httpserver: HTTPServer) -> None:
    original = fixture_bytes("web", "news_article.html")
    serve(httpserver, "/business/acme", original)  # no validators: a full GET every time
    url = httpserver.url_for("/business/acme")
    first = fetch_with("web", url=url, extractor="builtin")
    assert first.items == (NEWS,)

    # New build id in a script, another "most read" list: the raw HTML changed, the
    # extracted text did not.
    httpserver.clear()
    noisy = original.replace(b"8f3a1c", b"77aa01").replace(
        b"Acme rival launches new phone", b"Acme shares fall 3%"
    )
    serve(httpserver, "/business/acme", noisy)
    second = fetch_with("web", url=url, extractor="builtin", state=first.state)
    assert second.items == ()
    assert second.not_modified
    assert second.state == first.state
    assert "If-None-Match" not in httpserver.log[0][0].headers

    # An edited article: returned again (the store keeps it as the same post).
    httpserver.clear()
    edited = original.replace(b"Stop charging the pack.", b"Stop charging the pack at once.")
    serve(httpserver, "/business/acme", edited)
    third = fetch_with("web", url=url, extractor="builtin", state=second.state)
    changed = NEWS_TEXT.replace("Stop charging the pack.", "Stop charging the pack at once.")
    assert third.items == (RawItem(**{**_fields(NEWS), "text": changed}),)
    assert not third.not_modified
    assert pages(third.state)[url]["hash"] != pages(first.state)[url]["hash"]


def _fields(item: RawItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__slots__}


def test_json_ld_page(httpserver: HTTPServer) -> None:
    serve(httpserver, "/acme-wechsel/", fixture_bytes("web", "jsonld_post.html"))
    result = fetch_with("web", url=httpserver.url_for("/acme-wechsel/"), extractor="builtin")
    assert result.items == (BLOG,)
    assert result.warnings == ()


def test_page_without_article_or_main_after_a_redirect(httpserver: HTTPServer) -> None:
    # Windows-1252 bytes, charset only in <meta http-equiv>; no canonical link, so the
    # address after the redirect is the post's URL.
    httpserver.expect_request("/old-review").respond_with_data(
        "", status=301, headers={"Location": "/reviews/acme-widget-2.html"}
    )
    serve(
        httpserver,
        "/reviews/acme-widget-2.html",
        fixture_bytes("web", "plain_page.html"),
        content_type="text/html",
    )
    result = fetch_with("web", url=httpserver.url_for("/old-review"), extractor="builtin")
    final = httpserver.url_for("/reviews/acme-widget-2.html")
    assert result.items == (
        RawItem(
            external_id=final,
            url=final,
            title="Acme Widget 2 review - Tom's Gadget Corner",
            text="Acme Widget 2 review\n15 Nov 2026\n"
            "I have used the Acme Widget 2 for a month. It is \u201cgood enough\u201d "
            "for the price.\nBattery life: 3 days.\nScreen: fine.",
            author="",
            published=datetime(2026, 11, 15, tzinfo=UTC),  # <time datetime="2026-11-15">
            lang=None,
        ),
    )


def test_plain_text_page(httpserver: HTTPServer) -> None:
    serve(
        httpserver,
        "/changelog.txt",
        "Release 2.1\r\n\r\n  * Works with Acme   routers\r\n",
        content_type="text/plain; charset=utf-8",
    )
    url = httpserver.url_for("/changelog.txt")
    result = fetch_with("web", url=url, extractor="builtin")
    assert result.items == (
        RawItem(
            external_id=url, url=url, title="", text="Release 2.1\n\n* Works with Acme routers"
        ),
    )


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf", "sent a PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png", "binary data"),
        (b"GIF89a", "image/gif", "the server sent image/gif"),
        (b'{"title": "Acme"}', "application/json", "the server sent application/json"),
        (
            b"<?xml version='1.0'?><rss version='2.0'><channel></channel></rss>",
            "application/rss+xml",
            "use `type: rss`",
        ),
    ],
)
def test_non_html_is_a_clear_error(
    httpserver: HTTPServer, body: bytes, content_type: str, message: str
) -> None:
    serve(httpserver, "/file", body, content_type=content_type)
    with pytest.raises(SourceError, match=message):
        fetch_with("web", url=httpserver.url_for("/file"), extractor="builtin")


@pytest.mark.parametrize(
    ("status", "headers", "message"),
    [
        (404, {}, r"^HTTP 404 not found$"),
        (500, {}, r"^HTTP 500 internal server error$"),
        (429, {"Retry-After": "120"}, r"^HTTP 429 rate limited; retry after 120s$"),
        (403, {}, r"^HTTP 403 forbidden"),
    ],
)
def test_error_statuses(
    httpserver: HTTPServer, status: int, headers: dict[str, str], message: str
) -> None:
    serve(httpserver, "/page", "<html><body>oops</body></html>", status=status, headers=headers)
    with pytest.raises(SourceError, match=message):
        fetch_with("web", url=httpserver.url_for("/page"), extractor="builtin")


def test_empty_page_is_no_item_with_a_warning(httpserver: HTTPServer) -> None:
    body = (
        "<!doctype html><html><head><title>App</title><script src=/app.js></script></head>"
        "<body><nav><a href=/>Home</a></nav><div id=root></div></body></html>"
    )
    serve(httpserver, "/app", body, headers={"ETag": '"e1"'})
    url = httpserver.url_for("/app")
    result = fetch_with("web", url=url, extractor="builtin")
    assert result.items == ()
    assert result.warnings == (
        "no text found on the page (empty, or rendered by JavaScript?): nothing to read",
    )
    assert not result.not_modified
    assert pages(result.state) == {url: {"etag": '"e1"'}}


def test_several_urls_one_failing(httpserver: HTTPServer) -> None:
    serve(httpserver, "/news", fixture_bytes("web", "news_article.html"))
    serve(httpserver, "/blog", fixture_bytes("web", "jsonld_post.html"))
    serve(httpserver, "/gone", "nope", status=404, content_type="text/plain")
    news, blog, gone = (httpserver.url_for(p) for p in ("/news", "/blog", "/gone"))
    result = fetch_with("web", url=news, urls=[blog, gone, news], extractor="builtin")
    assert result.items == (NEWS, BLOG)
    assert result.warnings == (f"{gone}: HTTP 404 not found",)
    assert set(pages(result.state)) == {news, blog}
    assert len(httpserver.log) == 3  # `url` repeated in `urls` is fetched once


def test_several_urls_all_failing_is_an_error(httpserver: HTTPServer) -> None:
    serve(httpserver, "/a", "x", status=500, content_type="text/plain")
    serve(httpserver, "/b", b"%PDF-1.4", content_type="application/pdf")
    a, b = httpserver.url_for("/a"), httpserver.url_for("/b")
    with pytest.raises(SourceError, match=rf"every page failed: {a}: HTTP 500 .*; {b}: not a"):
        fetch_with("web", urls=[a, b], extractor="builtin")


def test_a_failing_page_keeps_its_cursor(httpserver: HTTPServer) -> None:
    serve(httpserver, "/blog", fixture_bytes("web", "jsonld_post.html"))
    serve(httpserver, "/news", "x", status=503, content_type="text/plain")
    blog, news = httpserver.url_for("/blog"), httpserver.url_for("/news")
    old = {"config": "builtin|", "pages": {news: {"etag": '"n0"', "hash": "ab"}}}
    result = fetch_with(
        "web",
        urls=[blog, news],
        extractor="builtin",
        state=SourceState(cursor=json.dumps(old)),
    )
    assert result.items == (BLOG,)
    assert pages(result.state)[news] == {"etag": '"n0"', "hash": "ab"}
    # Pages are fetched concurrently: find the request by its path.
    (request,) = [r for r, _ in httpserver.log if r.path == "/news"]
    assert request.headers["If-None-Match"] == '"n0"'


def test_selector_narrows_the_page(httpserver: HTTPServer) -> None:
    serve(httpserver, "/news", fixture_bytes("web", "news_article.html"))
    url = httpserver.url_for("/news")
    result = fetch_with("web", url=url, selector="#comments")
    # The user asked for the comments: they are read, though boilerplate by default.
    assert result.items == (
        RawItem(**{**_fields(NEWS), "text": "3 comments\nAcme is a disgrace!"}),
    )
    cursor = json.loads(result.state.cursor or "")
    assert cursor["config"] == "builtin|#comments"

    # Another selector: the old text hash and validators no longer apply.
    httpserver.clear()
    serve(httpserver, "/news", fixture_bytes("web", "news_article.html"))
    again = fetch_with("web", url=url, selector="h2", state=result.state)
    assert again.items[0].text == "What owners should do\n3 comments\nMost read"


def test_selector_matching_nothing_warns(httpserver: HTTPServer) -> None:
    serve(httpserver, "/blog", fixture_bytes("web", "jsonld_post.html"))
    result = fetch_with("web", url=httpserver.url_for("/blog"), selector="article.post")
    assert result.items == ()
    assert result.warnings == ("selector 'article.post' matched nothing on the page",)


def test_auto_without_trafilatura_uses_the_builtin_extractor(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(extract, "_load_trafilatura", lambda: (None, extract.NOT_INSTALLED))
    serve(httpserver, "/news", fixture_bytes("web", "news_article.html"))
    result = fetch_with("web", url=httpserver.url_for("/news"), extractor="auto")
    assert result.items == (NEWS,)


def test_trafilatura_extractor(httpserver: HTTPServer) -> None:
    pytest.importorskip("trafilatura")
    serve(httpserver, "/news", fixture_bytes("web", "news_article.html"))
    result = fetch_with("web", url=httpserver.url_for("/news"), extractor="trafilatura")
    (item,) = result.items
    # The metadata is ours whichever extractor reads the text.
    assert _fields(item) | {"text": ""} == _fields(NEWS) | {"text": ""}
    assert "Acme Corp said on Friday it would recall 40,000 Widget 2" in item.text
    assert "including those run by AT&T." in item.text
    for boilerplate in ("cookies", "Accept all", "Most read", "newsletter", "disgrace", "Flights"):
        assert boilerplate.lower() not in item.text.lower()
    # "auto" picks trafilatura when it is installed.
    httpserver.clear()
    serve(httpserver, "/news", fixture_bytes("web", "news_article.html"))
    auto = fetch_with("web", url=httpserver.url_for("/news"), extractor="auto")
    assert auto.items == result.items


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{name: w, type: web}", r"sources\[0\]\.url: missing: give `url` \(one page\)"),
        (
            "{name: w, type: web, url: 'https://a.example/', extractor: magic}",
            r"sources\[0\]\.extractor: expected one of auto, builtin, trafilatura",
        ),
        (
            "{name: w, type: web, url: 'https://a.example/', selector: 'div > p'}",
            r"sources\[0\]\.selector: unsupported selector 'div > p'",
        ),
        (
            "{name: w, type: web, urls: 'https://a.example/'}",
            r"sources\[0\]\.urls: expected a list of page URLs",
        ),
        (
            "{name: w, type: web, urls: ['https://a.example/', 'ftp://b.example/x']}",
            r"sources\[0\]\.urls: invalid URL 'ftp://b.example/x'",
        ),
        (
            "{name: w, type: web, url: 'https://a.example/', extractor: trafilatura, "
            "selector: main}",
            r"sources\[0\]\.extractor: a selector is read by the built-in extractor",
        ),
    ],
)
def test_bad_option_is_a_config_error(source: str, message: str) -> None:
    from mentionwatch.configure import parse_config
    from mentionwatch.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"^c\.yaml:3: {message}"):
        parse_config(f"keywords: [Acme]\nsources:\n  - {source}\n", filename="c.yaml")


def test_good_config_parses() -> None:
    from mentionwatch.configure import parse_config

    config = parse_config(
        "keywords: [Acme]\nsources:\n"
        "  - {name: w, type: web, urls: ['https://a.example/x', 'https://b.example/y'],"
        " selector: 'article, div.post-body', extractor: builtin}\n",
        filename="c.yaml",
    )
    (source,) = config.sources
    assert source.type == "web"
    assert source.option("urls") == ["https://a.example/x", "https://b.example/y"]
