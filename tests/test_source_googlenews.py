"""googlenews adapter against recorded Google News RSS search responses on 127.0.0.1."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.errors import SourceError
from mentionwatch.models import RawItem, SourceState

from .conftest import fetch_with, fixture_bytes

RECALL = RawItem(
    external_id="CBMiWkFVX3lxTE1hY21lUmVjYWxsV2lkZ2V0Mg",
    url="https://news.google.com/rss/articles/CBMiWkFVX3lxTE1hY21lUmVjYWxsV2lkZ2V0Mg?oc=5",
    title="Acme Corp recalls Widget 2 chargers over overheating reports",
    text="Acme Corp recalls Widget 2 chargers over overheating reports Example Times",
    author="Example Times",
    published=datetime(2026, 11, 20, 8, 40, tzinfo=UTC),
    lang="en",
)
CLUSTER = RawItem(
    external_id="CBMiXkFVX3lxTE9hY21lR29vZEJhZA",
    url="https://news.google.com/rss/articles/CBMiXkFVX3lxTE9hY21lR29vZEJhZA?oc=5",
    # Only the " - Outlet" suffix goes; the dash inside the headline stays.
    title="Acme - the good, the bad and the chargers",
    text=(
        "Acme - the good, the bad and the chargers Smith & Jones Weekly\n"
        "Acme Corp shares dip after recall Market Wire"
    ),
    author="Smith & Jones Weekly",
    published=datetime(2026, 11, 20, 7, 15, tzinfo=UTC),
    lang="en",
)
OSLO = RawItem(
    external_id="CBMiZkFVX3lxTFFhY21lT3Nsbw",
    url="https://news.google.com/rss/articles/CBMiZkFVX3lxTFFhY21lT3Nsbw?oc=5",
    title="Acme Corp opens Oslo office",  # no suffix to strip
    text="Acme Corp opens Oslo office Nordic Business Daily",
    author="Nordic Business Daily",
    published=datetime(2026, 11, 19, 22, 5, tzinfo=UTC),
    lang="en",
)

PATH = "/rss/search"
QUERY = {"q": '"Acme Corp" when:1d', "hl": "en-US", "gl": "US", "ceid": "US:en"}
ETAG = 'W/"gn-7f3a"'
MODIFIED = "Fri, 20 Nov 2026 10:02:03 GMT"
RSS = "application/rss+xml; charset=UTF-8"


def test_search_then_not_modified(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, query_string=QUERY).respond_with_data(
        fixture_bytes("googlenews", "search.xml"),
        content_type=RSS,
        headers={"ETag": ETAG, "Last-Modified": MODIFIED},
    )
    result = fetch_with(
        "googlenews", keywords=("Acme Corp",), when="1d", base_url=httpserver.url_for("/")
    )
    httpserver.check_assertions()
    assert result.items == (RECALL, CLUSTER, OSLO)
    assert (result.not_modified, result.warnings) == (False, ())
    url = httpserver.url_for(PATH) + "?q=%22Acme%20Corp%22%20when:1d&hl=en-US&gl=US&ceid=US:en"
    assert json.loads(result.state.cursor or "") == {url: {"etag": ETAG, "last_modified": MODIFIED}}

    # Next scan: the validators go back, and a 304 is "nothing new", not an error.
    httpserver.clear()
    httpserver.expect_request(
        PATH, query_string=QUERY, headers={"If-None-Match": ETAG, "If-Modified-Since": MODIFIED}
    ).respond_with_data("", status=304)
    again = fetch_with(
        "googlenews",
        keywords=("Acme Corp",),
        when="1d",
        base_url=httpserver.url_for("/"),
        state=result.state,
    )
    httpserver.check_assertions()
    assert (again.items, again.not_modified) == ((), True)
    assert again.state.cursor == result.state.cursor


def test_one_request_per_term_as_google_spells_it(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        fixture_bytes("googlenews", "empty.xml"), content_type=RSS
    )
    result = fetch_with(
        "googlenews",
        keywords=("#acme", "Acme Corp", "ACME", "@AcmeHQ"),
        hl="de",
        gl="de",
        base_url=httpserver.url_for("/"),
    )
    assert (result.items, result.not_modified, result.warnings) == ((), False, ())
    # Sigils dropped, phrases quoted, "ACME" is "acme" again; ceid derived from hl+gl.
    assert [request.query_string.decode() for request, _ in httpserver.log] == [
        "q=acme&hl=de&gl=DE&ceid=DE:de",
        "q=%22Acme%20Corp%22&hl=de&gl=DE&ceid=DE:de",
        "q=AcmeHQ&hl=de&gl=DE&ceid=DE:de",
    ]
    # No validators were offered: nothing to remember.
    assert result.state.cursor == "{}"


def test_explicit_ceid(httpserver: HTTPServer) -> None:
    query = {"q": "Acme", "hl": "pt-BR", "gl": "BR", "ceid": "BR:pt-419"}
    httpserver.expect_request(PATH, query_string=query).respond_with_data(
        fixture_bytes("googlenews", "empty.xml"), content_type=RSS
    )
    fetch_with(
        "googlenews", hl="pt-BR", gl="BR", ceid="BR:pt-419", base_url=httpserver.url_for("/")
    )
    httpserver.check_assertions()


def test_malformed_feed_keeps_what_was_readable(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        fixture_bytes("googlenews", "truncated.xml"), content_type=RSS
    )
    result = fetch_with("googlenews", base_url=httpserver.url_for("/"))
    # The outlet comes from a second, strict reading of the XML, which a broken
    # document fails: the headline keeps its suffix and the author stays empty.
    assert result.items == (
        RawItem(
            external_id="CBMiZkFVX3lxTFFhY21lT3Nsbw",
            url="https://news.google.com/rss/articles/CBMiZkFVX3lxTFFhY21lT3Nsbw?oc=5",
            title="Acme Corp opens Oslo office - Nordic Business Daily",
            text="Acme Corp opens Oslo office Nordic Business Daily",
            published=datetime(2026, 11, 19, 22, 5, tzinfo=UTC),
            lang="en",
        ),
    )  # the cut-off second item never closed: nothing of it is kept
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("term 'Acme': malformed feed, kept what was readable:")


@pytest.mark.parametrize(
    ("status", "body", "headers", "message"),
    [
        (
            429,
            "Too Many Requests",
            {"Retry-After": "120"},
            "term 'Acme': HTTP 429 rate limited; retry after 120s; Google News is refusing",
        ),
        (503, "Service Unavailable", {}, "HTTP 503 service unavailable; Google News is refusing"),
        (500, "oops", {}, r"^term 'Acme': HTTP 500 internal server error$"),
        (
            200,
            fixture_bytes("googlenews", "sorry.html").decode(),
            {},
            "got an HTML page instead of the feed; Google News is refusing automated requests",
        ),
        (200, "", {}, "not a feed: empty body"),
        (200, "Acme,2026-11-20\n", {}, "not a feed"),
    ],
)
def test_errors_are_clear(
    httpserver: HTTPServer, status: int, body: str, headers: dict[str, str], message: str
) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        body, status=status, headers=headers, content_type="text/html"
    )
    with pytest.raises(SourceError, match=message):
        fetch_with("googlenews", base_url=httpserver.url_for("/"))


def test_unusual_traffic_redirect(httpserver: HTTPServer) -> None:
    # What Google does when it wants a captcha: redirect to /sorry/, which answers 429.
    httpserver.expect_request(PATH).respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/sorry/index?continue=x")}
    )
    httpserver.expect_request("/sorry/index").respond_with_data(
        fixture_bytes("googlenews", "sorry.html"), status=429, content_type="text/html"
    )
    with pytest.raises(SourceError, match="HTTP 429 rate limited; Google News is refusing"):
        fetch_with("googlenews", base_url=httpserver.url_for("/"))


def test_throttling_stops_the_other_terms(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("", status=429)
    with pytest.raises(SourceError, match="HTTP 429"):
        fetch_with("googlenews", keywords=("Acme", "Widget"), base_url=httpserver.url_for("/"))
    assert len(httpserver.log) == 1


def test_one_failing_term_is_a_warning(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, query_string={**QUERY, "q": "Acme"}).respond_with_data(
        "oops", status=500
    )
    httpserver.expect_request(PATH, query_string={**QUERY, "q": "Oslo"}).respond_with_data(
        fixture_bytes("googlenews", "search.xml"), content_type=RSS
    )
    result = fetch_with("googlenews", keywords=("Acme", "Oslo"), base_url=httpserver.url_for("/"))
    assert result.items == (RECALL, CLUSTER, OSLO)
    assert result.warnings == ("term 'Acme': HTTP 500 internal server error",)
    assert not result.not_modified


def test_all_terms_failing_is_an_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("gone", status=404)
    with pytest.raises(
        SourceError,
        match=r"all 2 feeds failed: term 'Acme': HTTP 404 not found; term 'Oslo': HTTP 404",
    ):
        fetch_with("googlenews", keywords=("Acme", "Oslo"), base_url=httpserver.url_for("/"))


def test_validators_of_dropped_terms_are_forgotten(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("", status=304)
    url = httpserver.url_for(PATH) + "?q=Acme&hl=en-US&gl=US&ceid=US:en"
    cursor = {url: {"etag": '"a"'}, "https://old.example/rss": {"etag": '"b"'}}
    result = fetch_with(
        "googlenews",
        base_url=httpserver.url_for("/"),
        state=SourceState(cursor=json.dumps(cursor)),
    )
    assert result.not_modified
    assert json.loads(result.state.cursor or "") == {url: {"etag": '"a"'}}
    assert httpserver.log[0][0].headers["If-None-Match"] == '"a"'


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("when: 1 day", r"sources\[0\].when: expected a time window such as '1h'"),
        ("hl: [en]", r"sources\[0\].hl: expected an interface language"),
        ("gl: USA", r"sources\[0\].gl: expected a two-letter country code"),
        ("ceid: US-en", r"sources\[0\].ceid: expected '\{country\}:\{language\}'"),
    ],
)
def test_bad_option_is_a_config_error(option: str, message: str) -> None:
    from mentionwatch.configure import parse_config
    from mentionwatch.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"c.yaml:3: {message}"):
        parse_config(
            f"keywords: [Acme]\nsources:\n  - {{name: gn, type: googlenews, {option}}}\n",
            filename="c.yaml",
        )


def test_entity_declarations_are_never_expanded(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        fixture_bytes("googlenews", "entities.xml"), content_type=RSS
    )
    started = time.perf_counter()
    result = fetch_with("googlenews", base_url=httpserver.url_for("/"))
    assert time.perf_counter() - started < 5
    # The second reading (for <source>) refuses any DOCTYPE, so the outlet is unknown
    # and the headline keeps its suffix; parse_feed itself removed the declarations.
    assert result.items == (
        RawItem(
            external_id="CBMiZkFVX3lxTFFhY21lT3Nsbw",
            url="https://news.google.com/rss/articles/CBMiZkFVX3lxTFFhY21lT3Nsbw?oc=5",
            title="Acme Corp opens Oslo office - Nordic Business Daily",
            text="Acme Corp opens Oslo office",
            published=datetime(2026, 11, 19, 22, 5, tzinfo=UTC),
            lang="en",
        ),
    )
    assert result.warnings == (
        "term 'Acme': malformed feed, kept what was readable: entity declarations removed; "
        "malformed XML: undefined entity at line 15",
    )
    assert "root:" not in repr(result)  # /etc/passwd was not read into anything
