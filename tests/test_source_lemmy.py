"""lemmy adapter against recorded /api/v3/search responses on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.config.model import Settings
from mentionwatch.errors import SourceError
from mentionwatch.models import RawItem, SourceState
from mentionwatch.sources import lemmy

from .conftest import fetch_with, fixture_bytes

REVIEW = RawItem(
    external_id="https://lemmy.world/post/3312345",
    url="https://lemmy.world/post/3312345",
    title="Acme Widget 2 review after one week",
    text="Mostly **positive**, but the app crashes on Android 14.",
    author="tinker",
    published=datetime(2026, 11, 20, 9, 45, 12, tzinfo=UTC),
    counters=(("score", 21), ("comments", 6), ("upvotes", 23)),
)
# From an old instance: naive timestamp (UTC) and entities in the title.
FEDERATED = RawItem(
    external_id="https://lemmy.ml/post/998877",
    url="https://lemmy.ml/post/998877",
    title="Acme & friends: a buyer's guide",
    text="",
    author="oldtimer",
    published=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
    counters=(("score", 5), ("comments", 0), ("upvotes", 5)),
)
OLDER = RawItem(
    external_id="https://lemmy.world/post/3311000",
    url="https://lemmy.world/post/3311000",
    title="Is the Acme Corp app open source?",
    text="Asking before I buy.\n\nThanks!",
    author="floss_fan",
    published=datetime(2026, 11, 19, 21, 30, tzinfo=UTC),
    counters=(("score", 13), ("comments", 9), ("upvotes", 14)),
)
NEWER = RawItem(
    external_id="https://lemmy.world/post/3313000",
    url="https://lemmy.world/post/3313000",
    title="Acme firmware 3.1 fixed my crash",
    text="Update: the Android 14 crash is gone.",
    author="tinker",
    published=datetime(2026, 11, 20, 10, 30, tzinfo=UTC),
    counters=(("score", 3), ("comments", 1), ("upvotes", 3)),
)
COMMENT = RawItem(
    external_id="https://lemmy.world/comment/55443322",
    url="https://lemmy.world/comment/55443322",
    title="Acme Widget 2 review after one week",
    text="Same here \u2014 Acme support said a fix is coming.",
    author="floss_fan",
    published=datetime(2026, 11, 20, 9, 50, tzinfo=UTC),
    counters=(("score", 4), ("replies", 2), ("upvotes", 4)),
)

QUERY = {"q": "Acme", "type_": "Posts", "sort": "New", "listing_type": "All", "limit": "50"}
JSON = "application/json"


def serve(httpserver: HTTPServer, fixture: str, query: dict[str, str], **match: object) -> None:
    httpserver.expect_ordered_request(
        "/api/v3/search",
        query_string=query,
        **match,  # type: ignore[arg-type]
    ).respond_with_data(fixture_bytes("lemmy", fixture), content_type=JSON)


def test_two_pages_then_incremental(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three posts make a full page here, so the fixtures stay readable.
    monkeypatch.setattr(lemmy, "PAGE_SIZE", 3)
    query = {**QUERY, "limit": "3"}
    serve(httpserver, "posts_page1.json", {**query, "page": "1"})
    serve(httpserver, "posts_page2.json", {**query, "page": "2"})
    result = fetch_with("lemmy", base_url=httpserver.url_for("/"))
    httpserver.check_assertions()
    assert result.items == (REVIEW, FEDERATED, OLDER)  # the removed post is left out
    assert json.loads(result.state.cursor or "") == {
        "Acme": {"posts": "2026-11-20T09:45:12.345678+00:00"}
    }

    # Next scan: a new post, then the one we know: stop there although the page is full.
    httpserver.clear()
    serve(httpserver, "posts_incremental.json", {**query, "page": "1"})
    again = fetch_with("lemmy", base_url=httpserver.url_for("/"), state=result.state)
    httpserver.check_assertions()
    assert again.items == (NEWER,)
    assert len(httpserver.log) == 1
    assert json.loads(again.state.cursor or "") == {
        "Acme": {"posts": "2026-11-20T10:30:00.500000+00:00"}
    }


def test_cursor_compares_below_the_second(httpserver: HTTPServer) -> None:
    # Seen up to 09:45:12.000001: the review (09:45:12.345678) is newer, by microseconds.
    serve(httpserver, "posts_incremental.json", {**QUERY, "page": "1"})
    cursor = {"Acme": {"posts": "2026-11-20T09:45:12.000001+00:00"}}
    result = fetch_with(
        "lemmy", base_url=httpserver.url_for("/"), state=SourceState(cursor=json.dumps(cursor))
    )
    assert result.items == (NEWER, REVIEW)


def test_comments_too(httpserver: HTTPServer) -> None:
    serve(httpserver, "all_page1.json", {**QUERY, "type_": "All", "page": "1"})
    result = fetch_with("lemmy", base_url=httpserver.url_for("/"), include_comments=True)
    httpserver.check_assertions()
    assert result.items == (REVIEW, COMMENT)  # the deleted comment is left out
    assert json.loads(result.state.cursor or "") == {
        "Acme": {
            "comments": "2026-11-20T09:50:00.250000+00:00",
            "posts": "2026-11-20T09:45:12.345678+00:00",
        }
    }


def test_empty_and_sigils_and_token(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEMMY_JWT", "jwt-123")
    serve(
        httpserver,
        "empty.json",
        {**QUERY, "q": "acme", "page": "1"},
        headers={"Authorization": "Bearer jwt-123"},
    )
    result = fetch_with(
        "lemmy", keywords=("#acme",), base_url=httpserver.url_for("/"), token_env="LEMMY_JWT"
    )
    httpserver.check_assertions()
    assert result.items == ()
    assert result.state.cursor == "{}"


@pytest.mark.parametrize(
    ("status", "body", "content_type", "headers", "message"),
    [
        (
            429,
            '{"error": "rate_limit_error"}',
            JSON,
            {"Retry-After": "90"},
            r"HTTP 429 rate limited; retry after 90s: Lemmy says 'rate_limit_error'",
        ),
        (500, "oops", "text/plain", {}, r"^HTTP 500 internal server error$"),
        (
            400,
            '{"error": "not_logged_in"}',
            JSON,
            {},
            r"HTTP 400 bad request \(not_logged_in\): login needed; set token_env",
        ),
        (404, "<html>Not Found</html>", "text/html", {}, r"is base_url a Lemmy instance"),
        (200, "<!DOCTYPE html><html>Just a moment...</html>", "text/html", {}, r"HTML page"),
        (200, '{"posts": [', JSON, {}, r"malformed JSON from a Lemmy instance"),
        (200, '{"type_": "Posts"}', JSON, {}, r"no `posts` list"),
    ],
)
def test_errors_are_clear(
    httpserver: HTTPServer,
    status: int,
    body: str,
    content_type: str,
    headers: dict[str, str],
    message: str,
) -> None:
    httpserver.expect_request("/api/v3/search").respond_with_data(
        body, status=status, content_type=content_type, headers=headers
    )
    with pytest.raises(SourceError, match=message):
        fetch_with("lemmy", base_url=httpserver.url_for("/"))


def test_page_cap(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lemmy, "PAGE_SIZE", 3)
    httpserver.expect_request("/api/v3/search").respond_with_data(
        fixture_bytes("lemmy", "posts_page1.json"), content_type=JSON
    )
    fetch_with(
        "lemmy",
        base_url=httpserver.url_for("/"),
        settings=Settings(retries=0, timeout=5, max_pages=2),
    )
    assert len(httpserver.log) == 2


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", r"sources\[0\].base_url: missing: the Lemmy instance"),
        (
            "base_url: 'https://lemmy.world', include_comments: yes please",
            r"sources\[0\].include_comments: expected true or false",
        ),
        ("base_url: 'https://lemmy.world', token_env: [1]", r"sources\[0\].token_env: expected"),
    ],
)
def test_bad_option_is_a_config_error(source: str, message: str) -> None:
    from mentionwatch.configure import parse_config
    from mentionwatch.errors import ConfigError

    with pytest.raises(ConfigError, match=r"c.yaml:3: " + message):
        parse_config(
            f"keywords: [Acme]\nsources:\n  - {{name: l, type: lemmy, {source}}}\n",
            filename="c.yaml",
        )
