"""bluesky adapter against recorded XRPC responses (login and searchPosts) on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.config.model import Settings
from mentionwatch.errors import SourceError
from mentionwatch.models import FetchResult, RawItem, SourceState
from mentionwatch.sources.bluesky import post_to_item

from .conftest import fetch_with, fixture_bytes

DANA = RawItem(
    external_id="at://did:plc:4kx2w3abcdefg/app.bsky.feed.post/3mdq7vkt2xc2a",
    url="https://bsky.app/profile/did:plc:4kx2w3abcdefg/post/3mdq7vkt2xc2a",
    title="",
    text="Acme support fixed my order in 10 minutes. Impressed.\nhttps://acme.example/orders",
    author="dana.bsky.social",
    published=datetime(2026, 11, 21, 9, 31, 5, tzinfo=UTC),
    lang="en",
    counters=(("likes", 9), ("reposts", 2), ("replies", 0), ("quotes", 1)),
)
# createdAt claims 2031: the server's indexedAt is used instead. No langs, no quoteCount.
DEALS = RawItem(
    external_id="at://did:plc:q8zfuturefuture/app.bsky.feed.post/3mdq7abcxyz2b",
    url="https://bsky.app/profile/did:plc:q8zfuturefuture/post/3mdq7abcxyz2b",
    title="",
    text="ACME widgets 40% off this week only!!",
    author="deals.example.com",
    published=datetime(2026, 11, 21, 9, 2, 44, tzinfo=UTC),
    lang=None,
    counters=(("likes", 1), ("reposts", 0), ("replies", 0)),
)
# No createdAt at all: indexedAt. The first of several langs.
JOOST = RawItem(
    external_id="at://did:plc:n1ederland5x/app.bsky.feed.post/3mdq6zz2k4s2c",
    url="https://bsky.app/profile/did:plc:n1ederland5x/post/3mdq6zz2k4s2c",
    title="",
    text="Mijn Acme-bestelling is alweer te laat \U0001f624",
    author="joost.nl",
    published=datetime(2026, 11, 21, 8, 47, 10, tzinfo=UTC),
    lang="nl",
    counters=(("likes", 0), ("reposts", 0), ("replies", 3), ("quotes", 0)),
)
# An unreadable createdAt: indexedAt. An empty langs list: no language.
ACMEHQ = RawItem(
    external_id="at://did:plc:acmehqofficial/app.bsky.feed.post/3mdq5k7pq3m2d",
    url="https://bsky.app/profile/did:plc:acmehqofficial/post/3mdq5k7pq3m2d",
    title="",
    text="We're aware of delays on Acme orders in the EU and are on it.",
    author="acme.example",
    published=datetime(2026, 11, 21, 7, 58, 30, tzinfo=UTC),
    lang=None,
    counters=(("likes", 33), ("reposts", 4), ("replies", 12), ("quotes", 2)),
)
JOOST_UPDATE = RawItem(
    external_id="at://did:plc:n1ederland5x/app.bsky.feed.post/3mdqcc2m6vs2e",
    url="https://bsky.app/profile/did:plc:n1ederland5x/post/3mdqcc2m6vs2e",
    title="",
    text="Update: Acme heeft het opgelost. Netjes!",
    author="joost.nl",
    published=datetime(2026, 11, 21, 11, 4, 59, tzinfo=UTC),
    lang="nl",
    counters=(("likes", 4), ("reposts", 0), ("replies", 0), ("quotes", 0)),
)

SEARCH = "/xrpc/app.bsky.feed.searchPosts"
LOGIN = "/xrpc/com.atproto.server.createSession"
QUERY = {"q": "Acme", "sort": "latest", "limit": "100"}
HANDLE = "acme-watch.bsky.social"
PASSWORD = "abcd-efgh-ijkl-mnop"
ACCESS = "eyJhbGciOiJFUzI1NksifQ.access-session-token.c2lnbmF0dXJl"
BEARER = {"Authorization": f"Bearer {ACCESS}"}
LOGIN_OPTIONS = {"handle_env": "BSKY_HANDLE", "app_password_env": "BSKY_APP_PASSWORD"}
JSON = "application/json"


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BSKY_HANDLE", HANDLE)
    monkeypatch.setenv("BSKY_APP_PASSWORD", PASSWORD)


def expect_login(httpserver: HTTPServer, prefix: str = "") -> None:
    httpserver.expect_ordered_request(
        prefix + LOGIN, method="POST", json={"identifier": HANDLE, "password": PASSWORD}
    ).respond_with_data(fixture_bytes("bluesky", "session.json"), content_type=JSON)


def expect_search(
    httpserver: HTTPServer,
    body: str,
    *,
    prefix: str = "",
    headers: dict[str, str] | None = None,
    **params: str,
) -> None:
    httpserver.expect_ordered_request(
        prefix + SEARCH, method="GET", query_string={**QUERY, **params}, headers=headers
    ).respond_with_data(fixture_bytes("bluesky", body), content_type=JSON)


def assert_no_secrets(result: FetchResult) -> None:
    kept = (result.state.cursor or "") + "".join(result.warnings)
    for secret in (PASSWORD, ACCESS, "refresh-session-token"):
        assert secret not in kept


def test_logged_in_two_pages_then_incremental(httpserver: HTTPServer, credentials: None) -> None:
    expect_login(httpserver)
    expect_search(httpserver, "page1.json", headers=BEARER)
    expect_search(httpserver, "page2.json", headers=BEARER, cursor="3")
    result = fetch_with("bluesky", base_url=httpserver.url_for("/"), **LOGIN_OPTIONS)
    httpserver.check_assertions()
    # The post seen on both pages once; the one without a uri is left out.
    assert result.items == (DANA, DEALS, JOOST, ACMEHQ)
    assert json.loads(result.state.cursor or "") == {"Acme": "2026-11-21T09:31:06Z"}
    assert result.warnings == ()
    assert_no_secrets(result)

    # Next scan: only posts since the newest indexedAt seen.
    httpserver.clear()
    expect_login(httpserver)
    expect_search(httpserver, "newer.json", headers=BEARER, since="2026-11-21T09:31:06Z")
    again = fetch_with(
        "bluesky", base_url=httpserver.url_for("/"), state=result.state, **LOGIN_OPTIONS
    )
    httpserver.check_assertions()
    assert again.items == (JOOST_UPDATE,)
    assert json.loads(again.state.cursor or "") == {"Acme": "2026-11-21T11:05:00Z"}


def test_anonymous_reads_one_page_without_a_cursor(httpserver: HTTPServer) -> None:
    expect_search(httpserver, "page1.json")
    result = fetch_with("bluesky", base_url=httpserver.url_for("/"))
    httpserver.check_assertions()
    assert len(httpserver.log) == 1  # the API would refuse the anonymous cursor request
    request = httpserver.log[0][0]
    assert "Authorization" not in request.headers
    assert result.items == (DANA, DEALS, JOOST)
    assert json.loads(result.state.cursor or "") == {"Acme": "2026-11-21T09:31:06Z"}
    assert result.warnings == ()


def test_anonymous_full_page_warns_that_more_needs_login(httpserver: HTTPServer) -> None:
    post: dict[str, Any] = json.loads(fixture_bytes("bluesky", "page1.json"))["posts"][0]
    posts = [
        {**post, "uri": f"at://did:plc:4kx2w3abcdefg/app.bsky.feed.post/3mdq7vkt2x{n:03d}"}
        for n in range(100)
    ]
    httpserver.expect_request(SEARCH, query_string=QUERY).respond_with_json(
        {"posts": posts, "cursor": "100"}
    )
    result = fetch_with("bluesky", base_url=httpserver.url_for("/"))
    assert len(httpserver.log) == 1
    assert len(result.items) == 100
    assert result.warnings == (
        "search 'Acme': only the newest 100 posts; Bluesky pages further only for "
        "logged-in searches (handle_env, app_password_env)",
    )


def test_empty_result(httpserver: HTTPServer) -> None:
    expect_search(httpserver, "empty.json")
    result = fetch_with("bluesky", base_url=httpserver.url_for("/"))
    httpserver.check_assertions()
    assert result.items == ()
    assert result.state.cursor == "{}"


def test_nothing_new_keeps_the_cursor(httpserver: HTTPServer) -> None:
    expect_search(httpserver, "empty.json", since="2026-11-21T09:31:06Z")
    state = SourceState(cursor='{"Acme": "2026-11-21T09:31:06Z"}')
    result = fetch_with("bluesky", base_url=httpserver.url_for("/"), state=state)
    httpserver.check_assertions()
    assert result.items == ()
    assert result.state.cursor == '{"Acme":"2026-11-21T09:31:06Z"}'


def test_each_term_once_without_its_sigil(httpserver: HTTPServer) -> None:
    for query in ("Acme", "AcmeHQ"):
        httpserver.expect_ordered_request(
            SEARCH, query_string={**QUERY, "q": query}
        ).respond_with_data(fixture_bytes("bluesky", "empty.json"), content_type=JSON)
    fetch_with("bluesky", keywords=("Acme", "#acme", "@AcmeHQ"), base_url=httpserver.url_for("/"))
    httpserver.check_assertions()
    assert len(httpserver.log) == 2  # "#acme" searches as "Acme" does


def test_pds_url_takes_login_and_search_away_from_base_url(
    httpserver: HTTPServer, credentials: None
) -> None:
    expect_login(httpserver, prefix="/pds")
    expect_search(httpserver, "empty.json", prefix="/pds", headers=BEARER)
    fetch_with(
        "bluesky",
        base_url=httpserver.url_for("/appview"),
        pds_url=httpserver.url_for("/pds"),
        **LOGIN_OPTIONS,
    )
    httpserver.check_assertions()
    assert len(httpserver.log) == 2


def test_page_cap_first_scan_is_quiet_later_scan_warns(
    httpserver: HTTPServer, credentials: None
) -> None:
    capped = Settings(retries=0, timeout=5, max_pages=1)
    expect_login(httpserver)
    expect_search(httpserver, "page1.json", headers=BEARER)
    first = fetch_with(
        "bluesky", base_url=httpserver.url_for("/"), settings=capped, **LOGIN_OPTIONS
    )
    httpserver.check_assertions()
    assert first.items == (DANA, DEALS, JOOST)
    assert first.warnings == ()  # a first scan is bounded on purpose

    httpserver.clear()
    expect_login(httpserver)
    expect_search(httpserver, "page1.json", headers=BEARER, since="2026-11-21T08:00:00Z")
    later = fetch_with(
        "bluesky",
        base_url=httpserver.url_for("/"),
        settings=capped,
        state=SourceState(cursor='{"Acme": "2026-11-21T08:00:00Z"}'),
        **LOGIN_OPTIONS,
    )
    httpserver.check_assertions()
    assert later.warnings == (
        "search 'Acme': more than 1 pages of new posts since the last scan; older ones "
        "were skipped (scan more often or raise settings.max_pages)",
    )


def test_spent_rate_limit_stops_with_a_warning(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH, query_string=QUERY).respond_with_data(
        fixture_bytes("bluesky", "page1.json"),
        content_type=JSON,
        headers={"ratelimit-limit": "3000", "ratelimit-remaining": "0"},
    )
    result = fetch_with("bluesky", keywords=("Acme", "AcmeHQ"), base_url=httpserver.url_for("/"))
    assert len(httpserver.log) == 1  # "AcmeHQ" waits for the next scan
    assert result.items == (DANA, DEALS, JOOST)
    assert json.loads(result.state.cursor or "") == {"Acme": "2026-11-21T09:31:06Z"}
    assert result.warnings == (
        "rate limit reached (ratelimit-remaining: 0): the rest waits for the next scan",
    )


LOGIN_NEEDED = (
    r"search 'Acme': HTTP 40[13] .*; Bluesky requires login for search: set handle_env "
    r"and app_password_env"
)


@pytest.mark.parametrize(
    ("status", "body", "content_type", "headers", "message"),
    [
        (403, fixture_bytes("bluesky", "forbidden.html"), "text/html", {}, LOGIN_NEEDED),
        (401, fixture_bytes("bluesky", "auth_missing.json"), JSON, {}, LOGIN_NEEDED),
        (
            429,
            b'{"error": "RateLimitExceeded"}',
            JSON,
            {"Retry-After": "120"},
            r"search 'Acme': HTTP 429 rate limited; retry after 120s",
        ),
        (502, b"upstream gone", "text/plain", {}, r"search 'Acme': HTTP 502"),
        (200, fixture_bytes("bluesky", "forbidden.html"), "text/html", {}, "got an HTML page"),
        (200, b'{"posts": [{"uri": ', JSON, {}, "malformed JSON"),
        (200, b'{"error": "BadQueryString"}', JSON, {}, "unexpected response: no `posts` list"),
    ],
    ids=["403-html", "401-auth-missing", "429", "502", "html-200", "bad-json", "no-posts"],
)
def test_search_errors_are_clear(
    httpserver: HTTPServer,
    status: int,
    body: bytes,
    content_type: str,
    headers: dict[str, str],
    message: str,
) -> None:
    httpserver.expect_request(SEARCH).respond_with_data(
        body, status=status, content_type=content_type, headers=headers
    )
    with pytest.raises(SourceError, match=message):
        fetch_with("bluesky", base_url=httpserver.url_for("/"))


def test_refused_session_names_the_variables(httpserver: HTTPServer, credentials: None) -> None:
    expect_login(httpserver)
    httpserver.expect_ordered_request(SEARCH, headers=BEARER).respond_with_data(
        fixture_bytes("bluesky", "expired_token.json"), status=401, content_type=JSON
    )
    with pytest.raises(SourceError) as info:
        fetch_with("bluesky", base_url=httpserver.url_for("/"), **LOGIN_OPTIONS)
    assert str(info.value) == (
        "search 'Acme': HTTP 401 unauthorised (the source needs credentials); Bluesky refused "
        "the session of $BSKY_HANDLE / $BSKY_APP_PASSWORD: check the app password"
    )


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            401,
            fixture_bytes("bluesky", "login_refused.json"),
            r"refused \(HTTP 401 AuthenticationRequired\): check the handle and the app "
            r"password in \$BSKY_HANDLE / \$BSKY_APP_PASSWORD",
        ),
        (
            401,
            fixture_bytes("bluesky", "login_factor.json"),
            r"the account asks for an e-mail code: put an app password .* in \$BSKY_APP_PASSWORD",
        ),
        (429, b'{"error": "RateLimitExceeded"}', r"HTTP 429 rate limited .*30 logins"),
        (500, b"", r"HTTP 500"),
        (200, b"<html>maintenance</html>", r"unexpected answer \(no session token\)"),
    ],
    ids=["refused", "email-code", "rate-limited", "server-error", "not-a-pds"],
)
def test_login_errors_are_clear_and_keep_secrets(
    httpserver: HTTPServer, credentials: None, status: int, body: bytes, message: str
) -> None:
    httpserver.expect_request(LOGIN, method="POST").respond_with_data(
        body, status=status, content_type=JSON
    )
    with pytest.raises(SourceError, match=rf"^Bluesky login at http://.*: {message}") as info:
        fetch_with("bluesky", base_url=httpserver.url_for("/"), **LOGIN_OPTIONS)
    assert PASSWORD not in str(info.value)
    assert len(httpserver.log) == 1  # no search without a session, no retried login


def test_login_redirect_is_not_followed(httpserver: HTTPServer, credentials: None) -> None:
    # Following a 307 would post the password to wherever it points.
    httpserver.expect_request(LOGIN, method="POST").respond_with_data(
        "", status=307, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    with pytest.raises(SourceError, match="HTTP 307"):
        fetch_with("bluesky", base_url=httpserver.url_for("/"), **LOGIN_OPTIONS)
    assert len(httpserver.log) == 1


def test_login_variable_named_but_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BSKY_HANDLE", HANDLE)
    monkeypatch.delenv("BSKY_APP_PASSWORD", raising=False)
    with pytest.raises(SourceError, match="environment variable BSKY_APP_PASSWORD is not set"):
        fetch_with("bluesky", base_url="http://127.0.0.1:9", **LOGIN_OPTIONS)


def test_created_at_in_the_future_without_indexed_at_is_dropped() -> None:
    post = {
        "uri": "at://did:plc:abc/app.bsky.feed.post/3xyz",
        "author": {"handle": "a.example"},
        "record": {"text": "Acme", "createdAt": "2999-01-01T00:00:00Z"},
    }
    assert post_to_item(post) == RawItem(
        external_id="at://did:plc:abc/app.bsky.feed.post/3xyz",
        # Without author.did, the DID from the uri: a link that survives handle changes.
        url="https://bsky.app/profile/did:plc:abc/post/3xyz",
        title="",
        text="Acme",
        author="a.example",
        published=None,
    )
    assert post_to_item({**post, "uri": "at://did:plc:abc/app.bsky.feed.post"}) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("handle_env: BSKY_HANDLE", r"sources\[0\].app_password_env: missing: handle_env needs"),
        (
            "handle_env: BSKY_HANDLE, app_password_env: abcd-efgh-ijkl-mnop",
            r"sources\[0\].app_password_env: expected the NAME of an environment variable",
        ),
        ("pds_url: bsky.social", r"sources\[0\].pds_url: expected an http:// or https:// URL"),
    ],
)
def test_bad_option_is_a_config_error(options: str, message: str) -> None:
    from mentionwatch.configure import parse_config
    from mentionwatch.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"c.yaml:3: {message}") as info:
        parse_config(
            f"keywords: [Acme]\nsources:\n  - {{name: b, type: bluesky, {options}}}\n",
            filename="c.yaml",
        )
    assert PASSWORD not in str(info.value)  # a pasted password is never echoed
