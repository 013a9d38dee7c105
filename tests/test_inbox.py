"""The webcare inbox over a real store: priority order and its reasons, response-time
targets (overdue first, red), the status history written by assign/open/done/ignore/note
with who and when, `show` printing it, filters and every output format, and overdue
mentions first in the digest's "needs an answer"."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from typer.testing import CliRunner

from mentionwatch.analysis.sentiment import label_for
from mentionwatch.cli import app
from mentionwatch.cli.inbox import inbox_table
from mentionwatch.config.policy import PolicyRule
from mentionwatch.configure import parse_config
from mentionwatch.errors import ConfigError
from mentionwatch.models import Match, RawItem, Sentiment, SourceReport
from mentionwatch.report.digest import build_digest, make_period
from mentionwatch.report.render import render_text
from mentionwatch.store import db as store
from mentionwatch.timeutil import from_iso, utcnow
from mentionwatch.webcare.inbox import (
    INBOX_FIELDS,
    assign,
    history,
    inbox,
    reach_text,
    response_target,
    set_status,
    span_text,
)
from mentionwatch.webcare.policy import PolicyChecker, flag_mentions

runner = CliRunner()
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
_ids = itertools.count()

BASE = """\
database: m.db
brands:
  - {name: Acme, keywords: [Acme]}
  - {name: Globex, keywords: [Globex]}
sources: [https://feed.example/a.xml]
"""


def add(
    db: sqlite_utils.Database,
    at: datetime,
    *,
    title: str = "Acme post",
    text: str = "",
    brand: str = "Acme",
    score: float = 0.0,
    reach: int | None = None,
    author: str = "someone",
) -> str:
    """Store one post (and its mention) through the real write path; returns the id."""
    i = next(_ids)
    item = RawItem(
        external_id=str(i),
        url=f"https://news.example/{i}",
        title=title,
        text=text,
        author=author,
        published=at,
        counters=(("points", reach),) if reach is not None else (),
    )
    label: Any = label_for(score)
    (mid,) = store.save_source_run(
        db,
        source="news",
        source_type="rss",
        mentions=[
            store.NewMention(
                store.post_key("news", item),
                item,
                Match(brand, (brand,), ()),
                Sentiment(score, label, "t"),
            )
        ],
        state=None,
        report=SourceReport("news", "rss", "ok"),
        fetched=at,
    )
    return mid


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = store.open_db(tmp_path / "m.db")
    yield database
    database.close()


def order(db: sqlite_utils.Database, config_text: str = BASE, **kw: Any) -> list[str]:
    return [i.id for i in inbox(db, parse_config(config_text), now=NOW, **kw)]


# ------------------------------------------------------------------------ priority


def test_negative_high_reach_outranks_neutral_low_reach(db: sqlite_utils.Database) -> None:
    neutral = add(db, NOW - HOUR, score=0.0, reach=3)
    negative = add(db, NOW - HOUR, score=-0.8, reach=12_000)
    positive = add(db, NOW - HOUR, score=0.9, reach=3)
    assert order(db) == [negative, neutral, positive]
    first = inbox(db, parse_config(BASE), now=NOW)[0]
    assert first.rank == 1
    assert first.reasons == ("negative -0.80", "reach 12k", "1h old")
    assert first.reason == "negative -0.80 · reach 12k · 1h old"


def test_overdue_outranks_fresh_and_is_explained(db: sqlite_utils.Database) -> None:
    cfg = BASE + "inbox: {respond_within: {negative: 2h, neutral: 1d}}\n"
    fresh = add(db, NOW - HOUR, score=-0.9, reach=50_000)  # due in 1h
    late = add(db, NOW - 5 * HOUR, score=-0.1, reach=2)  # due 3h ago
    calm = add(db, NOW - 30 * HOUR, score=0.0)  # neutral, 1d: 6h overdue
    assert order(db, cfg) == [late, calm, fresh]  # overdue first: the fresher overdue first
    items = {i.id: i for i in inbox(db, parse_config(cfg), now=NOW)}
    assert items[late].overdue
    assert items[late].overdue_by == 3 * HOUR
    assert items[late].reason.startswith("overdue 3h · negative -0.10")
    assert items[fresh].due == NOW + HOUR
    assert items[fresh].reason.startswith("due in 1h · negative -0.90 · reach 50k")
    # Without targets nothing is overdue, and the big negative post leads again.
    assert order(db)[0] == fresh


def test_answered_mentions_are_not_overdue(db: sqlite_utils.Database) -> None:
    cfg = BASE + "inbox: {respond_within: 1h}\n"
    late = add(db, NOW - 5 * HOUR, score=-0.5)
    set_status(db, [late], "responded", who="ann", now=NOW)
    (item,) = inbox(db, parse_config(cfg), now=NOW, statuses=("responded",))
    assert not item.overdue
    assert item.due is not None
    assert "overdue" not in item.reason
    assert "due in" not in item.reason


def test_flagged_outranks_everything_most_severe_first(db: sqlite_utils.Database) -> None:
    cfg = BASE + "inbox: {respond_within: 1h}\n"
    overdue = add(db, NOW - 9 * HOUR, score=-0.9, reach=90_000)
    low = add(db, NOW - HOUR, title="Acme beta notes", score=0.5)
    high = add(db, NOW - HOUR, title="Acme Project Falcon slides", score=0.5)
    checker = PolicyChecker(
        [
            PolicyRule(name="beta", severity="low", terms=("beta",)),
            PolicyRule(name="confidential", severity="high", terms=("project falcon",)),
        ]
    )
    flags = flag_mentions(db, checker, [overdue, low, high], now=NOW)
    assert {(f.mention_id, f.rule) for f in flags} == {(low, "beta"), (high, "confidential")}
    assert order(db, cfg) == [high, low, overdue]
    top = inbox(db, parse_config(cfg), now=NOW)[0]
    assert top.reasons[0] == "flag: confidential (high)"
    assert top.as_record()["flags"] == ["confidential (high)"]


def test_wording() -> None:
    assert [span_text(timedelta(minutes=m)) for m in (0, 45, 60, 200, 1440, 1500, 30 * 1440)] == [
        "0m", "45m", "1h", "3h 20m", "1d", "1d 1h", "4w",
    ]  # fmt: skip
    assert [reach_text(n) for n in (950, 1200, 12_345, 3_400_000)] == ["950", "1.2k", "12k", "3.4M"]


# ------------------------------------------------------------------------ targets


def test_response_target_stricter_of_brand_and_sentiment() -> None:
    cfg = parse_config(
        """\
brands:
  - {name: Acme, keywords: [Acme], respond_within: 4h}
  - {name: Globex, keywords: [Globex]}
sources: [https://feed.example/a.xml]
inbox:
  respond_within: {negative: 2h, neutral: 1d}
"""
    )
    assert response_target(cfg, "Acme", "negative") == timedelta(hours=2)  # sentiment stricter
    assert response_target(cfg, "acme", "neutral") == timedelta(hours=4)  # brand stricter
    assert response_target(cfg, "Acme", "positive") == timedelta(hours=4)  # brand only
    assert response_target(cfg, "Globex", "positive") is None
    assert response_target(None, "Acme", "negative") is None
    one = parse_config(BASE + "inbox: {respond_within: 30m}\n")
    assert response_target(one, "Globex", "positive") == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("inbox: [1]", "inbox: expected a mapping"),
        ("inbox: {respond_whitin: 2h}", "inbox.respond_whitin: unknown key (did you mean"),
        ("inbox: {respond_within: {negativ: 2h}}", "did you mean 'negative'"),
        ("inbox: {respond_within: {negative: soon}}", "inbox.respond_within.negative: expected"),
        ("inbox: {respond_within: 5}", "inbox.respond_within: expected a duration"),
    ],
)
def test_inbox_config_errors(snippet: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^<config>:6: ") as err:
        parse_config(BASE + snippet + "\n")
    assert message in str(err.value)


# ------------------------------------------------------------------------ changes + history


@pytest.fixture
def filled(tmp_path: Path, write_config: Callable[[str], Path]) -> tuple[Path, list[str]]:
    """A config and a store with three recent mentions (ids newest-negative first)."""
    path = write_config(BASE + "inbox: {respond_within: {negative: 2h}}\n")
    db = store.open_db(tmp_path / "m.db")
    now = utcnow()
    ids = [
        add(db, now - 5 * HOUR, title="Acme refund refused", score=-0.7, reach=800),
        add(db, now - HOUR, title="Acme new phone", score=-0.2, reach=40),
        add(db, now - HOUR, title="Globex hiring", brand="Globex", score=0.0, reach=5),
    ]
    db.close()
    return path, ids


def events(tmp_path: Path, mention_id: str) -> list[dict[str, Any]]:
    db = store.open_db(tmp_path / "m.db")
    try:
        return history(db, mention_id)
    finally:
        db.close()


def mention_row(tmp_path: Path, mention_id: str) -> tuple[str, str | None]:
    db = store.open_db(tmp_path / "m.db")
    try:
        status, assignee = db.execute(
            "SELECT status, assignee FROM mentions WHERE id = ?", [mention_id]
        ).fetchone()
        return status, assignee
    finally:
        db.close()


def test_status_history_with_who_and_when(
    filled: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, (refund, phone, _globex) = filled
    monkeypatch.setenv("USER", "ann")
    before = utcnow()
    result = runner.invoke(app, ["assign", refund[:8], phone, "bob", "--note", "yours"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["done", refund, "--as", "bob", "--note", "refunded by DM"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["note", phone[:6], "asked legal", "--as", "carol"]).exit_code == 0
    assert runner.invoke(app, ["ignore", phone]).exit_code == 0
    assert runner.invoke(app, ["open", phone, "--as", "dave"]).exit_code == 0

    assert mention_row(tmp_path, refund) == ("responded", "bob")
    assert mention_row(tmp_path, phone) == ("open", "bob")
    got = [(e["who"], e["action"], e["value"]) for e in events(tmp_path, refund)]
    assert got == [
        ("ann", "assign", "bob"),
        ("ann", "status", "open"),
        ("ann", "note", "yours"),
        ("bob", "status", "responded"),
        ("bob", "note", "refunded by DM"),
    ]
    got = [(e["who"], e["action"], e["value"]) for e in events(tmp_path, phone)]
    assert got[3:] == [
        ("carol", "note", "asked legal"),
        ("ann", "status", "ignored"),
        ("dave", "status", "open"),
    ]
    for e in events(tmp_path, refund):
        at = from_iso(e["at"])
        assert at is not None
        assert before <= at <= utcnow()
        assert e["at"].endswith("Z")

    shown = runner.invoke(app, ["show", refund[:10]], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "assignee     bob" in shown.stdout
    lines = shown.stdout[shown.stdout.index("history:") :].splitlines()
    assert [line.split("  ")[2:] for line in lines[1:]] == [
        ["ann", "assign bob"],
        ["ann", "status open"],
        ["ann", "note yours"],
        ["bob", "status responded"],
        ["bob", "note refunded by DM"],
    ]
    data = json.loads(runner.invoke(app, ["show", refund, "-f", "json"]).stdout)
    assert data["assignee"] == "bob"
    assert [e["action"] for e in data["history"]] == ["assign", "status", "note", "status", "note"]
    assert data["flags"] == []


def test_repeated_changes_add_no_history(filled: tuple[Path, list[str]], tmp_path: Path) -> None:
    _, (refund, _, _) = filled
    for _ in range(2):
        assert runner.invoke(app, ["assign", refund, "bob", "--as", "ann"]).exit_code == 0
        assert runner.invoke(app, ["done", refund, "--as", "ann"]).exit_code == 0
    assert [e["action"] for e in events(tmp_path, refund)] == ["assign", "status", "status"]


@pytest.mark.parametrize(
    "args",
    [
        ["done", "{0}", "ffffffffff"],
        ["assign", "{0}", "nothex!", "bob"],
        ["ignore", "{0}", ""],
        ["note", "abcdef0123", "text"],
        ["assign", "{0}"],  # no name
        ["note", "{0}", "   "],  # empty note
    ],
)
def test_bad_ids_exit_2_and_write_nothing(
    filled: tuple[Path, list[str]], tmp_path: Path, args: list[str]
) -> None:
    _, (refund, _, _) = filled
    result = runner.invoke(app, [a.format(refund) for a in args] + ["--as", "ann"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert events(tmp_path, refund) == []
    assert mention_row(tmp_path, refund) == ("new", None)


# ------------------------------------------------------------------------ listing


def test_filters_mine_assignee_brand_status(
    filled: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, (refund, phone, globex) = filled
    runner.invoke(app, ["assign", refund, "Bob", "--as", "ann"])
    runner.invoke(app, ["assign", globex, "carol", "--as", "ann"])

    def ids(*args: str, env: dict[str, str] | None = None) -> list[str]:
        result = runner.invoke(app, ["inbox", "-f", "jsonl", *args], env=env)
        assert result.exit_code == 0, result.output
        return [json.loads(line)["id"] for line in result.stdout.splitlines()]

    assert ids() == [refund, phone, globex]
    assert ids("--assignee", "bob") == [refund]  # names compare case-insensitively
    assert ids("--mine", env={"USER": "carol"}) == [globex]
    assert ids("--mine", "--as", "bob") == [refund]
    assert ids("--brand", "globex") == [globex]
    assert ids("--status", "new") == [phone]
    assert ids("--status", "new", "--status", "open") == [refund, phone, globex]
    assert ids("--limit", "1") == [refund]
    runner.invoke(app, ["done", refund, "--as", "bob"])
    assert ids() == [phone, globex]
    assert ids("--status", "responded") == [refund]
    # Labelled irrelevant (labels.py): out of the inbox altogether.
    assert runner.invoke(app, ["label", phone, "irrelevant", "--as", "ann"]).exit_code == 0
    assert ids() == [globex]

    monkeypatch.delenv("USER", raising=False)
    monkeypatch.delenv("USERNAME", raising=False)
    for bad, message in [
        (["--mine"], "--mine: who are you?"),
        (["--mine", "--assignee", "bob"], "choose one"),
        (["--status", "irrelevant"], "stay out of the inbox"),
        (["--status", "closed"], "--status: expected one of new, open, responded, ignored"),
    ]:
        result = runner.invoke(app, ["inbox", *bad])
        assert result.exit_code == 2, bad
        assert message in result.stderr


def test_every_format(filled: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    _, (refund, phone, globex) = filled
    # Priority decays by the second; the formats are compared at one moment, so the
    # command's clock is held still across the calls below.
    moment = utcnow()
    monkeypatch.setattr("mentionwatch.cli.inbox.utcnow", lambda: moment)
    as_json = json.loads(runner.invoke(app, ["inbox", "-f", "json"]).stdout)
    assert [r["id"] for r in as_json] == [refund, phone, globex]
    first = as_json[0]
    assert list(first) == [*INBOX_FIELDS[:8], "excerpt", *INBOX_FIELDS[8:]]
    assert first["rank"] == 1
    assert first["overdue"] is True  # negative, 5h old, target 2h
    assert first["reason"].startswith("overdue 3h")
    assert first["due"].endswith("Z")

    lines = runner.invoke(app, ["inbox", "-f", "jsonl"]).stdout.splitlines()
    assert [json.loads(line) for line in lines] == as_json

    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["inbox", "-f", "csv"]).stdout)))
    assert list(rows[0]) == list(INBOX_FIELDS)
    assert [r["id"] for r in rows] == [refund, phone, globex]
    assert rows[0]["overdue"] == "True"
    assert rows[1]["overdue"] == "False"

    table = runner.invoke(app, ["inbox"], env={"COLUMNS": "220"})
    assert table.exit_code == 0
    assert "Acme refund refused" in table.stdout
    assert "overdue 3h" in table.stdout
    assert "\x1b[" not in table.stdout  # no colour codes into a pipe


def test_overdue_rows_are_red() -> None:
    base = {"id": "a" * 16, "status": "new", "assignee": None, "brand": "Acme", "title": "t",
            "excerpt": "", "at": "2026-11-20T10:00:00Z", "reason": "r", "rank": 1}  # fmt: skip
    table = inbox_table([{**base, "overdue": True}, {**base, "overdue": False, "rank": 2}])
    assert [row.style for row in table.rows] == ["red", None]


def test_untrusted_text_stays_inert(tmp_path: Path, write_config: Callable[[str], Path]) -> None:
    write_config(BASE)
    db = store.open_db(tmp_path / "m.db")
    add(db, utcnow() - HOUR, title="Acme \x1b[31mred[/] [bold]x[/bold]", author="\x1b]0;t\x07")
    db.close()
    result = runner.invoke(app, ["inbox"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout
    assert "[bold]x[/bold]" in result.stdout


# ------------------------------------------------------------------------ digest


def test_digest_lists_overdue_first_in_needs_an_answer(db: sqlite_utils.Database) -> None:
    cfg = parse_config(BASE + "inbox: {respond_within: {neutral: 4h}}\n")
    big_negative = add(db, NOW - HOUR, title="Acme scandal", score=-0.9, reach=10_000)
    overdue_question = add(db, NOW - 10 * HOUR, title="Acme how do I reset?", score=0.0)
    answered = add(db, NOW - 2 * HOUR, title="Acme broke again", score=-0.6)
    set_status(db, [answered], "responded", who="ann", now=NOW)
    result = build_digest(db, cfg, make_period("24h", end=NOW))
    assert [m.id for m in result.needs_answer] == [overdue_question, big_negative]
    assert result.needs_answer[0].overdue_by == 6 * HOUR
    assert result.policy is None  # no policy rules: no section
    text = render_text(result)
    needs = text[text.index("Needs an answer") :]
    assert "1. [Acme] Acme how do I reset?" in needs
    assert "neutral, waiting 10 h (6 h past its target) · news" in needs  # words, not scores
    assert "Acme broke again" not in needs.split("Mentions in the period")[0]
    assert "Policy flags" not in text


def test_assign_api_moves_new_to_open_only(db: sqlite_utils.Database) -> None:
    a = add(db, NOW)
    set_status(db, [a], "ignored", who="x", now=NOW)
    done = assign(db, [a], "bob", who="x", now=NOW)
    assert done.ids == (a,)
    assert done.changed == 1
    assert db.execute("SELECT status FROM mentions WHERE id = ?", [a]).fetchone()[0] == "ignored"
    with pytest.raises(ConfigError, match="cannot set status 'irrelevant'"):
        set_status(db, [a], "irrelevant", who="x", now=NOW)
