"""discourse adapter against recorded /search.json responses on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.config.model import Settings
from mentionwatch.errors import SourceError
from mentionwatch.models import RawItem, SourceState

from .conftest import fetch_with, fixture_bytes

JSON = "application/json"


def items(root: str) -> dict[str, RawItem]:
    """The posts of the fixtures; URLs are built on the forum root (the test server)."""
    return {
        "reply": RawItem(
            external_id="9619992",
            url=f"{root}/t/anyone-using-acme-for-ci-caching/106766/4",
            title="Anyone using Acme for CI caching?",
            text="\u2026we moved our build agents to Acme last week & the cache hit rate "
            "doubled. Cold builds went from 14 to 6 minutes\u2026",
            author="lee",
            published=datetime(2026, 11, 20, 10, 29, 5, tzinfo=UTC),
            counters=(("likes", 2), ("views", 1520), ("posts", 9)),
        ),
        # A first post: the topic's own URL. No views in this topic: no views counter.
        "first": RawItem(
            external_id="9619950",
            url=f"{root}/t/acme-vs-self-hosted-runners/106770",
            title="Acme vs. self-hosted runners",
            text="Has anyone compared Acme with the self-hosted options? "
            "Pricing page is unclear about seats...",
            author="mara",
            published=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
            counters=(("likes", 0), ("posts", 1)),
        ),
        "outage": RawItem(
            external_id="9618001",
            url=f"{root}/t/outage-on-19-nov/106500/12",
            title="Outage on 19 Nov?",
            text="Acme's status page said all green while our jobs were failing. "
            "Support replied within the hour though.",
            author="ops_jo",
            published=datetime(2026, 11, 19, 16, 45, 30, tzinfo=UTC),
            counters=(("likes", 5), ("views", 880), ("posts", 14)),
        ),
        # Its topic is missing from topics[]: no slug, no title, still a working URL.
        "orphan": RawItem(
            external_id="9617777",
            url=f"{root}/t/106400/3",
            title="",
            text="Tried Acme once, went back.",
            author="anon42",
            published=datetime(2026, 11, 19, 8, 10, tzinfo=UTC),
            counters=(("likes", 0),),
        ),
        "new": RawItem(
            external_id="9620100",
            url=f"{root}/t/anyone-using-acme-for-ci-caching/106766/5",
            title="Anyone using Acme for CI caching?",
            text="Update: Acme fixed the cache eviction bug, hit rate is steady now.",
            author="lee",
            published=datetime(2026, 11, 21, 7, 15, tzinfo=UTC),
            counters=(("likes", 1), ("views", 1611), ("posts", 10)),
        ),
    }


def serve(httpserver: HTTPServer, fixture: str, q: str, page: int, **match: object) -> None:
    httpserver.expect_ordered_request(
        "/forum/search.json",
        query_string={"q": q, "page": str(page)},
        **match,  # type: ignore[arg-type]
    ).respond_with_data(fixture_bytes("discourse", fixture), content_type=JSON)


def test_two_pages_then_incremental(httpserver: HTTPServer) -> None:
    # A forum in a subfolder: the root is all of base_url.
    root = httpserver.url_for("/forum")
    expected = items(root)
    serve(httpserver, "page1.json", "Acme order:latest", 1)
    serve(httpserver, "page2.json", "Acme order:latest", 2)
    result = fetch_with("discourse", base_url=root)
    httpserver.check_assertions()
    assert result.items == tuple(expected[k] for k in ("reply", "first", "outage", "orphan"))
    assert result.warnings == ()
    assert json.loads(result.state.cursor or "") == {
        "Acme": {"newest": "2026-11-20T10:29:05+00:00", "post_id": 9619992}
    }

    # Next scan: from the day before the newest post, and only what is new; the
    # known post ends the paging although the forum says there is more.
    httpserver.clear()
    serve(httpserver, "incremental.json", "Acme order:latest after:2026-11-19", 1)
    again = fetch_with("discourse", base_url=root, state=result.state)
    httpserver.check_assertions()
    assert again.items == (expected["new"],)
    assert len(httpserver.log) == 1
    assert json.loads(again.state.cursor or "") == {
        "Acme": {"newest": "2026-11-21T07:15:00+00:00", "post_id": 9620100}
    }


def test_older_forums_page_on_more_posts(httpserver: HTTPServer) -> None:
    root = httpserver.url_for("/forum")
    serve(httpserver, "old_format.json", "Acme order:latest", 1)
    serve(httpserver, "empty.json", "Acme order:latest", 2)
    result = fetch_with("discourse", base_url=root)
    httpserver.check_assertions()
    assert result.items == (items(root)["outage"],)


def test_empty_with_api_key_and_sigil(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORUM_KEY", "k-123")
    serve(
        httpserver,
        "empty.json",
        "acmehq order:latest",
        1,
        headers={"Api-Key": "k-123", "Api-Username": "system"},
    )
    result = fetch_with(
        "discourse",
        keywords=("@acmehq",),
        base_url=httpserver.url_for("/forum"),
        api_key_env="FORUM_KEY",
        api_username="system",
    )
    httpserver.check_assertions()
    assert result.items == ()
    assert result.state.cursor == "{}"


def test_forum_refusing_the_term_is_a_warning(httpserver: HTTPServer) -> None:
    serve(httpserver, "too_short.json", "AC order:latest", 1)
    result = fetch_with("discourse", keywords=("AC",), base_url=httpserver.url_for("/forum"))
    assert result.items == ()
    assert result.warnings == ("'AC': the forum says: Your search term is too short.",)


def test_resumes_from_a_stored_cursor(httpserver: HTTPServer) -> None:
    serve(httpserver, "empty.json", "Acme order:latest after:2026-10-31", 1)
    cursor = {"Acme": {"newest": "2026-11-01T00:30:00+00:00", "post_id": 9000000}}
    result = fetch_with(
        "discourse",
        base_url=httpserver.url_for("/forum"),
        state=SourceState(cursor=json.dumps(cursor)),
    )
    httpserver.check_assertions()
    assert json.loads(result.state.cursor or "") == cursor


@pytest.mark.parametrize(
    ("status", "body", "content_type", "message"),
    [
        (
            403,
            fixture_bytes("discourse", "login_required.json").decode(),
            JSON,
            r"HTTP 403 forbidden .*: the forum requires a login; .* api_key_env",
        ),
        (
            403,
            fixture_bytes("discourse", "cloudflare.html").decode(),
            "text/html",
            r"HTTP 403: blocked by a bot challenge \(Cloudflare",
        ),
        (
            200,
            fixture_bytes("discourse", "cloudflare.html").decode(),
            "text/html",
            r"HTTP 200: blocked by a bot challenge",
        ),
        (200, "<html><body>Welcome</body></html>", "text/html", r"not a Discourse forum"),
        (500, "oops", "text/plain", r"^HTTP 500 internal server error$"),
        (200, '{"posts": [{"id": ', JSON, r"malformed JSON from a Discourse forum"),
        (200, '{"topics": []}', JSON, r"no `posts` list"),
    ],
)
def test_errors_are_clear(
    httpserver: HTTPServer, status: int, body: str, content_type: str, message: str
) -> None:
    httpserver.expect_request("/forum/search.json").respond_with_data(
        body, status=status, content_type=content_type
    )
    with pytest.raises(SourceError, match=message):
        fetch_with("discourse", base_url=httpserver.url_for("/forum"))


def test_rate_limited(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/forum/search.json").respond_with_json(
        {"errors": ["You've performed this action too many times."], "error_type": "rate_limit"},
        status=429,
        headers={"Retry-After": "40"},
    )
    with pytest.raises(SourceError, match=r"^HTTP 429 rate limited; retry after 40s$"):
        fetch_with("discourse", base_url=httpserver.url_for("/forum"))


def test_refused_api_key_names_the_variable(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORUM_KEY", "revoked")
    httpserver.expect_request("/forum/search.json").respond_with_json(
        {"errors": ["You are not permitted to view the requested resource."]}, status=403
    )
    with pytest.raises(SourceError, match=r"refused the API key in \$FORUM_KEY"):
        fetch_with("discourse", base_url=httpserver.url_for("/forum"), api_key_env="FORUM_KEY")


def test_login_redirect_is_a_login_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/forum/search.json").respond_with_data(
        "", status=302, headers={"Location": "/forum/login"}
    )
    httpserver.expect_request("/forum/login").respond_with_data(
        "<html>Log in</html>", content_type="text/html"
    )
    with pytest.raises(SourceError, match=r"redirected to .*/forum/login: the forum requires"):
        fetch_with("discourse", base_url=httpserver.url_for("/forum"))


def test_page_cap(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/forum/search.json").respond_with_data(
        fixture_bytes("discourse", "page1.json"), content_type=JSON
    )
    fetch_with(
        "discourse",
        base_url=httpserver.url_for("/forum"),
        settings=Settings(retries=0, timeout=5, max_pages=3),
    )
    assert len(httpserver.log) == 3


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", r"sources\[0\].base_url: missing: the forum's root"),
        (
            "base_url: 'https://forum.example.com', api_username: system",
            r"sources\[0\].api_key_env: missing",
        ),
        (
            "base_url: 'https://forum.example.com', api_key_env: 42",
            r"sources\[0\].api_key_env: expected a non-empty string",
        ),
    ],
)
def test_bad_option_is_a_config_error(source: str, message: str) -> None:
    from mentionwatch.configure import parse_config
    from mentionwatch.errors import ConfigError

    with pytest.raises(ConfigError, match=r"c.yaml:3: " + message):
        parse_config(
            f"keywords: [Acme]\nsources:\n  - {{name: d, type: discourse, {source}}}\n",
            filename="c.yaml",
        )
