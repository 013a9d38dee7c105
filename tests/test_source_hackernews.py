"""hackernews adapter against recorded Algolia responses on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.errors import SourceError
from mentionwatch.models import RawItem, SourceState

from .conftest import fetch_with, fixture_bytes

COMMENT = RawItem(
    external_id="44212345",
    url="https://news.ycombinator.com/item?id=44212345",
    title="Show HN: Acme Widget 2",
    text="We switched to Acme last month \u2014 the CLI is great.\nPricing is steep though.",
    author="jdoe",
    published=datetime(2026, 11, 20, 9, 12, 44, tzinfo=UTC),
    counters=(),
)
STORY = RawItem(
    external_id="44210001",
    url="https://news.ycombinator.com/item?id=44210001",
    title="Show HN: Acme Widget 2",
    text="",
    author="acmefan",
    published=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
    counters=(("points", 128), ("comments", 42)),
)
ASK = RawItem(
    external_id="44200000",
    url="https://news.ycombinator.com/item?id=44200000",
    title="Ask HN: Is Acme's support any good?",
    text='Thinking of buying. Opinions on "Acme"?',
    author="skeptic",
    published=datetime(2026, 11, 19, 21, 30, tzinfo=UTC),
    counters=(("points", 5), ("comments", 3)),
)

BASE_QUERY = {"query": "Acme", "tags": "(story,comment)", "hitsPerPage": "100"}


def test_two_pages_then_incremental(httpserver: HTTPServer) -> None:
    for page in (0, 1):
        httpserver.expect_ordered_request(
            "/api/v1/search_by_date", query_string={**BASE_QUERY, "page": str(page)}
        ).respond_with_data(
            fixture_bytes("hackernews", f"page{page}.json"), content_type="application/json"
        )
    result = fetch_with("hackernews", base_url=httpserver.url_for("/"))
    assert result.items == (COMMENT, STORY, ASK)
    assert json.loads(result.state.cursor or "") == {"Acme": 1795165964}
    httpserver.check_assertions()

    # Next scan: only what was created since the newest item seen.
    httpserver.clear()
    httpserver.expect_request(
        "/api/v1/search_by_date",
        query_string={**BASE_QUERY, "page": "0", "numericFilters": "created_at_i>=1795165964"},
    ).respond_with_data(fixture_bytes("hackernews", "empty.json"), content_type="application/json")
    again = fetch_with("hackernews", base_url=httpserver.url_for("/"), state=result.state)
    assert again.items == ()
    assert again.state.cursor == result.state.cursor  # nothing newer: cursor stays
    httpserver.check_assertions()


def test_each_keyword_is_searched_without_its_sigil(httpserver: HTTPServer) -> None:
    for query in ("Acme", "acmehq"):
        httpserver.expect_request(
            "/api/v1/search_by_date", query_string={**BASE_QUERY, "query": query, "page": "0"}
        ).respond_with_data(
            fixture_bytes("hackernews", "empty.json"), content_type="application/json"
        )
    result = fetch_with(
        "hackernews", keywords=("Acme", "@acmehq", "ACME"), base_url=httpserver.url_for("/")
    )
    assert result.items == ()
    assert len(httpserver.log) == 2  # "ACME" is "Acme" again: not searched twice


@pytest.mark.parametrize(
    ("status", "body", "content_type", "message"),
    [
        (429, '{"message": "Too Many Requests"}', "application/json", "HTTP 429 rate limited"),
        (500, "oops", "text/plain", "HTTP 500"),
        (200, "<!DOCTYPE html><html>blocked</html>", "text/html", "got an HTML page"),
        (200, '{"hits": [', "application/json", "malformed JSON"),
        (200, '{"message": "no hits here"}', "application/json", "no `hits` list"),
    ],
)
def test_errors_are_clear(
    httpserver: HTTPServer, status: int, body: str, content_type: str, message: str
) -> None:
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data(
        body, status=status, content_type=content_type
    )
    with pytest.raises(SourceError, match=message):
        fetch_with("hackernews", base_url=httpserver.url_for("/"))


def test_page_cap(httpserver: HTTPServer) -> None:
    from mentionwatch.config.model import Settings

    httpserver.expect_request("/api/v1/search_by_date").respond_with_data(
        fixture_bytes("hackernews", "page0.json"), content_type="application/json"
    )
    fetch_with(
        "hackernews",
        base_url=httpserver.url_for("/"),
        settings=Settings(retries=0, timeout=5, max_pages=1),
    )
    assert len(httpserver.log) == 1


def test_resumes_from_a_stored_cursor(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/api/v1/search_by_date",
        query_string={**BASE_QUERY, "page": "0", "numericFilters": "created_at_i>=1700000000"},
    ).respond_with_data(fixture_bytes("hackernews", "empty.json"), content_type="application/json")
    fetch_with(
        "hackernews",
        base_url=httpserver.url_for("/"),
        state=SourceState(cursor='{"Acme": 1700000000}'),
    )
    httpserver.check_assertions()
    assert len(httpserver.log) == 1


def test_bad_option_is_a_config_error() -> None:
    from mentionwatch.configure import parse_config
    from mentionwatch.errors import ConfigError

    with pytest.raises(ConfigError, match=r"c.yaml:3: sources\[0\].tags: expected an Algolia"):
        parse_config(
            "keywords: [Acme]\nsources:\n  - {name: hn, type: hackernews, tags: [1, 2]}\n",
            filename="c.yaml",
        )


def test_base_url_in_the_old_form_still_works(httpserver: HTTPServer) -> None:
    # base_url is scheme + host for every adapter now; configs written when Hacker
    # News expected ".../api/v1" in it keep working (the suffix is not doubled).
    httpserver.expect_request("/api/v1/search_by_date").respond_with_json(
        {"hits": [], "nbPages": 0, "page": 0}
    )
    for base in (httpserver.url_for("/"), httpserver.url_for("/api/v1")):
        result = fetch_with("hackernews", base_url=base)
        assert result.items == ()
    assert [r.path for r, _ in httpserver.log] == ["/api/v1/search_by_date"] * 2
