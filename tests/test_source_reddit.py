"""reddit adapter against recorded Reddit listings on 127.0.0.1."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch import __version__
from mentionwatch.config.model import Settings
from mentionwatch.errors import SourceError
from mentionwatch.models import RawItem, SourceState

from .conftest import fetch_with, fixture_bytes

SELF_POST = RawItem(
    external_id="t3_1q0abc1",
    url="https://www.reddit.com/r/gadgets/comments/1q0abc1/anyone_tried_the_acme_widget_2/",
    title="Anyone tried the Acme Widget 2?",
    text="Thinking of upgrading. Is the battery any good? specs & price?",
    author="gizmo_fan",
    published=datetime(2026, 11, 20, 9, 12, 44, tzinfo=UTC),
    counters=(("score", 42), ("comments", 17), ("subscribers", 2100000)),
)
# Deleted author and removed body: the title stays, the placeholders do not.
REMOVED = RawItem(
    external_id="t3_1q0abb9",
    url="https://www.reddit.com/r/gadgets/comments/1q0abb9/acme_support_never_answered_me/",
    title="Acme support never answered me",
    text="",
    author="",
    published=datetime(2026, 11, 20, 8, 56, 40, tzinfo=UTC),
    counters=(("score", 1), ("comments", 4), ("subscribers", 2100000)),
)
LINK_POST = RawItem(
    external_id="t3_1q09zz1",
    url="https://www.reddit.com/r/technews/comments/1q09zz1/acme_corp_the_widget_recall_what_we_know/",
    title="Acme Corp & the widget recall: what we know",
    text="",
    author="newsbot3000",
    published=datetime(2026, 11, 20, 7, 33, 20, tzinfo=UTC),
    counters=(("score", 250), ("comments", 88), ("subscribers", 120000)),
)
NEWER = RawItem(
    external_id="t3_1q0abd7",
    url="https://www.reddit.com/r/gadgets/comments/1q0abd7/acme_widget_2_battery_two_weeks_in/",
    title="Acme Widget 2 battery: two weeks in",
    text="Lasts two days. Happy so far.",
    author="gizmo_fan",
    published=datetime(2026, 11, 20, 10, 20, tzinfo=UTC),
    counters=(("score", 7), ("comments", 2), ("subscribers", 2100000)),
)
SUB_POST = RawItem(
    external_id="t3_1q0abe2",
    url="https://www.reddit.com/r/acme/comments/1q0abe2/firmware_31_is_out/",
    title="Firmware 3.1 is out",
    text="Changelog in the app.",
    author="acme_mod",
    published=datetime(2026, 11, 20, 10, 36, 40, tzinfo=UTC),
    counters=(("score", 15), ("comments", 3), ("subscribers", 5400)),
)

SEARCH = {"q": "Acme", "sort": "new", "limit": "100", "raw_json": "1"}
NEW = {"limit": "100", "raw_json": "1"}
UA = {
    "User-Agent": f"python:mentionwatch:v{__version__} (+https://github.com/mentionwatch/mentionwatch)"
}
JSON = "application/json"


def serve(httpserver: HTTPServer, path: str, fixture: str, **match: object) -> None:
    httpserver.expect_ordered_request(path, **match).respond_with_data(  # type: ignore[arg-type]
        fixture_bytes("reddit", fixture), content_type=JSON
    )


def test_two_pages_then_incremental(httpserver: HTTPServer) -> None:
    serve(httpserver, "/search.json", "search_page1.json", query_string=SEARCH, headers=UA)
    serve(
        httpserver,
        "/search.json",
        "search_page2.json",
        query_string={**SEARCH, "after": "t3_1q0abb9"},
        headers=UA,
    )
    result = fetch_with("reddit", base_url=httpserver.url_for("/"))
    httpserver.check_assertions()
    assert result.items == (SELF_POST, REMOVED, LINK_POST)
    assert result.warnings == ()
    assert json.loads(result.state.cursor or "") == {
        "search": {"Acme": {"name": "t3_1q0abc1", "created": 1795165964.0}}
    }

    # Next scan: the newest page holds one new post, then the one we know: stop there,
    # without asking for the next page although the listing has one.
    httpserver.clear()
    serve(httpserver, "/search.json", "search_incremental.json", query_string=SEARCH)
    again = fetch_with("reddit", base_url=httpserver.url_for("/"), state=result.state)
    httpserver.check_assertions()
    assert again.items == (NEWER,)
    assert len(httpserver.log) == 1
    assert json.loads(again.state.cursor or "") == {
        "search": {"Acme": {"name": "t3_1q0abd7", "created": 1795170000.0}}
    }


def test_stops_at_older_posts_even_when_the_known_one_is_gone(httpserver: HTTPServer) -> None:
    # The remembered post was deleted since: what is older than it still ends the paging.
    serve(httpserver, "/search.json", "search_incremental.json", query_string=SEARCH)
    cursor = {"search": {"Acme": {"name": "t3_gone", "created": 1795165500.0}}}
    result = fetch_with(
        "reddit", base_url=httpserver.url_for("/"), state=SourceState(cursor=json.dumps(cursor))
    )
    assert result.items == (NEWER, SELF_POST)
    assert len(httpserver.log) == 1


def test_subreddits_only(httpserver: HTTPServer) -> None:
    serve(httpserver, "/r/acme/new.json", "subreddit_new.json", query_string=NEW, headers=UA)
    serve(httpserver, "/r/gadgets/new.json", "empty.json", query_string=NEW)
    result = fetch_with(
        "reddit",
        base_url=httpserver.url_for("/"),
        search=False,
        subreddits=["r/Acme", "/r/gadgets/", "acme"],
    )
    httpserver.check_assertions()
    assert result.items == (SUB_POST,)
    assert json.loads(result.state.cursor or "") == {
        "subreddits": {"acme": {"name": "t3_1q0abe2", "created": 1795171000.0}}
    }


def test_search_and_subreddits_empty(httpserver: HTTPServer) -> None:
    serve(httpserver, "/search.json", "empty.json", query_string={**SEARCH, "q": "acmehq"})
    serve(httpserver, "/r/acme/new.json", "empty.json", query_string=NEW)
    result = fetch_with(
        "reddit", keywords=("@acmehq",), base_url=httpserver.url_for("/"), subreddits=["acme"]
    )
    httpserver.check_assertions()
    assert result.items == ()
    assert result.state.cursor == "{}"


def test_oauth_app_only(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDDIT_ID", "app-id")
    monkeypatch.setenv("REDDIT_SECRET", "app-secret")
    basic = base64.b64encode(b"app-id:app-secret").decode()
    ua = "python:mentionwatch:v1 (by /u/acme_team)"
    httpserver.expect_ordered_request(
        "/api/v1/access_token",
        method="POST",
        data="grant_type=client_credentials",
        headers={"Authorization": f"Basic {basic}", "User-Agent": ua},
    ).respond_with_data(fixture_bytes("reddit", "token.json"), content_type=JSON)
    # oauth.reddit.com: the bare path (no .json) and the bearer token.
    serve(
        httpserver,
        "/search",
        "search_page2.json",
        query_string=SEARCH,
        headers={"Authorization": "bearer eyJhbGciOiJSUzI1NiJ9.app-only-token", "User-Agent": ua},
    )
    result = fetch_with(
        "reddit",
        base_url=httpserver.url_for("/"),
        client_id_env="REDDIT_ID",
        client_secret_env="REDDIT_SECRET",
        user_agent=ua,
    )
    httpserver.check_assertions()
    assert result.items == (LINK_POST,)


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (401, '{"message": "Unauthorized", "error": 401}', r"refused the app credentials"),
        (200, '{"error": "unsupported_grant_type"}', r"no access token \(unsupported_grant_type"),
        (200, "<html>blocked</html>", r"not JSON"),
    ],
)
def test_oauth_token_errors(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, status: int, body: str, message: str
) -> None:
    monkeypatch.setenv("REDDIT_ID", "app-id")
    monkeypatch.setenv("REDDIT_SECRET", "wrong")
    httpserver.expect_request("/api/v1/access_token", method="POST").respond_with_data(
        body, status=status, content_type=JSON
    )
    with pytest.raises(SourceError, match=message):
        fetch_with(
            "reddit",
            base_url=httpserver.url_for("/"),
            client_id_env="REDDIT_ID",
            client_secret_env="REDDIT_SECRET",
        )
    assert len(httpserver.log) == 1  # no search without a token


def test_oauth_secret_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDDIT_ID", "app-id")
    monkeypatch.delenv("REDDIT_SECRET", raising=False)
    with pytest.raises(SourceError, match="environment variable REDDIT_SECRET is not set"):
        fetch_with(
            "reddit",
            base_url="http://127.0.0.1:9/",
            client_id_env="REDDIT_ID",
            client_secret_env="REDDIT_SECRET",
        )


@pytest.mark.parametrize(
    ("status", "body", "content_type", "headers", "message"),
    [
        (
            429,
            '{"message": "Too Many Requests", "error": 429}',
            JSON,
            {"Retry-After": "120"},
            r"HTTP 429 rate limited; retry after 120s",
        ),
        (500, "oops", "text/plain", {}, r"HTTP 500"),
        (
            403,
            fixture_bytes("reddit", "blocked.html").decode(),
            "text/html",
            {},
            r"HTTP 403 forbidden .*set client_id_env and client_secret_env",
        ),
        (
            200,
            fixture_bytes("reddit", "blocked.html").decode(),
            "text/html; charset=utf-8",
            {},
            r"got an HTML page where JSON was expected",
        ),
        (200, '{"kind": "Listing", "data": {"chil', JSON, {}, r"malformed JSON"),
        (200, '{"kind": "Listing", "data": {}}', JSON, {}, r"not a listing"),
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
    httpserver.expect_request("/search.json").respond_with_data(
        body, status=status, content_type=content_type, headers=headers
    )
    with pytest.raises(SourceError, match=message):
        fetch_with("reddit", base_url=httpserver.url_for("/"))


def test_unknown_subreddit_redirect_is_an_error(httpserver: HTTPServer) -> None:
    # Reddit sends a missing subreddit to subreddit search instead of a 404.
    httpserver.expect_request("/r/nosuchsub/new.json").respond_with_data(
        "", status=302, headers={"Location": "/subreddits/search.json?q=nosuchsub"}
    )
    httpserver.expect_request("/subreddits/search.json").respond_with_data(
        fixture_bytes("reddit", "empty.json"), content_type=JSON
    )
    with pytest.raises(SourceError, match=r"r/nosuchsub does not exist"):
        fetch_with(
            "reddit", base_url=httpserver.url_for("/"), search=False, subreddits=["nosuchsub"]
        )


def test_rate_limit_budget_stops_paging(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/search.json").respond_with_data(
        fixture_bytes("reddit", "search_page1.json"),
        content_type=JSON,
        headers={"X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Reset": "312"},
    )
    result = fetch_with("reddit", base_url=httpserver.url_for("/"), subreddits=["acme"])
    assert len(httpserver.log) == 1  # neither page 2 nor the subreddit
    assert result.items == (SELF_POST, REMOVED)
    assert result.warnings == (
        "Reddit rate limit used up (resets in 312s): stopped early, "
        "the rest waits for the next scan",
    )


def test_page_cap(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/search.json").respond_with_data(
        fixture_bytes("reddit", "search_page1.json"), content_type=JSON
    )
    fetch_with(
        "reddit",
        base_url=httpserver.url_for("/"),
        settings=Settings(retries=0, timeout=5, max_pages=1),
    )
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("subreddits: gadgets", r"sources\[0\].subreddits: expected a list of subreddit names"),
        ("subreddits: [r/has space]", r"sources\[0\].subreddits: expected a list"),
        ("client_id_env: RID", r"sources\[0\].client_secret_env: missing"),
        ("search: false", r"sources\[0\].search: nothing to fetch"),
        ("user_agent: ''", r"sources\[0\].user_agent: expected a non-empty string"),
    ],
)
def test_bad_option_is_a_config_error(source: str, message: str) -> None:
    from mentionwatch.configure import parse_config
    from mentionwatch.errors import ConfigError

    with pytest.raises(ConfigError, match=r"c.yaml:3: " + message):
        parse_config(
            f"keywords: [Acme]\nsources:\n  - {{name: r, type: reddit, {source}}}\n",
            filename="c.yaml",
        )
