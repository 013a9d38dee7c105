"""bingnews adapter against recorded Bing News RSS responses on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.errors import SourceError
from mentionwatch.models import RawItem

from .conftest import fetch_with, fixture_bytes

RECALL = RawItem(
    # The publisher URL from the redirect's `url` parameter, its own query intact.
    external_id="https://www.exampletimes.com/tech/2026/11/20/acme-recall?src=rss&id=42",
    url="https://www.exampletimes.com/tech/2026/11/20/acme-recall?src=rss&id=42",
    title="Acme Corp recalls Widget 2 chargers",
    text=(
        "Acme Corp on Friday recalled about 40,000 Widget 2 chargers after reports of "
        "overheating & two minor fires ..."
    ),
    author="Example Times",
    published=datetime(2026, 11, 20, 8, 5, tzinfo=UTC),
)
SHARES = RawItem(
    external_id="https://www.msn.com/en-us/money/companies/acme-corp-shares-dip/ar-AA1xYz9",
    url="https://www.msn.com/en-us/money/companies/acme-corp-shares-dip/ar-AA1xYz9",
    title="Acme Corp shares dip 4% after charger recall",
    text=(
        "Shares of Acme Corp fell 4% in early trading on Friday, a day after the company's "
        "recall of Widget 2 chargers ..."
    ),
    author="Market Wire on MSN",
    published=datetime(2026, 11, 20, 14, 30, tzinfo=UTC),
)
# A redirect link without a `url` parameter: the Bing link is all there is.
BING_ONLY = (
    "http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=0F1E2D3C4B5A69788796A5B4C3D2E1F0"
    "&c=11223344556677889900&mkt=en-us"
)
BUYERS = RawItem(
    external_id=BING_ONLY,
    url=BING_ONLY,
    title="What the Acme Corp recall means for buyers",
    text="If you bought a Widget 2 this year, check the charger's serial number ...",
    author="Consumer Daily",
    published=datetime(2026, 11, 20, 16, 0, tzinfo=UTC),
)

PATH = "/news/search"
QUERY = {"q": '"Acme Corp"', "format": "rss", "mkt": "en-US"}
ETAG = '"bing-0c1d"'
RSS = "application/rss+xml; charset=utf-8"


def test_search_then_not_modified(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, query_string=QUERY).respond_with_data(
        fixture_bytes("bingnews", "search.xml"), content_type=RSS, headers={"ETag": ETAG}
    )
    result = fetch_with(
        "bingnews", keywords=("Acme Corp",), mkt="en-US", base_url=httpserver.url_for("/")
    )
    httpserver.check_assertions()
    assert result.items == (RECALL, SHARES, BUYERS)
    assert (result.not_modified, result.warnings) == (False, ())
    url = httpserver.url_for(PATH) + "?q=%22Acme%20Corp%22&format=rss&mkt=en-US"
    assert json.loads(result.state.cursor or "") == {url: {"etag": ETAG}}

    httpserver.clear()
    httpserver.expect_request(
        PATH, query_string=QUERY, headers={"If-None-Match": ETAG}
    ).respond_with_data("", status=304)
    again = fetch_with(
        "bingnews",
        keywords=("Acme Corp",),
        mkt="en-US",
        base_url=httpserver.url_for("/"),
        state=result.state,
    )
    httpserver.check_assertions()
    assert (again.items, again.not_modified) == ((), True)
    assert again.state.cursor == result.state.cursor


def test_one_request_per_term(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        fixture_bytes("bingnews", "empty.xml"), content_type=RSS
    )
    result = fetch_with(
        "bingnews", keywords=("Acme", "#ACME", "Acme Corp"), base_url=httpserver.url_for("/")
    )
    assert (result.items, result.not_modified, result.warnings) == ((), False, ())
    assert [request.query_string.decode() for request, _ in httpserver.log] == [
        "q=Acme&format=rss",
        "q=%22Acme%20Corp%22&format=rss",
    ]


def test_the_same_story_under_two_terms_is_one_item(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        fixture_bytes("bingnews", "search.xml"), content_type=RSS
    )
    result = fetch_with("bingnews", keywords=("Acme", "Widget"), base_url=httpserver.url_for("/"))
    assert result.items == (RECALL, SHARES, BUYERS)
    assert len(httpserver.log) == 2


def test_malformed_feed_keeps_what_was_readable(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        fixture_bytes("bingnews", "broken.xml"), content_type=RSS
    )
    result = fetch_with("bingnews", base_url=httpserver.url_for("/"))
    # The strict second reading that finds News:Source fails on the bare "&".
    assert result.items == (
        RawItem(
            external_id="https://leeds.example/news/acme-store",
            url="https://leeds.example/news/acme-store",
            title="Acme & Co. opens a store in Leeds",
            text="The Acme & Co. store opens on Briggate on Saturday ...",
            published=datetime(2026, 11, 19, 11, 0, tzinfo=UTC),
        ),
    )
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("term 'Acme': malformed feed, kept what was readable:")


def test_a_feed_cut_off_before_any_item_is_a_warning_not_silence(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        '<?xml version="1.0" encoding="utf-8" ?><rss version="2.0"><channel><title>Acme - Bi',
        content_type=RSS,
    )
    result = fetch_with("bingnews", base_url=httpserver.url_for("/"))
    assert result.items == ()
    assert len(result.warnings) == 1
    assert "malformed" in result.warnings[0]


@pytest.mark.parametrize(
    ("status", "body", "headers", "message"),
    [
        (
            429,
            "",
            {"Retry-After": "3600"},
            "term 'Acme': HTTP 429 rate limited; retry after 3600s; Bing is refusing",
        ),
        (500, "oops", {}, r"^term 'Acme': HTTP 500 internal server error$"),
        (
            200,
            fixture_bytes("bingnews", "blocked.html").decode(),
            {},
            "term 'Acme': got an HTML page instead of the feed; Bing is refusing",
        ),
        (200, '{"error": "unsupported format"}', {}, "term 'Acme': not a feed: got JSON"),
    ],
)
def test_errors_are_clear(
    httpserver: HTTPServer, status: int, body: str, headers: dict[str, str], message: str
) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        body, status=status, headers=headers, content_type="text/html; charset=utf-8"
    )
    with pytest.raises(SourceError, match=message):
        fetch_with("bingnews", base_url=httpserver.url_for("/"))


def test_bad_option_is_a_config_error() -> None:
    from mentionwatch.configure import parse_config
    from mentionwatch.errors import ConfigError

    with pytest.raises(ConfigError, match=r"c.yaml:3: sources\[0\].mkt: expected a market code"):
        parse_config(
            "keywords: [Acme]\nsources:\n  - {name: bing, type: bingnews, mkt: english}\n",
            filename="c.yaml",
        )
