"""youtube adapter against recorded channel and playlist feeds on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.errors import SourceError
from mentionwatch.models import RawItem

from .conftest import fetch_with, fixture_bytes

CHANNEL = "UCa1B2c3D4e5F6g7H8i9J0kL"
PLAYLIST = "PLr3v13wG4dg3tR3v13w5x2026aBcDeFgH"

FIRST_LOOK = RawItem(
    external_id="yt:video:AbCdEfGhIjK",
    url="https://www.youtube.com/watch?v=AbCdEfGhIjK",
    title="Widget 2 \u2014 first look",
    # media:description is plain text: lines survive and "<3" is not a tag.
    text="Hands-on with Widget 2.\nBattery, screen & the new Acme app.\n\nLinks below <3",
    author="Acme Official",
    published=datetime(2026, 11, 18, 15, 0, 6, tzinfo=UTC),
    counters=(("views", 10450), ("likes", 312)),
)
SHORT = RawItem(
    external_id="yt:video:ZyXwVuTsRqP",
    url="https://www.youtube.com/shorts/ZyXwVuTsRqP",
    title="Acme Shorts #1",
    text="",
    author="Acme Official",
    published=datetime(2026, 11, 17, 9, 0, tzinfo=UTC),
    counters=(("views", 987), ("likes", 12)),
)
REVIEW = RawItem(
    external_id="yt:video:Qw3rTy7UiOp",
    url="https://www.youtube.com/watch?v=Qw3rTy7UiOp",
    title="Acme Widget 2 review: great battery, awful charger",
    text="Two weeks with the Acme Widget 2.\n00:00 Intro\n03:12 Battery\n07:45 The charger problem",
    author="Tech Review Lab",
    published=datetime(2026, 11, 19, 17, 30, tzinfo=UTC),
    counters=(("views", 50321), ("likes", 1840)),
)
PREMIERE = RawItem(
    external_id="yt:video:Lv9Zx8Cv7Bn",
    url="https://www.youtube.com/watch?v=Lv9Zx8Cv7Bn",
    title="LIVE: Acme Widget 2 teardown",
    text="Premieres tonight.",
    author="Tech Review Lab",
    published=datetime(2026, 11, 20, 18, 0, tzinfo=UTC),
    counters=(("views", 0),),  # no starRating yet: no likes counter, not a zero
)

PATH = "/feeds/videos.xml"
ATOM = "application/atom+xml; charset=UTF-8"
MODIFIED = "Fri, 20 Nov 2026 08:00:12 GMT"


def test_channel_and_playlist_then_not_modified(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, query_string={"channel_id": CHANNEL}).respond_with_data(
        fixture_bytes("youtube", "channel.xml"),
        content_type=ATOM,
        headers={"ETag": '"yt-c1"', "Last-Modified": MODIFIED},
    )
    httpserver.expect_request(PATH, query_string={"playlist_id": PLAYLIST}).respond_with_data(
        fixture_bytes("youtube", "playlist.xml"), content_type=ATOM, headers={"ETag": '"yt-p1"'}
    )
    options: dict[str, Any] = {
        "channel_id": CHANNEL,
        "playlist_id": [PLAYLIST],
        "base_url": httpserver.url_for("/"),
    }
    result = fetch_with("youtube", **options)
    httpserver.check_assertions()
    # The first look is in both feeds: one item.
    assert result.items == (FIRST_LOOK, SHORT, REVIEW, PREMIERE)
    assert (result.not_modified, result.warnings) == (False, ())
    feed = httpserver.url_for(PATH)
    assert json.loads(result.state.cursor or "") == {
        f"{feed}?channel_id={CHANNEL}": {"etag": '"yt-c1"', "last_modified": MODIFIED},
        f"{feed}?playlist_id={PLAYLIST}": {"etag": '"yt-p1"'},
    }

    httpserver.clear()
    httpserver.expect_request(
        PATH,
        query_string={"channel_id": CHANNEL},
        headers={"If-None-Match": '"yt-c1"', "If-Modified-Since": MODIFIED},
    ).respond_with_data("", status=304)
    httpserver.expect_request(
        PATH, query_string={"playlist_id": PLAYLIST}, headers={"If-None-Match": '"yt-p1"'}
    ).respond_with_data("", status=304)
    again = fetch_with("youtube", state=result.state, **options)
    httpserver.check_assertions()
    assert (again.items, again.not_modified, again.warnings) == ((), True, ())
    assert again.state.cursor == result.state.cursor


def test_one_changed_feed_is_not_not_modified(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, query_string={"channel_id": CHANNEL}).respond_with_data(
        "", status=304
    )
    httpserver.expect_request(PATH, query_string={"playlist_id": PLAYLIST}).respond_with_data(
        fixture_bytes("youtube", "playlist.xml"), content_type=ATOM
    )
    result = fetch_with(
        "youtube", channel_id=CHANNEL, playlist_id=PLAYLIST, base_url=httpserver.url_for("/")
    )
    assert result.items == (REVIEW, FIRST_LOOK, PREMIERE)
    assert not result.not_modified


def test_channel_without_videos(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, query_string={"channel_id": CHANNEL}).respond_with_data(
        fixture_bytes("youtube", "empty.xml"), content_type=ATOM
    )
    result = fetch_with("youtube", channel_id=CHANNEL, base_url=httpserver.url_for("/"))
    assert (result.items, result.not_modified, result.warnings) == ((), False, ())


def test_truncated_feed_keeps_what_was_readable(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        fixture_bytes("youtube", "truncated.xml"), content_type=ATOM
    )
    result = fetch_with("youtube", channel_id=CHANNEL, base_url=httpserver.url_for("/"))
    # Likes come from a strict second reading, which a broken document fails.
    assert result.items == (
        RawItem(
            external_id=FIRST_LOOK.external_id,
            url=FIRST_LOOK.url,
            title=FIRST_LOOK.title,
            text=FIRST_LOOK.text,
            author=FIRST_LOOK.author,
            published=FIRST_LOOK.published,
            counters=(("views", 10450),),
        ),
        RawItem(
            external_id=SHORT.external_id,
            url=SHORT.url,
            title=SHORT.title,
            text="",
            author=SHORT.author,
            published=SHORT.published,
        ),
    )
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith(f"channel {CHANNEL}: malformed feed, kept what was")


OUTAGE = "YouTube's feeds have outages .* the feed usually comes back by itself"


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (404, "", rf"^channel {CHANNEL}: HTTP 404 not found; {OUTAGE}"),
        (500, "", rf"^channel {CHANNEL}: HTTP 500 internal server error; {OUTAGE}"),
        (429, "", "HTTP 429 rate limited; YouTube is rate limiting this address"),
        (
            200,
            fixture_bytes("youtube", "consent.html").decode(),
            "got an HTML page instead of the feed; YouTube answered with a web page",
        ),
        (200, "<feed", f"channel {CHANNEL}: not a feed"),
    ],
)
def test_errors_are_clear(httpserver: HTTPServer, status: int, body: str, message: str) -> None:
    httpserver.expect_request(PATH).respond_with_data(body, status=status, content_type="text/html")
    with pytest.raises(SourceError, match=message):
        fetch_with("youtube", channel_id=CHANNEL, base_url=httpserver.url_for("/"))


def test_one_feed_down_is_a_warning(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, query_string={"channel_id": CHANNEL}).respond_with_data(
        "", status=404
    )
    httpserver.expect_request(PATH, query_string={"playlist_id": PLAYLIST}).respond_with_data(
        fixture_bytes("youtube", "playlist.xml"), content_type=ATOM
    )
    result = fetch_with(
        "youtube", channel_id=[CHANNEL], playlist_id=PLAYLIST, base_url=httpserver.url_for("/")
    )
    assert result.items == (REVIEW, FIRST_LOOK, PREMIERE)
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith(f"channel {CHANNEL}: HTTP 404 not found; YouTube's feeds")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("", r"sources\[0\]: a youtube source needs channel_id and/or playlist_id"),
        ("channel_id: '@acme'", r"sources\[0\].channel_id: '@acme' is not an id: a channel id"),
        (
            "channel_id: [https://www.youtube.com/channel/UCa1B2c3D4e5F6g7H8i9J0kL]",
            r"sources\[0\].channel_id: 'https://www.youtube.com/channel/UC.*is not an id",
        ),
        ("channel_id: [1, 2]", r"sources\[0\].channel_id: expected an id or a list of ids"),
        ("channel_id: []", r"sources\[0\].channel_id: expected an id or a list of ids"),
        ("playlist_id: 'list=PL1 2'", r"sources\[0\].playlist_id: .* a playlist id looks like PL"),
    ],
)
def test_bad_option_is_a_config_error(option: str, message: str) -> None:
    from mentionwatch.configure import parse_config
    from mentionwatch.errors import ConfigError

    extra = f", {option}" if option else ""
    with pytest.raises(ConfigError, match=rf"c.yaml:3: {message}"):
        parse_config(
            f"keywords: [Acme]\nsources:\n  - {{name: yt, type: youtube{extra}}}\n",
            filename="c.yaml",
        )


def test_an_outage_is_one_error_with_the_advice_once(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data("", status=404)
    with pytest.raises(SourceError) as caught:
        fetch_with(
            "youtube", channel_id=CHANNEL, playlist_id=PLAYLIST, base_url=httpserver.url_for("/")
        )
    message = str(caught.value)
    assert message.startswith(
        f"all 2 feeds failed: channel {CHANNEL}: HTTP 404 not found; "
        f"playlist {PLAYLIST}: HTTP 404 not found; YouTube's feeds have outages"
    )
    assert message.count("outages") == 1
