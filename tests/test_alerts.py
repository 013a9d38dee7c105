"""Alert rules over a real store: spikes (once per episode, explained), negative surges,
urgent terms, backtests, delivery by webhook (pytest-httpserver) and e-mail (aiosmtpd),
config errors, and the `alerts` command as cron runs it."""

from __future__ import annotations

import email
import email.policy
import itertools
import json
import re
import socket
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
import yaml
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

import mentionwatch.cli.alerts  # noqa: F401  (registers the command)
from mentionwatch.cli import app
from mentionwatch.config.alerts import (
    AlertDelivery,
    AlertsConfig,
    NegativeRule,
    SpikeRule,
    UrgentRule,
    parse_alerts,
)
from mentionwatch.config.model import EmailConfig
from mentionwatch.config.reader import Reader
from mentionwatch.configure import catalog, parse_config
from mentionwatch.errors import ConfigError
from mentionwatch.models import Match, RawItem, Sentiment
from mentionwatch.report import delivery
from mentionwatch.report.alerts import backtest, run_alerts, spike_numbers, webhook_payload
from mentionwatch.report.webhook import target_key as webhook_target
from mentionwatch.store import db as store
from mentionwatch.timeutil import utcnow

from .storing import save_run

runner = CliRunner()
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MIN = timedelta(minutes=1)
_ids = itertools.count()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = store.open_db(tmp_path / "m.db")
    yield database
    database.close()


def add(
    db: sqlite_utils.Database,
    at: datetime,
    n: int = 1,
    *,
    brands: tuple[str, ...] = ("Acme",),
    source: str = "hn",
    terms: tuple[str, ...] = ("Acme",),
    label: str = "neutral",
    title: str | None = None,
    text: str = "",
    reach: int | None = None,
) -> list[str]:
    """Store ``n`` posts published at ``at`` through the real write path."""
    mentions = []
    for _ in range(n):
        i = next(_ids)
        item = RawItem(
            external_id=str(i),
            url=f"https://{source}.example/{i}",
            title=title if title is not None else f"Acme post {i}",
            text=text,
            published=at,
            counters=(("points", reach),) if reach is not None else (),
        )
        score = {"negative": -0.8, "positive": 0.8}.get(label, 0.0)
        for brand in brands:
            mentions.append(
                store.NewMention(
                    post_id=store.post_key(source, item),
                    item=item,
                    match=Match(brand, terms, ()),
                    sentiment=Sentiment(score, label, "test"),  # type: ignore[arg-type]
                )
            )
    return save_run(db, source, mentions, at)


def quiet_hours(db: sqlite_utils.Database, end: datetime, hours: int) -> None:
    """0, 1 or 2 mentions in each hour before ``end``: a quiet, slightly noisy baseline."""
    for k in range(1, hours + 1):
        if k % 3:
            add(db, end - k * HOUR - 30 * MIN, k % 3, source="blog")


def burst(db: sqlite_utils.Database, start: datetime) -> None:
    """12 mentions in 30 minutes: 8 on reddit (4 also matching #acme), 4 on hn."""
    for j in range(8):
        terms = ("Acme", "#acme") if j < 4 else ("Acme",)
        add(db, start + j * 3 * MIN, source="reddit", terms=terms, reach=10 * j)
    for j in range(4):
        add(db, start + (j * 3 + 1) * MIN, source="hn")


SPIKE = SpikeRule(name="acme-spike", brand="Acme")
SPIKES = AlertsConfig(rules=(SPIKE,))


def rows(db: sqlite_utils.Database, rule: str) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM alerts WHERE rule = ? ORDER BY id", [rule]))


# ------------------------------------------------------------------------------ spikes


def test_spike_statistic() -> None:
    quiet = spike_numbers(5, [0] * 24, SPIKE)
    assert quiet["breach"]  # median 0, sigma floored at 1: z = 5
    assert quiet["fires_at"] == 5
    assert not spike_numbers(4, [0] * 24, SPIKE)["breach"]  # below min_count
    busy = [10] * 24  # MAD 0: the Poisson floor sqrt(10) keeps ordinary noise quiet
    assert not spike_numbers(18, busy, SPIKE)["breach"]
    assert spike_numbers(20, busy, SPIKE)["breach"]
    assert spike_numbers(20, busy, SPIKE)["fires_at"] == 20
    # An earlier spike in the baseline does not raise the bar (median/MAD, not mean/std).
    assert spike_numbers(9, [2] * 23 + [80], SPIKE)["breach"]


def test_spike_fires_once_per_episode_and_again_after_calm(db: sqlite_utils.Database) -> None:
    quiet_hours(db, NOW, 30)
    burst(db, NOW - 40 * MIN)

    first = run_alerts(SPIKES, None, db, now=NOW, deliver=False)
    assert [a.rule for a in first.fired] == ["acme-spike"]
    alert = first.fired[0]
    assert alert.kind == "spike"
    assert alert.brand == "Acme"
    assert alert.episode == alert.window_start == "2026-11-20T11:00:00Z"
    assert alert.window_end == "2026-11-20T12:00:00Z"

    # Still inside the same burst a quarter-hour later: nothing new fires.
    again = run_alerts(SPIKES, None, db, now=NOW + 15 * MIN, deliver=False)
    assert again.fired == ()
    (stored,) = rows(db, "acme-spike")
    state = json.loads(stored["details"])["episode"]
    assert state["open"] is True
    assert state["breaches"] == 2
    assert state["last_breach"] == "2026-11-20T12:15:00Z"

    # Calm: the episode closes, nothing fires.
    assert run_alerts(SPIKES, None, db, now=NOW + 2 * HOUR, deliver=False).fired == ()
    state = json.loads(rows(db, "acme-spike")[0]["details"])["episode"]
    assert state["open"] is False
    assert state["ended"] == "2026-11-20T14:00:00Z"

    # A new burst is a new episode.
    burst(db, NOW + 2 * HOUR + 20 * MIN)
    later = run_alerts(SPIKES, None, db, now=NOW + 3 * HOUR, deliver=False)
    assert [a.episode for a in later.fired] == ["2026-11-20T14:00:00Z"]
    assert len(rows(db, "acme-spike")) == 2


def test_spike_is_explained(db: sqlite_utils.Database) -> None:
    quiet_hours(db, NOW, 30)
    burst(db, NOW - 40 * MIN)
    (alert,) = run_alerts(SPIKES, None, db, now=NOW, deliver=False).fired
    details = alert.details
    assert details["top_terms"] == [{"term": "Acme", "count": 12}, {"term": "#acme", "count": 4}]
    assert details["top_sources"] == [
        {"source": "reddit", "count": 8},
        {"source": "hn", "count": 4},
    ]
    numbers = details["numbers"]
    assert numbers["count"] == 12
    assert numbers["baseline_windows"] == 24
    assert numbers["baseline_median"] == 1
    assert numbers["z"] >= 3
    assert details["window"] == "1h"
    # The most-read mentions are the examples.
    assert [e["source"] for e in details["examples"]] == ["reddit"] * 3
    assert alert.summary.startswith("Acme: 12 mentions in 1h vs a median of 1 per 1h")
    assert "top terms: Acme (12), #acme (4)" in alert.summary
    assert "top sources: reddit (8), hn (4)" in alert.summary


def test_spike_other_brand_and_all_brands(db: sqlite_utils.Database) -> None:
    quiet_hours(db, NOW, 30)
    burst(db, NOW - 40 * MIN)
    globex = AlertsConfig(rules=(SpikeRule(name="globex-spike", brand="Globex"),))
    assert run_alerts(globex, None, db, now=NOW, deliver=False).fired == ()
    everyone = AlertsConfig(rules=(SpikeRule(name="all-spike"),))
    (alert,) = run_alerts(everyone, None, db, now=NOW, deliver=False).fired
    assert alert.brand is None
    assert alert.summary.startswith("all brands: 12 mentions")
    assert alert.details["top_brands"] == [{"brand": "Acme", "count": 12}]


def test_spike_gap_without_evaluation_starts_a_new_episode(db: sqlite_utils.Database) -> None:
    quiet_hours(db, NOW, 30)
    for h in range(-1, 4):  # a burst that goes on for hours
        for j in range(12):
            add(db, NOW + h * HOUR + j * 5 * MIN)
    assert len(run_alerts(SPIKES, None, db, now=NOW, deliver=False).fired) == 1
    # Nobody evaluated for two windows: we cannot say it never stopped.
    assert len(run_alerts(SPIKES, None, db, now=NOW + 3 * HOUR, deliver=False).fired) == 1
    old, new = rows(db, "acme-spike")
    assert json.loads(old["details"])["episode"]["closed"] == "not evaluated"
    assert json.loads(new["details"])["episode"]["open"] is True


# ------------------------------------------------------------------- negative and urgent


def test_negative_surge(db: sqlite_utils.Database) -> None:
    rule = NegativeRule(name="acme-negative", brand="Acme", window=6 * HOUR, baseline=8)
    cfg = AlertsConfig(rules=(rule,))
    for k in range(1, 50):  # two days, about one in ten negative
        add(db, NOW - 6 * HOUR - k * HOUR, label="negative" if k % 10 == 0 else "positive")
    add(db, NOW - 3 * HOUR, 2, label="positive")
    add(db, NOW - 2 * HOUR, 4, label="negative", source="reddit", terms=("Acme", "Acme Corp"))
    assert run_alerts(cfg, None, db, now=NOW, deliver=False).fired == ()  # 4 < min_count
    add(db, NOW - HOUR, 2, label="negative", source="hn")
    (alert,) = run_alerts(cfg, None, db, now=NOW, deliver=False).fired
    numbers = alert.details["numbers"]
    assert numbers["negatives"] == 6
    assert numbers["count"] == 8
    assert numbers["share"] == 0.75
    assert numbers["baseline_share"] < 0.15
    assert alert.summary.startswith("Acme: 6 of 8 mentions negative (75%) in 6h vs ")
    # Explained by the negative mentions only.
    assert alert.details["top_sources"] == [
        {"source": "reddit", "count": 4},
        {"source": "hn", "count": 2},
    ]
    assert {"term": "Acme Corp", "count": 4} in alert.details["top_terms"]
    assert run_alerts(cfg, None, db, now=NOW + HOUR, deliver=False).fired == ()


def test_negative_needs_a_rise_over_the_baseline(db: sqlite_utils.Database) -> None:
    rule = NegativeRule(name="grumpy", window=6 * HOUR, baseline=8)
    for k in range(1, 50):  # a brand people always complain about
        add(db, NOW - 6 * HOUR - k * HOUR, label="negative" if k % 3 else "neutral")
    add(db, NOW - HOUR, 6, label="negative")
    add(db, NOW - HOUR, 2, label="neutral")
    assert run_alerts(AlertsConfig(rules=(rule,)), None, db, now=NOW, deliver=False).fired == ()


URGENT = UrgentRule(name="urgent-words", terms=("recall", "data breach", "lawsuit"))


def test_urgent_terms_fire_once_per_mention(db: sqlite_utils.Database) -> None:
    cfg = AlertsConfig(rules=(URGENT,))
    add(db, NOW - 5 * MIN, title="Acme announces a recall of its phones")
    add(db, NOW - 5 * MIN, title="Acme recalled the memo")  # whole words: not "recall"
    add(db, NOW - 4 * MIN, title="Acme", text="A data\n  breach at Acme, says the press")
    add(db, NOW - 3 * MIN, title="Acme vs Globex lawsuit", brands=("Acme", "Globex"))
    add(db, NOW - 3 * HOUR * 24, title="An old recall at Acme")  # too old for `within`
    add(db, NOW - 2 * MIN, title="Acme: nothing urgent here")

    fired = run_alerts(cfg, None, db, now=NOW, deliver=False).fired
    assert [a.details["terms"] for a in fired] == [["recall"], ["data breach"], ["lawsuit"]]
    assert all(a.kind == "urgent" for a in fired)
    assert fired[0].episode == fired[0].details["mention"]["id"]
    assert fired[0].summary == (
        'Acme mention on hn says "recall": Acme announces a recall of its phones'
    )
    assert fired[0].details["mention"]["url"].startswith("https://hn.example/")
    # A post naming two brands fires once; a second run fires nothing.
    assert run_alerts(cfg, None, db, now=NOW + MIN, deliver=False).fired == ()
    # Looking further back (alerts --since 7d) finds the old one, once.
    older = run_alerts(cfg, None, db, now=NOW, deliver=False, urgent_since=NOW - 7 * 24 * HOUR)
    assert [a.details["mention"]["title"] for a in older.fired] == ["An old recall at Acme"]


def test_urgent_rule_for_one_brand(db: sqlite_utils.Database) -> None:
    rule = UrgentRule(name="globex-urgent", terms=("lawsuit",), brand="Globex")
    add(db, NOW - 5 * MIN, title="Acme lawsuit")
    add(db, NOW - 4 * MIN, title="Acme and Globex lawsuit", brands=("Acme", "Globex"))
    (alert,) = run_alerts(AlertsConfig(rules=(rule,)), None, db, now=NOW, deliver=False).fired
    assert alert.brand == "Globex"
    assert alert.details["mention"]["brand"] == "Globex"


# ---------------------------------------------------------------------------- backtest


def test_backtest_lists_episode_starts_and_stores_nothing(db: sqlite_utils.Database) -> None:
    quiet_hours(db, NOW, 24 * 6)
    burst(db, NOW - 3 * 24 * HOUR + 10 * MIN)
    burst(db, NOW - 24 * HOUR - 2 * HOUR + 35 * MIN)
    negative = NegativeRule(name="neg", brand="Acme")
    cfg = AlertsConfig(rules=(SPIKE, negative, URGENT))
    episodes = backtest(cfg, db, since=NOW - 4 * 24 * HOUR, now=NOW)
    assert [e.rule for e in episodes] == ["acme-spike", "acme-spike"]
    first, second = episodes
    # Windows a quarter-hour apart: the first that holds enough of the burst (12:10-12:31).
    assert (first.window_start, first.window_end) == (
        "2026-11-17T11:30:00Z",
        "2026-11-17T12:30:00Z",
    )
    assert first.peak == 14  # the 12 of the burst and 2 quiet ones in the same hour
    assert first.ended is not None
    assert first.details["numbers"]["breach"] is True
    assert "top sources: reddit" in first.summary
    assert second.window_start == "2026-11-19T09:45:00Z"  # burst 10:35-10:56
    assert rows(db, "acme-spike") == []
    assert list(db.query("SELECT * FROM alerts")) == []


# ---------------------------------------------------------------------------- webhooks


def _webhook_cfg(rule: Any = URGENT) -> AlertsConfig:
    return AlertsConfig(rules=(rule,), deliver=AlertDelivery(webhook_url_env="TEST_HOOK_URL"))


def test_webhook_delivery_exactly_once_across_a_failure(
    db: sqlite_utils.Database, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = httpserver.url_for("/services/T0/B0/secret")
    monkeypatch.setenv("TEST_HOOK_URL", url)
    cfg = _webhook_cfg()
    add(db, NOW - 5 * MIN, title="Acme recall <!channel> <https://evil.example|click> & more")

    httpserver.expect_oneshot_request("/services/T0/B0/secret", method="POST").respond_with_data(
        "no_service", status=500
    )
    failed = run_alerts(cfg, None, db, now=NOW)
    assert len(failed.fired) == 1
    assert not failed.ok
    (result,) = failed.failures
    assert result.channel == "webhook"
    assert "HTTP 500" in (result.error or "")
    assert "no_service" in (result.error or "")
    assert "secret" not in (result.error or "") + result.target  # the URL path is the secret
    target = webhook_target(url)
    assert delivery.undelivered_alerts(db, target) == [failed.fired[0].id]

    httpserver.expect_oneshot_request("/services/T0/B0/secret", method="POST").respond_with_data(
        "ok"
    )
    retried = run_alerts(cfg, None, db, now=NOW + 10 * MIN)
    assert retried.fired == ()
    assert retried.ok
    assert [c.alert_ids for c in retried.channels] == [(failed.fired[0].id,)]
    assert delivery.undelivered_alerts(db, target) == []

    assert run_alerts(cfg, None, db, now=NOW + 20 * MIN).channels == ()  # nothing to send
    httpserver.check_assertions()
    assert len(httpserver.log) == 2
    payload = json.loads(httpserver.log[-1][0].get_data())
    assert payload["count"] == 1
    assert payload["alerts"][0]["rule"] == "urgent-words"
    text = payload["text"]
    assert text.startswith("*mentionwatch: 1 alert*")
    # Slack markup from a post stays text: no pings, no disguised links.
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text
    assert "&lt;https://evil.example|click&gt; &amp; more" in text
    assert "https://hn.example/" in text
    recorded = delivery.last(db, kind="alert", channel="webhook")
    assert recorded is not None
    assert json.loads(recorded["body"]) == payload


def test_webhook_url_env_unset_is_a_failure_not_a_crash(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_HOOK_URL", raising=False)
    add(db, NOW - 5 * MIN, title="Acme lawsuit")
    run = run_alerts(_webhook_cfg(), None, db, now=NOW)
    assert len(run.fired) == 1
    (failure,) = run.failures
    assert failure.error == (
        "environment variable TEST_HOOK_URL (alerts.deliver.webhook_url_env) is not set"
    )


def test_webhook_skips_alerts_older_than_max_age(
    db: sqlite_utils.Database, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_URL", httpserver.url_for("/hook"))
    add(db, NOW - 5 * MIN, title="Acme lawsuit")
    run_alerts(_webhook_cfg(), None, db, now=NOW, deliver=False)
    # A webhook configured ten days later does not receive last week's news.
    later = run_alerts(_webhook_cfg(), None, db, now=NOW + 10 * 24 * HOUR)
    assert [(c.alert_ids, c.skipped_old) for c in later.channels] == [((), 1)]
    assert httpserver.log == []


def test_webhook_payload_lists_at_most_twenty() -> None:
    from mentionwatch.report.alerts import Alert

    many = [
        Alert(i, "r", "urgent", "Acme", str(i), "2026-11-20T12:00:00Z", None, None, "s", {})
        for i in range(25)
    ]
    payload = webhook_payload(many)
    assert payload["text"].endswith("… and 5 more")
    assert len(payload["alerts"]) == 25


# ------------------------------------------------------------------------------- e-mail


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


class RefuseAll:
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return "550 5.1.1 mailbox unavailable"


@pytest.fixture
def smtp() -> Iterator[Callable[[Any], int]]:
    controllers: list[Controller] = []

    def start(handler: Any) -> int:
        port = _free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for c in controllers:
        c.stop()


def _email_cfg(port: int) -> EmailConfig:
    return EmailConfig(
        host="127.0.0.1", port=port, sender="mw@example.com", to=("team@example.com",)
    )


def test_email_delivery_exactly_once_across_a_refusal(
    db: sqlite_utils.Database, smtp: Callable[[Any], int]
) -> None:
    quiet_hours(db, NOW, 30)
    burst(db, NOW - 40 * MIN)
    add(db, NOW - 5 * MIN, title="Acme data breach")
    cfg = AlertsConfig(
        rules=(SPIKE, URGENT),
        deliver=AlertDelivery(email=True, email_to=("Oncall@example.com",)),
    )
    refused = run_alerts(cfg, _email_cfg(smtp(RefuseAll())), db, now=NOW)
    assert len(refused.fired) == 2
    (failure,) = refused.failures
    assert "refused every recipient" in (failure.error or "")
    assert failure.target == "oncall@example.com"
    assert len(delivery.undelivered_alerts(db, "oncall@example.com")) == 2

    inbox = Inbox()
    email_cfg = _email_cfg(smtp(inbox))
    sent = run_alerts(cfg, email_cfg, db, now=NOW + 5 * MIN)
    assert sent.ok
    assert sent.fired == ()
    assert run_alerts(cfg, email_cfg, db, now=NOW + 10 * MIN).channels == ()
    (envelope,) = inbox.envelopes
    assert envelope.rcpt_tos == ["Oncall@example.com"]  # deliver.email list, not email.to
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert msg["Subject"] == "mentionwatch: 2 alerts: acme-spike, urgent-words"
    body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "[spike] acme-spike — Acme" in body
    assert "top terms: Acme (13), #acme (4)" in body
    assert "[urgent] urgent-words — Acme" in body
    assert "Acme data breach" in body
    # Multipart like the digest: the same explanation and top posts, with links.
    assert msg.get_content_type() == "multipart/alternative"
    page = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "acme-spike" in page
    assert "top terms: Acme (13), #acme (4)" in page
    assert "Acme data breach</a>" in page
    assert re.search(r'<a href="https?://[^"]+">', page)
    assert "<script" not in page.lower()
    assert delivery.undelivered_alerts(db, "oncall@example.com") == []


# ------------------------------------------------------------------------------ config


def parse(text: str, *, has_email: bool = True) -> AlertsConfig | None:
    reader = Reader("alerts.yaml", catalog())
    node = yaml.compose(textwrap.dedent(text), Loader=yaml.SafeLoader)
    assert node is not None
    data = reader.convert(node, ())
    return parse_alerts(reader, data.get("alerts"), brands=("Acme", "Globex"), has_email=has_email)


def test_config_parses_every_rule_type() -> None:
    cfg = parse(
        """\
        alerts:
          deliver:
            email: true
            webhook_url_env: SLACK_WEBHOOK_URL
          rules:
            - {name: acme-spike, type: spike, brand: acme, window: 1h, baseline: 24,
               sensitivity: 3.0, min_count: 5}
            - {name: acme-negative, type: negative, window: 6h, min_count: 5, threshold: 0.5}
            - name: urgent-words
              type: urgent
              terms: ["recall", "data breach", "lawsuit"]
        """
    )
    assert cfg is not None
    spike, negative, urgent = cfg.rules
    assert spike == SpikeRule(name="acme-spike", brand="Acme")  # brand spelled as configured
    assert negative == NegativeRule(name="acme-negative", window=6 * HOUR, threshold=0.5)
    assert urgent == UrgentRule(name="urgent-words", terms=("recall", "data breach", "lawsuit"))
    assert cfg.deliver == AlertDelivery(email=True, webhook_url_env="SLACK_WEBHOOK_URL")
    assert parse("brands: []\n") is None


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        (
            "- {name: a, type: spkie}",
            "alerts.yaml:4: alerts.rules[0].type: unknown rule type 'spkie' "
            "(did you mean 'spike'?); known: spike, negative, urgent",
        ),
        (
            "- {name: a, type: spike, window: 3x}",
            "alerts.yaml:4: alerts.rules[0].window: cannot read '3x': "
            "expected a duration like 30m, 1h, 6h, 1d or 1w",
        ),
        (
            "- {name: a, type: spike, window: 60}",
            "alerts.yaml:4: alerts.rules[0].window: cannot read 60 (add a unit: m, h, d or w)",
        ),
        (
            "- {name: a, type: spike, sensitivty: 2}",
            "alerts.yaml:4: alerts.rules[0].sensitivty: unknown key (did you mean 'sensitivity'?)",
        ),
        (
            "- {name: a, type: spike, brand: Acmee}",
            "alerts.yaml:4: alerts.rules[0].brand: unknown brand 'Acmee' (did you mean 'Acme'?); "
            "configured: Acme, Globex",
        ),
        (
            "- {name: a, type: urgent}",
            "alerts.yaml:4: alerts.rules[0]: missing `terms`",
        ),
        (
            "- {name: a, type: urgent, terms: ['!!!']}",
            "alerts.yaml:4: alerts.rules[0].terms[0]: '!!!' can never match: "
            "it has no letters or digits",
        ),
        (
            "- {name: a, type: negative, threshold: 2}",
            "alerts.yaml:4: alerts.rules[0].threshold: must be between 0.01 and 1, got 2",
        ),
        (
            "- {type: spike}",
            "alerts.yaml:4: alerts.rules[0]: missing `name`",
        ),
        (
            "- {name: a, type: spike}\n    - {name: A, type: urgent, terms: [x]}",
            "alerts.yaml:5: alerts.rules[1].name: duplicate rule name 'A'",
        ),
    ],
)
def test_config_errors_name_file_line_and_key(snippet: str, message: str) -> None:
    text = "brands: []\nalerts:\n  rules:\n    " + snippet + "\n"
    with pytest.raises(ConfigError) as err:
        parse(text)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("deliver", "message"),
    [
        ("{email: true}", "alerts.yaml:3: alerts.deliver.email: needs an `email:` section"),
        (
            "{webhook_url: 'https://h.example/x', webhook_url_env: X}",
            "alerts.yaml:3: alerts.deliver: choose one of `webhook_url` and `webhook_url_env`",
        ),
        (
            "{webhook_url_env: 'https://hooks.slack.com/services/x'}",
            "alerts.yaml:3: alerts.deliver.webhook_url_env: 'https://hooks.slack.com/services/x' "
            "is not an environment variable name",
        ),
        ("{webhook_url: 'ftp://x'}", "alerts.yaml:3: alerts.deliver.webhook_url: invalid URL"),
        ("{emial: true}", "alerts.yaml:3: alerts.deliver.emial: unknown key (did you mean"),
    ],
)
def test_deliver_config_errors(deliver: str, message: str) -> None:
    text = f"brands: []\nalerts:\n  deliver: {deliver}\n  rules:\n    - {{name: a, type: spike}}\n"
    with pytest.raises(ConfigError) as err:
        parse(text, has_email=False)
    assert str(err.value).startswith(message)


def test_config_file_reads_alerts(write_config: Callable[[str], Path]) -> None:
    path = write_config(
        """\
        brands: [{name: Acme, keywords: [Acme]}]
        sources: [https://example.com/feed.xml]
        alerts:
          rules:
            - {name: s, type: spkie}
        """
    )
    with pytest.raises(ConfigError, match=r"mentionwatch.yaml:5: alerts.rules\[0\].type"):
        parse_config(path.read_text(), filename="mentionwatch.yaml")


# ------------------------------------------------------------------------------ the CLI


@pytest.fixture
def cli_config(
    write_config: Callable[[str], Path], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("TEST_HOOK_URL", httpserver.url_for("/hook"))
    return write_config(
        """\
        database: m.db
        brands: [{name: Acme, keywords: [Acme]}]
        sources: [https://example.com/feed.xml]
        alerts:
          deliver: {webhook_url_env: TEST_HOOK_URL}
          rules:
            - {name: acme-spike, type: spike, brand: Acme}
            - {name: urgent-words, type: urgent, terms: [recall, lawsuit]}
        """
    )


def test_cli_alerts_failure_exit_1_then_delivered_once(
    cli_config: Path, tmp_path: Path, httpserver: HTTPServer
) -> None:
    with store.open_db(tmp_path / "m.db") as database:
        add(database, utcnow() - 10 * MIN, title="Acme recall announced")
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("", status=500)
    first = runner.invoke(app, ["alerts", "--format", "json"])
    assert first.exit_code == 1, first.output
    (fired,) = json.loads(first.stdout)
    assert fired["rule"] == "urgent-words"
    assert "error: alert delivery by webhook http://localhost:" in first.stderr
    assert "HTTP 500" in first.stderr
    assert "1 alert(s) stay pending for the next run" in first.stderr

    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    second = runner.invoke(app, ["alerts", "--format", "json"])
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout) == []
    third = runner.invoke(app, ["alerts", "-q"])
    assert third.exit_code == 0
    assert third.stdout == ""
    assert len(httpserver.log) == 2
    assert json.loads(httpserver.log[1][0].get_data())["alerts"][0]["id"] == fired["id"]


def test_cli_no_deliver_and_backtest(
    cli_config: Path, tmp_path: Path, httpserver: HTTPServer
) -> None:
    now = utcnow()
    with store.open_db(tmp_path / "m.db") as database:
        quiet_hours(database, now, 24 * 4)
        burst(database, now - 2 * 24 * HOUR)
    result = runner.invoke(app, ["alerts", "--no-deliver", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    episodes = json.loads(
        runner.invoke(app, ["alerts", "--backtest", "--since", "3d", "--format", "json"]).stdout
    )
    assert [e["rule"] for e in episodes] == ["acme-spike"]
    assert episodes[0]["details"]["numbers"]["count"] >= 5
    table = runner.invoke(app, ["alerts", "--backtest", "--since", "3d"], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "acme-spike" in table.stdout
    assert "Would have fired" in table.stdout
    assert httpserver.log == []
    with store.open_db(tmp_path / "m.db") as database:
        assert list(database.query("SELECT * FROM alerts")) == []


def test_cli_without_alert_rules_is_a_config_error(write_config: Callable[[str], Path]) -> None:
    write_config(
        """\
        brands: [{name: Acme, keywords: [Acme]}]
        sources: [https://example.com/feed.xml]
        """
    )
    result = runner.invoke(app, ["alerts"])
    assert result.exit_code == 2
    assert "no `alerts:` section" in result.stderr


def test_cli_waits_for_a_running_scan(cli_config: Path, tmp_path: Path) -> None:
    from mentionwatch.store.locking import hold

    with hold(tmp_path / "m.db", "scan"):
        result = runner.invoke(app, ["alerts"])
    assert result.exit_code == 1
    assert "another mentionwatch run" in result.stderr
    assert "not starting this alerts" in result.stderr


def test_cli_csv_has_no_details_column(cli_config: Path, tmp_path: Path) -> None:
    database = store.open_db(tmp_path / "m.db")
    add(database, utcnow() - 10 * MIN, title="Acme lawsuit, says a post")
    database.close()
    result = runner.invoke(app, ["alerts", "--no-deliver", "--format", "csv"])
    assert result.exit_code == 0, result.output
    header, row, *_ = result.stdout.splitlines()
    assert header == "id,rule,kind,brand,episode,fired,window_start,window_end,summary"
    assert row.startswith("1,urgent-words,urgent,Acme,")


def test_alert_html_is_inert() -> None:
    from mentionwatch.report.alerts import Alert, alert_html

    hostile = Alert(
        id=1, rule="<b>r</b>", kind="urgent", brand="Acme", episode="e", fired="2026-11-21",
        window_start=None, window_end=None, summary="<img src=x onerror=alert(1)>",
        details={"mention": {"title": "<script>alert(1)</script>", "url": "javascript:alert(1)"}},
    )  # fmt: skip
    page = alert_html([hostile])
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "href" not in page  # only http(s) URLs become links


def _recent_rss(posts: list[tuple[str, str]], now: datetime) -> bytes:
    """RSS items (title, body) published over the last half hour."""
    items = "".join(
        f"<item><guid isPermaLink='false'>g{i}</guid><link>https://n.example/{i}</link>"
        f"<title>{title}</title><description>{body}</description>"
        f"<pubDate>{email.utils.format_datetime(now - (i + 1) * MIN)}</pubDate></item>"
        for i, (title, body) in enumerate(posts)
    )
    return f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()


def test_rules_without_a_brand_count_only_own_brands(
    httpserver: HTTPServer, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    """Competitors and topics count in alerts only if a rule names them: through a scan,
    a burst of competitor mentions and a competitor's "recall" fire the rules that name
    the competitor, never the rules without a brand (which count the own brand only)."""
    posts = [("Acme recall notice", "Acme asks owners to return the kettle.")]
    posts += [(f"Globex news {i}", "Globex did a thing.") for i in range(5)]
    posts += [("Globex recall", "Globex recalls its toaster."), ("Trends", "kettles are hot")]
    feed = _recent_rss(posts, utcnow())
    httpserver.expect_request("/f.xml").respond_with_data(feed, content_type="application/xml")
    write_config(
        f"""\
        database: m.db
        brands:
          - {{name: Acme, keywords: [Acme]}}
          - {{name: Globex, keywords: [Globex], role: competitor}}
          - {{name: Kettles, keywords: [kettle, kettles], role: topic}}
        sources: ["{httpserver.url_for("/f.xml")}"]
        alerts:
          rules:
            - {{name: any-spike, type: spike, min_count: 3}}
            - {{name: globex-spike, type: spike, brand: Globex, min_count: 3}}
            - {{name: any-recall, type: urgent, terms: [recall]}}
            - {{name: globex-recall, type: urgent, terms: [recall], brand: Globex}}
        """
    )
    result = runner.invoke(app, ["scan", "-q", "--alerts"])
    assert result.exit_code == 0, result.output
    with store.open_db(tmp_path / "m.db") as database:
        counted = dict(
            database.execute("SELECT brand, count(*) FROM mentions GROUP BY 1").fetchall()
        )
        fired = [
            (r["rule"], r["brand"]) for r in database.query("SELECT * FROM alerts ORDER BY id")
        ]
    assert counted == {"Acme": 1, "Globex": 6, "Kettles": 2}
    # Seven mentions in all within the hour, but only one of the own brand: no spike.
    assert sorted(fired) == [
        ("any-recall", "Acme"),
        ("globex-recall", "Globex"),
        ("globex-spike", "Globex"),
    ]
    # The backtest replays with the same scope.
    episodes = json.loads(
        runner.invoke(app, ["alerts", "--backtest", "--since", "1d", "-f", "json"]).stdout
    )
    assert {e["rule"] for e in episodes} == {"globex-spike"}
