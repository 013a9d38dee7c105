"""github adapter against recorded /search/issues responses on 127.0.0.1."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.config.model import Settings
from mentionwatch.errors import SourceError
from mentionwatch.models import RawItem, SourceState

from .conftest import fetch_with, fixture_bytes

PATH = "/search/issues"
BASE_QUERY = {"sort": "created", "order": "desc", "per_page": "100"}
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
JSON = "application/json; charset=utf-8"
# Real Link headers point at api.github.com: the adapter follows the page number, not
# the URL, so that base_url keeps every request on the test server.
NEXT = (
    "<https://api.github.com/search/issues?q=Acme+is%3Aissue&sort=created&order=desc"
    '&per_page=100&page=2>; rel="next", <https://api.github.com/search/issues?q=Acme+is%3Aissue'
    '&sort=created&order=desc&per_page=100&page=2>; rel="last"'
)

WIDGET = RawItem(
    external_id="3011223344",
    url="https://github.com/octo/widgets/issues/412",
    title="Support Acme Widget 2 protocol",
    text="### What\n\nThe new **Acme Widget 2** uses a different handshake:\n\n```\n"
    "ACME/2 HELLO <token>\n```\n\nCan we support it?",
    author="maria-dev",
    published=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
    counters=(("comments", 3), ("reactions", 5)),
)
CRASH = RawItem(  # body null, opened by a since-deleted account ("ghost")
    external_id="3011220001",
    url="https://github.com/acme/acme-cli/issues/88",
    title="Crash on `acme login` behind a proxy",
    text="",
    author="ghost",
    published=datetime(2026, 11, 20, 9, 30, 15, tzinfo=UTC),
    counters=(("comments", 0), ("reactions", 0)),
)
MIGRATE = RawItem(  # no user, no reactions in the payload
    external_id="3010000555",
    url="https://github.com/lena/dotfiles/issues/3",
    title="Migrate off Acme",
    text="Acme's pricing changed again. Time to move.",
    author="",
    published=datetime(2026, 11, 19, 22, 5, 40, tzinfo=UTC),
    counters=(("comments", 1),),
)
EXPORTER = RawItem(
    external_id="3011230000",
    url="https://github.com/octo/exporters/pull/77",
    title="Add an Acme exporter",
    text="Exports Acme metrics in Prometheus format.\n\nCloses #12",
    author="k8s-bot[bot]",
    published=datetime(2026, 11, 20, 11, 15, tzinfo=UTC),
    counters=(("comments", 12), ("reactions", 9)),
)


def root(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def query(q: str, page: int = 1) -> dict[str, str]:
    return {"q": q, **BASE_QUERY, "page": str(page)}


def test_issues_and_prs_two_pages_then_incremental(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request(
        PATH, query_string=query("Acme is:issue"), headers=API_HEADERS
    ).respond_with_data(
        fixture_bytes("github", "issues_page1.json"), content_type=JSON, headers={"Link": NEXT}
    )
    httpserver.expect_ordered_request(
        PATH, query_string=query("Acme is:issue", 2), headers=API_HEADERS
    ).respond_with_data(fixture_bytes("github", "issues_page2.json"), content_type=JSON)
    httpserver.expect_ordered_request(
        PATH, query_string=query("Acme is:pr"), headers=API_HEADERS
    ).respond_with_data(fixture_bytes("github", "prs_page1.json"), content_type=JSON)

    result = fetch_with("github", base_url=root(httpserver))
    httpserver.check_assertions()
    assert result.items == (WIDGET, CRASH, MIGRATE, EXPORTER)
    assert result.warnings == ()
    assert json.loads(result.state.cursor or "") == {
        "Acme is:issue": "2026-11-20T10:00:00Z",
        "Acme is:pr": "2026-11-20T11:15:00Z",
    }
    assert all("Authorization" not in request.headers for request, _ in httpserver.log)

    # Next scan: only what was created from the newest item's second on.
    httpserver.clear()
    for q in (
        "Acme is:issue created:>=2026-11-20T10:00:00Z",
        "Acme is:pr created:>=2026-11-20T11:15:00Z",
    ):
        httpserver.expect_ordered_request(PATH, query_string=query(q)).respond_with_data(
            fixture_bytes("github", "empty.json"), content_type=JSON
        )
    again = fetch_with("github", base_url=root(httpserver), state=result.state)
    httpserver.check_assertions()
    assert again.items == ()
    assert again.state.cursor == result.state.cursor  # nothing newer: cursor stays


def test_token_kinds_qualifiers_and_phrases(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GH_TOKEN", "ghp_test123")
    for q in ('"Acme Corp" is:pr org:acme in:title,body', "acmehq is:pr org:acme in:title,body"):
        httpserver.expect_ordered_request(
            PATH,
            query_string=query(q),
            headers={**API_HEADERS, "Authorization": "Bearer ghp_test123"},
        ).respond_with_data(fixture_bytes("github", "empty.json"), content_type=JSON)
    result = fetch_with(
        "github",
        keywords=("Acme Corp", "@acmehq", "#AcmeHQ"),
        base_url=root(httpserver),
        token_env="GH_TOKEN",
        kinds=["pr"],
        qualifiers=["org:acme", "in:title,body"],
    )
    httpserver.check_assertions()
    assert len(httpserver.log) == 2  # "#AcmeHQ" asks the same as "@acmehq"
    assert result.items == ()


def test_rate_limit_used_up_is_a_clear_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        fixture_bytes("github", "rate_limited.json"),
        status=403,
        content_type=JSON,
        headers={
            "X-RateLimit-Limit": "10",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "1795168860",
            "X-RateLimit-Resource": "search",
        },
    )
    with pytest.raises(SourceError) as caught:
        fetch_with("github", base_url=root(httpserver))
    assert str(caught.value) == (
        "GitHub search rate limit used up (HTTP 403); it resets at 2026-11-20T10:01:00Z "
        "(in 0s); set token_env to a variable holding a GitHub token for 30 searches a minute"
    )


def test_rate_limited_midway_keeps_what_was_found(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request(PATH, query_string=query("Acme is:issue")).respond_with_data(
        fixture_bytes("github", "issues_page2.json"), content_type=JSON
    )
    httpserver.expect_ordered_request(PATH, query_string=query("Acme is:pr")).respond_with_data(
        fixture_bytes("github", "secondary_limit.json"),
        status=403,
        content_type=JSON,
        headers={"Retry-After": "120"},
    )
    result = fetch_with("github", base_url=root(httpserver))
    httpserver.check_assertions()
    assert result.items == (MIGRATE,)
    assert result.warnings == (
        "HTTP 403 forbidden (blocked or needs credentials); retry after 120s: You have "
        "exceeded a secondary rate limit. Please wait a few minutes before you try again. "
        "(while searching 'Acme is:pr'): stopped searching",
    )
    # The issue search finished and advances; the PR search is asked afresh next time.
    assert json.loads(result.state.cursor or "") == {"Acme is:issue": "2026-11-19T22:05:40Z"}


def test_stops_before_asking_when_no_request_is_left(httpserver: HTTPServer) -> None:
    reset = int(time.time()) + 45
    httpserver.expect_request(
        PATH, query_string=query("Acme is:issue created:>=2026-11-01T00:00:00Z")
    ).respond_with_data(
        fixture_bytes("github", "issues_page1.json"),
        content_type=JSON,
        headers={"Link": NEXT, "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    result = fetch_with(
        "github",
        base_url=root(httpserver),
        state=SourceState(cursor='{"Acme is:issue": "2026-11-01T00:00:00Z"}'),
    )
    assert len(httpserver.log) == 1  # neither page 2 nor the PR search was asked for
    assert result.items == (WIDGET, CRASH)
    reset_at = datetime.fromtimestamp(reset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result.warnings == (
        f"no GitHub search requests left until {reset_at}: stopped searching; set token_env "
        "to a variable holding a GitHub token for 30 searches a minute",
        "not searched this time: 'Acme is:pr'",
    )
    # Paging was cut short: the old cursor stays, so nothing in between is skipped.
    assert json.loads(result.state.cursor or "") == {"Acme is:issue": "2026-11-01T00:00:00Z"}


def test_incomplete_results_are_a_warning(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        fixture_bytes("github", "incomplete.json"), content_type=JSON
    )
    result = fetch_with("github", base_url=root(httpserver), kinds="issue")
    assert result.items == ()
    assert result.warnings == (
        "GitHub's search timed out for 'Acme is:issue' (page 1): results may be incomplete",
    )


def test_never_asks_past_the_first_thousand_results(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        fixture_bytes("github", "issues_page1.json"), content_type=JSON, headers={"Link": NEXT}
    )
    result = fetch_with(
        "github",
        base_url=root(httpserver),
        kinds=["issue"],
        settings=Settings(retries=0, timeout=5, max_pages=50),
        state=SourceState(cursor='{"Acme is:issue": "2026-11-01T00:00:00Z"}'),
    )
    pages = [request.args["page"] for request, _ in httpserver.log]
    assert pages == [str(n) for n in range(1, 11)]
    assert result.warnings == (
        "more than 1,000 new results for 'Acme is:issue': older ones were skipped "
        "(GitHub returns at most 1,000 results per query)",
    )
    assert json.loads(result.state.cursor or "") == {"Acme is:issue": "2026-11-20T10:00:00Z"}


def test_page_cap_is_quiet_on_a_first_run(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        fixture_bytes("github", "issues_page1.json"), content_type=JSON, headers={"Link": NEXT}
    )
    result = fetch_with(
        "github",
        base_url=root(httpserver),
        kinds=["issue"],
        settings=Settings(retries=0, timeout=5, max_pages=1),
    )
    assert len(httpserver.log) == 1
    assert result.items == (WIDGET, CRASH)
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("status", "name", "body", "content_type", "headers", "token", "message"),
    [
        (
            401,
            "bad_credentials.json",
            "",
            JSON,
            {},
            True,
            r"^HTTP 401 unauthorised \(the source needs credentials\): Bad credentials; "
            r"check the GitHub token in \$GH_TOKEN",
        ),
        (
            403,
            None,
            '{"message": "Resource protected by organization SAML enforcement."}',
            JSON,
            {},
            False,
            r"SAML enforcement\.; set token_env to a variable holding a GitHub token$",
        ),
        (
            422,
            "validation_failed.json",
            "",
            JSON,
            {},
            False,
            r"^GitHub rejected the search 'Acme is:issue': Validation Failed: The listed users "
            r"and repositories cannot be searched .* \(check qualifiers\)$",
        ),
        (
            429,
            None,
            "slow down",
            "text/plain",
            {"Retry-After": "120"},
            False,
            r"^HTTP 429 rate limited; retry after 120s$",
        ),
        (500, None, "oops", "text/plain", {}, False, r"^HTTP 500"),
        (
            200,
            None,
            "<!DOCTYPE html><html><body>Unicorn!</body></html>",
            "text/html",
            {},
            False,
            "got an HTML page",
        ),
        (200, None, '{"items": [', JSON, {}, False, "malformed JSON"),
        (200, None, '{"total_count": 0}', JSON, {}, False, "no `items` list"),
    ],
)
def test_errors_are_clear(
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    name: str | None,
    body: str,
    content_type: str,
    headers: dict[str, str],
    token: bool,
    message: str,
) -> None:
    monkeypatch.setenv("GH_TOKEN", "ghp_expired")
    data = fixture_bytes("github", name) if name else body.encode()
    httpserver.expect_request(PATH).respond_with_data(
        data, status=status, content_type=content_type, headers=headers
    )
    options = {"token_env": "GH_TOKEN"} if token else {}
    with pytest.raises(SourceError, match=message):
        fetch_with("github", base_url=root(httpserver), **options)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("kinds: [issue, discussion]", r"c.yaml:3: sources\[0\].kinds: expected a list of"),
        ("kinds: []", r"c.yaml:3: sources\[0\].kinds: expected a list of: issue, pr"),
        ("qualifiers: {org: acme}", r"c.yaml:3: sources\[0\].qualifiers: expected search"),
        ("token_env: 12", r"c.yaml:3: sources\[0\].token_env: expected the name of an env"),
    ],
)
def test_bad_option_is_a_config_error(option: str, message: str) -> None:
    from mentionwatch.configure import parse_config
    from mentionwatch.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        parse_config(
            f"keywords: [Acme]\nsources:\n  - {{name: gh, type: github, {option}}}\n",
            filename="c.yaml",
        )
