"""mastodon adapter against recorded hashtag-timeline responses on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.config.model import Settings
from mentionwatch.errors import SourceError
from mentionwatch.models import RawItem, SourceState
from mentionwatch.sources.mastodon import id_key, link_param

from .conftest import fetch_with, fixture_bytes

KIM = RawItem(
    external_id="https://fosstodon.org/users/kim/statuses/115601870280011235",
    url="https://fosstodon.org/@kim/115601870280011235",
    title="",
    text="Loving the new #Acme widget & its setup: took 2 minutes.\nThanks @acmehq!",
    author="kim@fosstodon.org",
    published=datetime(2026, 11, 21, 8, 40, 12, tzinfo=UTC),
    lang="en",
    counters=(("favourites", 12), ("reblogs", 3), ("replies", 1), ("followers", 840)),
)
# A content warning comes first: it is the author's own summary.
LENA = RawItem(
    external_id="https://mastodon.example/users/lena/statuses/115601852200417765",
    url="https://mastodon.example/@lena/115601852200417765",
    title="",
    text="Rant about #Acme support\nDrei Wochen und noch immer keine Antwort.\nNicht gut, #acme.",
    author="lena",
    published=datetime(2026, 11, 21, 8, 35, 34, tzinfo=UTC),
    lang="de",
    counters=(("favourites", 2), ("reblogs", 0), ("replies", 4), ("followers", 95)),
)
# Boosted twice (page 1 and page 2): one item, read from the original, url falls back to uri.
SAM = RawItem(
    external_id="https://misskey.example/notes/a1b2c3d4e5",
    url="https://misskey.example/notes/a1b2c3d4e5",
    title="",
    text="Is #acme down for anyone else?",
    author="sam@misskey.example",
    published=datetime(2026, 11, 21, 8, 20, 5, tzinfo=UTC),
    lang=None,
    counters=(("favourites", 21), ("reblogs", 15), ("replies", 7), ("followers", 3100)),
)
ACMEHQ = RawItem(
    external_id="https://social.example/users/acmehq/statuses/115601649990000001",
    url="https://social.example/@acmehq/115601649990000001",
    title="",
    text="We're rolling out Acme 4.2 today. Release notes: https://acme.example/blog/4-2 #acme",
    author="acmehq@social.example",
    published=datetime(2026, 11, 21, 7, 40, tzinfo=UTC),
    lang="en",
    counters=(("favourites", 30), ("reblogs", 9), ("replies", 0), ("followers", 15200)),
)
UPDATE = RawItem(
    external_id="https://mastodon.example/users/lena/statuses/115602001000000042",
    url="https://mastodon.example/@lena/115602001000000042",
    title="",
    text="Update: #Acme support just called back. Sorted!",
    author="lena",
    published=datetime(2026, 11, 21, 9, 13, 20, tzinfo=UTC),
    lang="en",
    counters=(("favourites", 5), ("reblogs", 1), ("replies", 0), ("followers", 96)),
)

PATH = "/api/v1/timelines/tag/acme"
JSON = "application/json"


def link(httpserver: HTTPServer, *, next_id: str | None = None, prev_id: str | None = None) -> str:
    """A Link header as Mastodon writes it: absolute URLs on the instance."""
    url = httpserver.url_for(PATH)
    parts = []
    if next_id:
        parts.append(f'<{url}?limit=40&max_id={next_id}>; rel="next"')
    if prev_id:
        parts.append(f'<{url}?limit=40&min_id={prev_id}>; rel="prev"')
    return ", ".join(parts)


def serve(
    httpserver: HTTPServer, query: dict[str, str], body: str, link_header: str = "", **kw: str
) -> None:
    headers = {"Link": link_header} if link_header else {}
    httpserver.expect_ordered_request(PATH, query_string=query).respond_with_data(
        fixture_bytes("mastodon", body), content_type=JSON, headers={**headers, **kw}
    )


def test_first_scan_walks_back_then_next_scan_walks_forward(httpserver: HTTPServer) -> None:
    serve(
        httpserver,
        {"limit": "40"},
        "page1.json",
        link(httpserver, next_id="115601799001230001", prev_id="115601870412930113"),
    )
    serve(
        httpserver,
        {"limit": "40", "max_id": "115601799001230001"},
        "page2.json",
        link(httpserver, next_id="115601650000000123", prev_id="115601700000000999"),
    )
    # Mastodon sends no Link header with an empty page: the end of the timeline.
    serve(httpserver, {"limit": "40", "max_id": "115601650000000123"}, "empty.json")
    result = fetch_with("mastodon", base_url=httpserver.url_for("/"), tags=["acme"])
    httpserver.check_assertions()
    assert result.items == (KIM, LENA, SAM, ACMEHQ)
    assert json.loads(result.state.cursor or "") == {"acme": "115601870412930113"}
    assert result.warnings == ()

    # Next scan: only statuses newer than the newest seen, following rel="prev" forward.
    httpserver.clear()
    serve(
        httpserver,
        {"limit": "40", "min_id": "115601870412930113"},
        "newer.json",
        link(httpserver, next_id="115602001000000042", prev_id="115602001000000042"),
    )
    serve(httpserver, {"limit": "40", "min_id": "115602001000000042"}, "empty.json")
    again = fetch_with(
        "mastodon", base_url=httpserver.url_for("/"), tags=["acme"], state=result.state
    )
    httpserver.check_assertions()
    assert again.items == (UPDATE,)
    assert json.loads(again.state.cursor or "") == {"acme": "115602001000000042"}


def test_empty_timeline_is_an_empty_result(httpserver: HTTPServer) -> None:
    # What an instance whose admin disabled the hashtag feed answers, too.
    serve(httpserver, {"limit": "40"}, "empty.json")
    result = fetch_with("mastodon", base_url=httpserver.url_for("/"), tags=["acme"])
    httpserver.check_assertions()
    assert result.items == ()
    assert result.state.cursor == "{}"


def test_nothing_new_keeps_the_cursor(httpserver: HTTPServer) -> None:
    serve(httpserver, {"limit": "40", "min_id": "115601870412930113"}, "empty.json")
    state = SourceState(cursor='{"acme": "115601870412930113"}')
    result = fetch_with("mastodon", base_url=httpserver.url_for("/"), tags=["acme"], state=state)
    httpserver.check_assertions()
    assert result.items == ()
    assert result.state.cursor == '{"acme":"115601870412930113"}'


def test_each_tag_once_without_its_hash_and_with_the_token(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASTO_TOKEN", "t0ken-value")
    for tag in ("Acme", "AcmeCorp"):
        httpserver.expect_ordered_request(
            f"/api/v1/timelines/tag/{tag}",
            query_string={"limit": "40"},
            headers={"Authorization": "Bearer t0ken-value"},
        ).respond_with_data("[]", content_type=JSON)
    result = fetch_with(
        "mastodon",
        base_url=httpserver.url_for("/"),
        tags=["#Acme", "acme", "AcmeCorp"],
        token_env="MASTO_TOKEN",
    )
    httpserver.check_assertions()
    assert len(httpserver.log) == 2  # "acme" is "#Acme" again
    assert result.items == ()
    assert "t0ken" not in (result.state.cursor or "")


def test_page_cap_on_first_scan(httpserver: HTTPServer) -> None:
    serve(
        httpserver,
        {"limit": "40"},
        "page1.json",
        link(httpserver, next_id="115601799001230001", prev_id="115601870412930113"),
    )
    result = fetch_with(
        "mastodon",
        base_url=httpserver.url_for("/"),
        tags=["acme"],
        settings=Settings(retries=0, timeout=5, max_pages=1),
    )
    assert len(httpserver.log) == 1
    assert result.items == (KIM, LENA, SAM)
    assert json.loads(result.state.cursor or "") == {"acme": "115601870412930113"}


def test_page_cap_going_forward_resumes_where_it_stopped(httpserver: HTTPServer) -> None:
    serve(
        httpserver,
        {"limit": "40", "min_id": "115601800000000000"},
        "newer.json",
        link(httpserver, next_id="115602001000000042", prev_id="115602001000000042"),
    )
    result = fetch_with(
        "mastodon",
        base_url=httpserver.url_for("/"),
        tags=["acme"],
        state=SourceState(cursor='{"acme": "115601800000000000"}'),
        settings=Settings(retries=0, timeout=5, max_pages=1),
    )
    httpserver.check_assertions()
    assert len(httpserver.log) == 1
    assert result.items == (UPDATE,)
    # The newest id of the last page read: the next scan asks for what comes right after.
    assert json.loads(result.state.cursor or "") == {"acme": "115602001000000042"}


def test_spent_rate_limit_stops_the_scan_with_a_warning(httpserver: HTTPServer) -> None:
    serve(
        httpserver,
        {"limit": "40"},
        "page1.json",
        link(httpserver, next_id="115601799001230001"),
        **{"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0"},
    )
    result = fetch_with("mastodon", base_url=httpserver.url_for("/"), tags=["acme", "acmecorp"])
    assert len(httpserver.log) == 1  # neither page 2 nor the second tag
    assert result.items == (KIM, LENA, SAM)
    assert json.loads(result.state.cursor or "") == {"acme": "115601870412930113"}
    assert result.warnings == (
        "rate limit reached (X-RateLimit-Remaining: 0): the rest waits for the next scan",
    )


@pytest.mark.parametrize(
    ("status", "body", "content_type", "headers", "message"),
    [
        (
            429,
            '{"error": "Too many requests"}',
            JSON,
            {"Retry-After": "120"},
            "#acme: HTTP 429 rate limited; retry after 120s",
        ),
        (500, "oops", "text/plain", {}, "#acme: HTTP 500"),
        (200, "<!DOCTYPE html><html>Checking your browser</html>", "text/html", {}, "HTML page"),
        (200, '[{"id": "1", ', JSON, {}, "malformed JSON"),
        (200, '{"statuses": []}', JSON, {}, "#acme: unexpected response: expected a list"),
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
    httpserver.expect_request(PATH).respond_with_data(
        body, status=status, content_type=content_type, headers=headers
    )
    with pytest.raises(SourceError, match=message):
        fetch_with("mastodon", base_url=httpserver.url_for("/"), tags=["acme"])


def test_unknown_hashtag_is_named(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/timelines/tag/nosuchtag").respond_with_data(
        fixture_bytes("mastodon", "not_found.json"), status=404, content_type=JSON
    )
    with pytest.raises(SourceError, match=r"#nosuchtag: no such hashtag on http://"):
        fetch_with("mastodon", base_url=httpserver.url_for("/"), tags=["nosuchtag"])


def test_404_page_from_something_else_questions_the_base_url(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        "<html>Not Found</html>", status=404, content_type="text/html"
    )
    with pytest.raises(SourceError, match="is base_url a Mastodon instance"):
        fetch_with("mastodon", base_url=httpserver.url_for("/"), tags=["acme"])


def test_401_without_a_token_says_how_to_give_one(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        fixture_bytes("mastodon", "unauthorized.json"), status=401, content_type=JSON
    )
    with pytest.raises(SourceError, match=r"HTTP 401 .*requires an access token.*token_env"):
        fetch_with("mastodon", base_url=httpserver.url_for("/"), tags=["acme"])


def test_401_with_a_token_names_its_variable(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASTO_TOKEN", "t0ken-value")
    httpserver.expect_request(PATH).respond_with_data(
        fixture_bytes("mastodon", "unauthorized.json"), status=401, content_type=JSON
    )
    with pytest.raises(SourceError, match=r"refused the access token in \$MASTO_TOKEN") as info:
        fetch_with(
            "mastodon", base_url=httpserver.url_for("/"), tags=["acme"], token_env="MASTO_TOKEN"
        )
    assert "t0ken" not in str(info.value)


def test_token_variable_named_but_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MASTO_TOKEN", raising=False)
    with pytest.raises(SourceError, match="environment variable MASTO_TOKEN is not set"):
        fetch_with(
            "mastodon", base_url="http://127.0.0.1:9", tags=["acme"], token_env="MASTO_TOKEN"
        )


def test_status_ids_compare_as_numbers() -> None:
    assert id_key("100") > id_key("99")
    assert id_key("115602001000000042") > id_key("115601870412930113")
    assert id_key("AbC9") > id_key("AbC1")  # string ids (forks) compare as text


def test_link_header_parameters() -> None:
    header = (
        '<https://m.example/api/v1/timelines/tag/acme?limit=40&max_id=7>; rel="next", '
        '<https://m.example/api/v1/timelines/tag/acme?limit=40&min_id=9>; rel="prev"'
    )
    assert link_param(header, "next", "max_id") == "7"
    assert link_param(header, "prev", "min_id") == "9"
    assert link_param('<https://m.example/x?min_id=9>; rel="prev"', "next", "max_id") is None
    assert link_param("", "prev", "min_id") is None


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{name: m, type: mastodon, tags: [acme]}", r"sources\[0\].base_url: missing"),
        (
            "{name: m, type: mastodon, base_url: 'https://m.example/api/v1', tags: [acme]}",
            r"sources\[0\].base_url: give the instance root",
        ),
        ("{name: m, type: mastodon, base_url: 'https://m.example'}", r"sources\[0\].tags: missing"),
        (
            "{name: m, type: mastodon, base_url: 'https://m.example', tags: []}",
            r"sources\[0\].tags: expected a non-empty list",
        ),
        (
            "{name: m, type: mastodon, base_url: 'https://m.example', tags: acme}",
            r"sources\[0\].tags: expected a non-empty list",
        ),
        (
            "{name: m, type: mastodon, base_url: 'https://m.example', tags: [acme, 'acme corp']}",
            r"sources\[0\].tags: 'acme corp' is not a hashtag",
        ),
        (
            "{name: m, type: mastodon, base_url: 'https://m.example', tags: ['#']}",
            r"sources\[0\].tags: '#' is an empty hashtag",
        ),
        (
            "{name: m, type: mastodon, base_url: 'https://m.example', tags: [acme],"
            " token_env: 'abc def-123'}",
            r"sources\[0\].token_env: expected the NAME of an environment variable",
        ),
    ],
)
def test_bad_option_is_a_config_error(source: str, message: str) -> None:
    from mentionwatch.configure import parse_config
    from mentionwatch.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"c.yaml:3: {message}") as info:
        parse_config(f"keywords: [Acme]\nsources:\n  - {source}\n", filename="c.yaml")
    assert "abc def-123" not in str(info.value)  # a pasted secret is never echoed


def test_bad_tag_is_reported_on_the_line_of_tags() -> None:
    from mentionwatch.configure import parse_config
    from mentionwatch.errors import ConfigError

    text = (
        "keywords: [Acme]\nsources:\n  - name: m\n    type: mastodon\n"
        "    base_url: https://m.example\n    tags:\n      - acme\n      - 2024\n"
    )
    with pytest.raises(
        ConfigError, match=r"^c.yaml:6: sources\[0\].tags: expected hashtag names, got int 2024$"
    ):
        parse_config(text, filename="c.yaml")


def test_good_config_is_accepted() -> None:
    from mentionwatch.configure import parse_config

    config = parse_config(
        "keywords: [Acme]\nsources:\n"
        "  - {name: m, type: mastodon, base_url: 'https://m.example', tags: ['#Acme', acme_corp],"
        " token_env: MASTO_TOKEN}\n",
        filename="c.yaml",
    )
    assert config.sources[0].option("tags") == ["#Acme", "acme_corp"]
