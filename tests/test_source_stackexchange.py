"""stackexchange adapter against recorded /2.3/search/advanced responses on 127.0.0.1.

Successful responses are served gzip-compressed with ``Content-Encoding: gzip``, as the
real API always does; error wrappers come back uncompressed, as early errors may.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer
from pytest_httpserver.httpserver import RequestHandler
from werkzeug import Request, Response

from mentionwatch.config.model import Settings
from mentionwatch.errors import SourceError
from mentionwatch.models import RawItem, SourceState

from .conftest import fetch_with, fixture_bytes

PATH = "/2.3/search/advanced"
BASE_QUERY = {
    "site": "stackoverflow",
    "q": "Acme",
    "sort": "creation",
    "order": "desc",
    "pagesize": "100",
    "filter": "withbody",
}

UPLOAD = RawItem(
    external_id="79912345",
    url="https://stackoverflow.com/questions/79912345/acme-sdk-raises-timeouterror-on-upload",
    title='Acme SDK raises TimeoutError on "upload" with files > 2 MB',
    text="Since upgrading to Acme SDK 2.1 every upload fails:\n"
    "acme.errors.TimeoutError: upload timed out after 30s\n"
    "Small files work. Is this a known issue & is there a workaround?",
    author="Sam O'Neil",
    published=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
    counters=(("score", 2), ("views", 41), ("answers", 0), ("reputation", 1530)),
)
STYLE = RawItem(  # asked by a since-deleted user: no reputation
    external_id="79910999",
    url="https://stackoverflow.com/questions/79910999/how-do-i-style-the-acme-widget-lt-div-gt",
    title="How do I style the Acme widget's <div> wrapper?",
    text='The widget renders a <div class="acme"> I can\'t target.\nCSS modules\nTailwind',
    author="user24680135",
    published=datetime(2026, 11, 20, 9, 30, 15, tzinfo=UTC),
    counters=(("score", -1), ("views", 1288), ("answers", 3)),
)
LOGIN = RawItem(
    external_id="79905500",
    url="https://stackoverflow.com/questions/79905500/acme-cli-login-loop",
    title="acme CLI login loop",
    text="Running acme login opens the browser again and again.",
    author="José M.",
    published=datetime(2026, 11, 19, 22, 5, 40, tzinfo=UTC),
    counters=(("score", 0), ("views", 7), ("answers", 0), ("reputation", 1)),
)
WEBHOOK = RawItem(
    external_id="79920001",
    url="https://stackoverflow.com/questions/79920001/acme-webhook-signature-mismatch",
    title="Acme webhook signature mismatch",
    text="The signature header never matches.",
    author="dev42",
    published=datetime(2026, 11, 21, 7, 45, tzinfo=UTC),
    counters=(("score", 1), ("views", 12), ("answers", 1), ("reputation", 88)),
)


def respond_gzip(handler: RequestHandler, name: str) -> None:
    handler.respond_with_data(
        gzip.compress(fixture_bytes("stackexchange", name)),
        content_type="application/json; charset=utf-8",
        headers={"Content-Encoding": "gzip"},
    )


def root(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def cursor_of(state: SourceState) -> dict[str, object]:
    value = json.loads(state.cursor or "")
    assert isinstance(value, dict)
    return value


def test_two_gzip_pages_then_incremental(httpserver: HTTPServer) -> None:
    for page, name in ((1, "page1.json"), (2, "page2.json")):
        respond_gzip(
            httpserver.expect_ordered_request(PATH, query_string={**BASE_QUERY, "page": str(page)}),
            name,
        )
    result = fetch_with("stackexchange", base_url=root(httpserver))
    httpserver.check_assertions()
    assert result.items == (UPLOAD, STYLE, LOGIN)  # the id-less question is skipped
    assert result.warnings == ()
    assert cursor_of(result.state) == {"since": {"Acme": 1795168800}}
    request, _ = httpserver.log[0]
    assert "gzip" in request.headers["Accept-Encoding"]

    # Next scan: only what was created from the newest question's second on.
    httpserver.clear()
    respond_gzip(
        httpserver.expect_request(
            PATH, query_string={**BASE_QUERY, "page": "1", "fromdate": "1795168800"}
        ),
        "empty.json",
    )
    again = fetch_with("stackexchange", base_url=root(httpserver), state=result.state)
    httpserver.check_assertions()
    assert again.items == ()
    assert again.state.cursor == result.state.cursor  # nothing newer: cursor stays
    assert len(httpserver.log) == 1


def test_site_tags_and_key_go_into_the_query(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SE_KEY", "k3y((")
    respond_gzip(
        httpserver.expect_request(
            PATH,
            query_string={
                **BASE_QUERY,
                "site": "superuser",
                "page": "1",
                "tagged": "python;acme-sdk",
                "key": "k3y((",
            },
        ),
        "empty.json",
    )
    result = fetch_with(
        "stackexchange",
        base_url=root(httpserver),
        site="superuser",
        tagged=["python", "acme-sdk"],
        key_env="SE_KEY",
    )
    httpserver.check_assertions()
    assert result.items == ()
    assert cursor_of(result.state) == {"since": {}}


def test_each_keyword_is_searched_once_without_its_sigil(httpserver: HTTPServer) -> None:
    for query in ("Acme", "AcmeHQ"):
        respond_gzip(
            httpserver.expect_ordered_request(
                PATH, query_string={**BASE_QUERY, "q": query, "page": "1"}
            ),
            "empty.json",
        )
    fetch_with("stackexchange", keywords=("Acme", "#acme", "@AcmeHQ"), base_url=root(httpserver))
    httpserver.check_assertions()
    assert len(httpserver.log) == 2  # "#acme" asks the same as "Acme": not searched twice


def test_backoff_stops_paging_keeps_the_cursor_and_is_remembered(httpserver: HTTPServer) -> None:
    # Longer than MAX_BACKOFF_WAIT: deferred to the next run (a short one is waited out).
    respond_gzip(
        httpserver.expect_request(
            PATH, query_string={**BASE_QUERY, "page": "1", "fromdate": "1795168800"}
        ),
        "backoff_long.json",
    )
    before = time.time()
    result = fetch_with(
        "stackexchange",
        keywords=("Acme", "Widget"),
        base_url=root(httpserver),
        state=SourceState(cursor='{"since": {"Acme": 1795168800}}'),
    )
    httpserver.check_assertions()
    assert len(httpserver.log) == 1  # neither page 2 nor the second keyword was asked for
    assert result.items == (WEBHOOK,)
    first, second = result.warnings
    assert "asked for a 120s pause before the next search" in first
    assert second == "not searched this time: 'Widget'"
    cursor = cursor_of(result.state)
    # Paging was cut short: the old cursor stays, so nothing in between is skipped.
    assert cursor["since"] == {"Acme": 1795168800}
    until = cursor["backoff_until"]
    assert isinstance(until, int)
    assert before + 120 <= until <= time.time() + 121

    # A scan started before the pause is over makes no request at all.
    httpserver.clear()
    waiting = fetch_with("stackexchange", base_url=root(httpserver), state=result.state)
    assert httpserver.log == []
    assert waiting.items == ()
    assert waiting.state == result.state
    (warning,) = waiting.warnings
    assert "asked to wait until" in warning


def test_a_short_backoff_is_waited_out_and_the_scan_goes_on(httpserver: HTTPServer) -> None:
    # backoff: 1 on the first page (the usual one) must not stop page 2 or the other term.
    asked: list[float] = []

    def timed(name: str) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            asked.append(time.monotonic())
            return Response(
                gzip.compress(fixture_bytes("stackexchange", name)),
                content_type="application/json; charset=utf-8",
                headers={"Content-Encoding": "gzip"},
            )

        return handler

    httpserver.expect_ordered_request(
        PATH, query_string={**BASE_QUERY, "page": "1"}
    ).respond_with_handler(timed("backoff_short.json"))
    httpserver.expect_ordered_request(
        PATH, query_string={**BASE_QUERY, "page": "2"}
    ).respond_with_handler(timed("empty.json"))
    respond_gzip(
        httpserver.expect_ordered_request(
            PATH, query_string={**BASE_QUERY, "q": "Widget", "page": "1"}
        ),
        "empty.json",
    )
    result = fetch_with("stackexchange", keywords=("Acme", "Widget"), base_url=root(httpserver))
    httpserver.check_assertions()
    assert len(httpserver.log) == 3
    assert result.items == (WEBHOOK,)
    assert result.warnings == ()
    # The asked-for second passed between the first answer and the next request.
    assert asked[1] - asked[0] >= 1.0
    cursor = cursor_of(result.state)
    assert "backoff_until" not in cursor
    assert set(cursor["since"]) == {"Acme"}  # type: ignore[arg-type]


def test_an_elapsed_backoff_is_forgotten(httpserver: HTTPServer) -> None:
    respond_gzip(
        httpserver.expect_request(PATH, query_string={**BASE_QUERY, "page": "1"}), "empty.json"
    )
    result = fetch_with(
        "stackexchange",
        base_url=root(httpserver),
        state=SourceState(cursor='{"backoff_until": 1000, "since": {}}'),
    )
    httpserver.check_assertions()
    assert cursor_of(result.state) == {"since": {}}


def test_used_up_quota_stops_with_a_warning(httpserver: HTTPServer) -> None:
    respond_gzip(
        httpserver.expect_request(PATH, query_string={**BASE_QUERY, "page": "1"}),
        "quota_zero.json",
    )
    result = fetch_with("stackexchange", keywords=("Acme", "Widget"), base_url=root(httpserver))
    assert len(httpserver.log) == 1
    assert result.items == (WEBHOOK,)
    assert result.warnings == (
        "the daily Stack Exchange quota (300 requests) is used up until midnight UTC: "
        "stopped searching; set key_env to an app key for 10,000 a day",
        "not searched this time: 'Widget'",
    )
    # First run, cut short: no cursor yet, so the next scan is a (bounded) first run again.
    assert cursor_of(result.state) == {"since": {}}


def test_throttled_midway_keeps_what_was_found(httpserver: HTTPServer) -> None:
    respond_gzip(
        httpserver.expect_ordered_request(PATH, query_string={**BASE_QUERY, "page": "1"}),
        "page2.json",
    )
    httpserver.expect_ordered_request(
        PATH, query_string={**BASE_QUERY, "q": "Widget", "page": "1"}
    ).respond_with_data(
        fixture_bytes("stackexchange", "error_throttle.json"),
        status=400,
        content_type="application/json; charset=utf-8",
    )
    result = fetch_with("stackexchange", keywords=("Acme", "Widget"), base_url=root(httpserver))
    httpserver.check_assertions()
    assert result.items == (LOGIN,)
    assert result.warnings == (
        "Stack Exchange API error 502 throttle_violation: too many requests from this IP, "
        "more requests available in 73542 seconds (without an app key the quota is 300 "
        "requests a day per IP: set key_env) (while searching 'Widget'): stopped searching",
    )
    assert cursor_of(result.state) == {"since": {"Acme": 1795125940}}


@pytest.mark.parametrize(
    ("status", "name", "body", "content_type", "headers", "message"),
    [
        (
            400,
            "error_bad_parameter.json",
            "",
            "application/json",
            {},
            r"^Stack Exchange API error 400 bad_parameter: sort$",
        ),
        (
            400,
            "error_throttle.json",
            "",
            "application/json",
            {},
            r"error 502 throttle_violation: too many requests from this IP.*set key_env",
        ),
        (
            429,
            None,
            "slow down",
            "text/plain",
            {"Retry-After": "120"},
            r"^HTTP 429 rate limited; retry after 120s$",
        ),
        (500, None, "oops", "text/plain", {}, r"^HTTP 500"),
        (
            200,
            None,
            "<!DOCTYPE html><html><body>Access denied</body></html>",
            "text/html",
            {},
            "got an HTML page",
        ),
        (200, None, '{"items": [', "application/json", {}, "malformed JSON"),
        (200, None, '{"quota_max": 300}', "application/json", {}, "no `items` list"),
    ],
)
def test_errors_are_clear(
    httpserver: HTTPServer,
    status: int,
    name: str | None,
    body: str,
    content_type: str,
    headers: dict[str, str],
    message: str,
) -> None:
    data = fixture_bytes("stackexchange", name) if name else body.encode()
    httpserver.expect_request(PATH).respond_with_data(
        data, status=status, content_type=content_type, headers=headers
    )
    with pytest.raises(SourceError, match=message):
        fetch_with("stackexchange", base_url=root(httpserver))


def test_unset_key_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SE_KEY", raising=False)
    with pytest.raises(SourceError, match="key_env: environment variable SE_KEY is not set"):
        fetch_with("stackexchange", base_url="http://127.0.0.1:9", key_env="SE_KEY")


def test_page_cap_warns_only_when_new_questions_were_skipped(httpserver: HTTPServer) -> None:
    settings = Settings(retries=0, timeout=5, max_pages=1)
    respond_gzip(httpserver.expect_request(PATH), "page1.json")
    first = fetch_with("stackexchange", base_url=root(httpserver), settings=settings)
    assert len(httpserver.log) == 1
    assert first.items == (UPLOAD, STYLE)
    assert first.warnings == ()  # a first run is bounded on purpose

    again = fetch_with(
        "stackexchange",
        base_url=root(httpserver),
        settings=settings,
        state=SourceState(cursor='{"since": {"Acme": 1795000000}}'),
    )
    assert len(httpserver.log) == 2
    assert again.warnings == (
        "more than 1 pages of new questions for 'Acme': older ones were skipped "
        "(raise settings.max_pages or scan more often)",
    )
    assert cursor_of(again.state) == {"since": {"Acme": 1795168800}}


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("site: 42", r"c.yaml:3: sources\[0\].site: expected a Stack Exchange site"),
        ("site: 'stack overflow'", r"c.yaml:3: sources\[0\].site: expected a Stack Exchange"),
        ("tagged: [python, 3]", r"c.yaml:3: sources\[0\].tagged: expected a tag or a list"),
        ("key_env: ''", r"c.yaml:3: sources\[0\].key_env: expected the name of an environment"),
    ],
)
def test_bad_option_is_a_config_error(option: str, message: str) -> None:
    from mentionwatch.configure import parse_config
    from mentionwatch.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        parse_config(
            f"keywords: [Acme]\nsources:\n  - {{name: so, type: stackexchange, {option}}}\n",
            filename="c.yaml",
        )
