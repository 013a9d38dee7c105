"""Webhook POSTs against real HTTP servers on 127.0.0.1: accepted, refused, redirected,
silent, unreachable; and the secret in the URL's path never shows."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from mentionwatch.report.webhook import WebhookError, describe_url, post_json, target_key

SECRET_PATH = "/services/T000/B000/XXXXsecretXXXX"


def test_posts_json_with_a_text_field(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        SECRET_PATH, method="POST", headers={"Content-Type": "application/json"}
    ).respond_with_data("ok")
    status = post_json(
        httpserver.url_for(SECRET_PATH),
        {"text": "*1 alert* Acme: 12 mentions", "alerts": [{"id": 1}]},
        timeout=5,
        user_agent="mentionwatch-test",
    )
    assert status == 200
    httpserver.check_assertions()
    (request, _), *_ = httpserver.log
    assert json.loads(request.get_data()) == {
        "text": "*1 alert* Acme: 12 mentions",
        "alerts": [{"id": 1}],
    }
    assert request.headers["User-Agent"] == "mentionwatch-test"


def test_a_server_error_is_a_clear_error_without_the_secret(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(SECRET_PATH, method="POST").respond_with_data(
        "no_service\x1b[31m", status=500
    )
    with pytest.raises(WebhookError) as err:
        post_json(httpserver.url_for(SECRET_PATH), {"text": "x"}, timeout=5)
    message = str(err.value)
    assert message.startswith(f"webhook http://localhost:{httpserver.port}/… refused the alert")
    assert "HTTP 500" in message
    assert message.endswith(": no_service")  # the server's reason, made inert
    assert "secret" not in message


def test_a_redirect_is_not_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/old", method="POST").respond_with_data(
        "", status=301, headers={"Location": "https://hooks.example.com/new/secret"}
    )
    with pytest.raises(WebhookError, match=r"redirected to https://hooks.example.com/…; use"):
        post_json(httpserver.url_for("/old"), {"text": "x"}, timeout=5)
    assert len(httpserver.log) == 1


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections (the kernel does) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        yield f"http://127.0.0.1:{s.getsockname()[1]}/hook"


def test_a_silent_server_times_out(silent_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(WebhookError, match=r"did not answer in 0.5s"):
        post_json(silent_server, {"text": "x"}, timeout=0.5)
    assert time.monotonic() - started < 3


def test_an_unreachable_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(WebhookError, match=rf"cannot reach webhook http://127.0.0.1:{port}/…"):
        post_json(f"http://127.0.0.1:{port}/hook", {"text": "x"}, timeout=2)


def test_names_for_logs_and_the_deliveries_table_hide_the_path() -> None:
    a = "https://hooks.slack.com/services/T0/B0/aaaa"
    b = "https://hooks.slack.com/services/T0/B0/bbbb"
    assert describe_url(a) == "https://hooks.slack.com/…"
    assert target_key(a).startswith("webhook:https://hooks.slack.com#")
    assert "aaaa" not in target_key(a)
    assert target_key(a) != target_key(b)  # two hooks on one host are two targets
    assert target_key(a) == target_key(a + " ")
