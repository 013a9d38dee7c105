"""Policy watch: the `policy:` section, the rules on posts (confidential terms, watched
accounts), and a real scan of recorded posts served by pytest-httpserver: flags written
with history, `mentions --flag`, the inbox order, the digest section, and the alert
delivered by webhook exactly once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from mentionwatch.cli import app
from mentionwatch.config.policy import PolicyRule, author_key
from mentionwatch.configure import parse_config
from mentionwatch.errors import ConfigError
from mentionwatch.report.alerts import alert_text, load_alerts
from mentionwatch.store import db as store
from mentionwatch.timeutil import utcnow
from mentionwatch.webcare.policy import PolicyChecker, catch_up

from .test_inbox import add

runner = CliRunner()

BASE = """\
database: m.db
brands:
  - {name: Acme, keywords: [Acme]}
  - {name: Globex, keywords: [Globex]}
sources: [https://feed.example/a.xml]
"""

# ------------------------------------------------------------------------ config


def test_policy_section_parses() -> None:
    cfg = parse_config(
        BASE
        + """\
policy:
  - {name: confidential, severity: high, terms: ["project falcon", internal only]}
  - name: employees
    severity: medium
    authors: ["@janedoe", acme_official]
  - {name: globex-leaks, severity: critical, terms: [roadmap], authors: [insider], brand: globex}
"""
    )
    assert cfg.policy == (
        PolicyRule("confidential", "high", terms=("project falcon", "internal only")),
        PolicyRule("employees", "medium", authors=("@janedoe", "acme_official")),
        PolicyRule("globex-leaks", "critical", ("roadmap",), ("insider",), brand="Globex"),
    )
    assert parse_config(BASE).policy == ()


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("policy: {name: x}", "policy: expected a list of policy rules"),
        ("policy:\n  - {name: x, terms: [a]}", "policy[0]: missing `severity`"),
        ("policy:\n  - {name: x, severity: urgent, terms: [a]}", "unknown severity 'urgent'"),
        ("policy:\n  - {name: x, severity: hihg, terms: [a]}", "did you mean 'high'"),
        ("policy:\n  - {name: x, severity: low}", "policy[0]: needs `terms`"),
        ("policy:\n  - {severity: low, terms: [a]}", "policy[0]: missing `name`"),
        ("policy:\n  - {name: x, severity: low, term: [a]}", "unknown key (did you mean 'terms'"),
        (
            "policy:\n  - {name: x, severity: low, terms: ['#']}",
            "policy[0].terms[0]: '#' can never",
        ),
        ("policy:\n  - {name: x, severity: low, authors: ['@']}", "'@' names no account"),
        ("policy:\n  - {name: x, severity: low, terms: [a], brand: Initech}", "unknown brand"),
        (
            "policy:\n  - {name: x, severity: low, terms: [a]}\n  - {name: X, severity: high, "
            "terms: [b]}",
            "policy[1].name: duplicate policy rule name 'X'",
        ),
        (
            "alerts:\n  rules: [{name: leak, type: urgent, terms: [leak]}]\n"
            "policy:\n  - {name: leak, severity: low, terms: [a]}",
            "'leak' is also an alert rule's name",
        ),
    ],
)
def test_policy_config_errors(snippet: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^<config>:\d+: ") as err:
        parse_config(BASE + snippet + "\n")
    assert message in str(err.value)


# ------------------------------------------------------------------------ rules


def test_checker_terms_authors_and_brands() -> None:
    checker = PolicyChecker(
        [
            PolicyRule("confidential", "high", terms=("project falcon", "internal only")),
            PolicyRule("employees", "medium", authors=("@JaneDoe", "acme_official")),
            PolicyRule(
                "insider", "critical", terms=("roadmap",), authors=("mole",), brand="Globex"
            ),
        ]
    )

    def rules(title: str, text: str = "", author: str = "", brand: str = "Acme") -> list[str]:
        found = checker.check(brand=brand, title=title, text=text, author=author)
        return [f"{rule.name}: {reason}" for rule, reason in found]

    assert rules("Acme news", "Slides say INTERNAL-ONLY") == []  # a hyphen is not a space
    assert rules("Acme: Project  Falcon", "internal\nonly draft") == [
        'confidential: says "project falcon", "internal only"'
    ]
    assert rules("Acme", "see https://x.example/project-falcon") == []  # links are not text
    assert rules("Acme", author="janedoe") == ["employees: by watched account janedoe"]
    assert rules("Acme", author=" @ACME_official ") == [
        "employees: by watched account @ACME_official"
    ]
    assert rules("Acme", author="janedoe2") == []
    assert rules("Acme roadmap", author="mole") == []  # another brand's rule
    assert rules("Globex roadmap", author="mole", brand="Globex") == [
        'insider: by watched account mole; says "roadmap"'
    ]
    assert rules("Globex roadmap", author="someone", brand="Globex") == []  # both must hold
    assert author_key(" @@x ") == "@x"


def test_catch_up_flags_what_an_unfinished_scan_stored(tmp_path: Path) -> None:
    db = store.open_db(tmp_path / "m.db")
    checker = PolicyChecker([PolicyRule("confidential", "high", terms=("falcon",))])
    now = utcnow()
    before = add(db, now - timedelta(days=2), title="Acme falcon (before the last scan)")
    store.record_run(db, now - timedelta(days=1), now - timedelta(days=1), 1, 0, 1)
    # Stored after the last finished scan, but never flagged: that scan crashed.
    after = add(db, now, title="Acme falcon (a crashed scan)")
    flags = catch_up(db, checker, now=now)
    assert [f.mention_id for f in flags] == [after]
    assert catch_up(db, checker, now=now) == []  # idempotent: no second flag, no second event
    assert db.execute("SELECT COUNT(*) FROM mention_events").fetchone()[0] == 1
    assert before != after
    db.close()


# ------------------------------------------------------------------------ a real scan


def _post(i: int, title: str, text: str, author: str) -> dict[str, Any]:
    return {
        "id": f"p{i}",
        "url": f"https://social.example/p/{i}",
        "title": title,
        "content_text": text,
        "authors": [{"name": author}],
        "date_published": (utcnow() - timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "social",
    "items": [
        _post(
            1, "Acme and Globex roadmap", "Slides marked Internal Only: Project Falcon.", "leaker"
        ),
        _post(2, "Fun at the fair", "Our Acme booth was busy today!", "@JaneDoe"),
        _post(3, "Acme review", "Acme is fine, I guess.", "JaneDoe2"),
        _post(4, "Globex outage", "Globex is down again, terrible.", "angry"),
    ],
}

SCAN_CONFIG = """\
database: m.db
brands:
  - {{name: Acme, keywords: [Acme]}}
  - {{name: Globex, keywords: [Globex]}}
sources:
  - {{name: social, url: "{base}/feed.json"}}
policy:
  - {{name: confidential, severity: high, terms: ["project falcon", "internal only"]}}
  - {{name: employees, severity: medium, authors: ["@janedoe", "acme_official"]}}
{alerts}"""

ALERTS = """\
alerts:
  rules:
    - {{name: recall, type: urgent, terms: [recall]}}
  deliver:
    webhook_url: "{base}/hook"
"""


@pytest.fixture
def scanned(httpserver: HTTPServer, write_config: Callable[[str], Path], tmp_path: Path) -> Path:
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/feed.json").respond_with_data(
        json.dumps(FEED), content_type="application/feed+json"
    )
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    write_config(SCAN_CONFIG.format(base=base, alerts=ALERTS.format(base=base)))
    result = runner.invoke(app, ["scan", "--alerts", "-f", "jsonl"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 5  # Acme x3, Globex x2
    return tmp_path / "m.db"


def _db_rows(path: Path, sql: str) -> list[dict[str, Any]]:
    db = store.open_db(path)
    try:
        return list(db.query(sql))
    finally:
        db.close()


def _hook_posts(httpserver: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(req.get_data()) for req, _ in httpserver.log if req.path == "/hook"]


def test_scan_writes_flags_with_history(scanned: Path) -> None:
    flags = _db_rows(
        scanned,
        "SELECT m.brand, p.url, f.rule, f.severity, f.reason FROM mention_flags f "
        "JOIN mentions m ON m.id = f.mention_id JOIN posts p ON p.id = m.post_id "
        "ORDER BY f.rule, m.brand",
    )
    assert [(f["rule"], f["brand"], f["url"][-1]) for f in flags] == [
        ("confidential", "Acme", "1"),
        ("confidential", "Globex", "1"),
        ("employees", "Acme", "2"),
    ]
    assert flags[0]["severity"] == "high"
    assert flags[0]["reason"] == 'says "internal only", "project falcon"'
    assert flags[2]["reason"] == "by watched account @JaneDoe"
    history = _db_rows(scanned, "SELECT who, action, value FROM mention_events ORDER BY id")
    assert sorted(h["value"] for h in history) == [
        "confidential (high)",
        "confidential (high)",
        "employees (medium)",
    ]
    assert {(h["who"], h["action"]) for h in history} == {("mentionwatch", "flag")}


def test_mentions_flag_lists_the_flagged(scanned: Path) -> None:
    def urls(*args: str) -> list[tuple[str, str]]:
        result = runner.invoke(app, ["mentions", "-f", "jsonl", *args])
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        return sorted((r["brand"], r["url"]) for r in rows)

    assert urls("--flag", "confidential") == [
        ("Acme", "https://social.example/p/1"),
        ("Globex", "https://social.example/p/1"),
    ]
    assert urls("--flag", "EMPLOYEES") == [("Acme", "https://social.example/p/2")]
    assert urls("--flag", "employees", "--brand", "Globex") == []
    assert urls("--flag", "nope") == []


def test_flagged_alert_delivered_by_webhook_once(scanned: Path, httpserver: HTTPServer) -> None:
    (payload,) = _hook_posts(httpserver)
    assert payload["count"] == 2  # one post naming two brands is one alert per rule
    alerts = {a["rule"]: a for a in payload["alerts"]}
    assert set(alerts) == {"confidential", "employees"}
    assert {a["kind"] for a in alerts.values()} == {"policy"}
    leak = alerts["confidential"]
    assert leak["details"]["severity"] == "high"
    assert leak["details"]["mention"]["url"] == "https://social.example/p/1"
    assert "flagged high" in leak["summary"]
    assert "https://social.example/p/1" in payload["text"]

    # The next scan (and an alerts run) find the same posts: nothing new goes out.
    assert runner.invoke(app, ["scan", "--alerts", "-q"]).exit_code == 0
    assert runner.invoke(app, ["alerts", "-q"]).exit_code == 0
    assert len(_hook_posts(httpserver)) == 1
    stored = _db_rows(scanned, "SELECT rule, kind, episode FROM alerts ORDER BY id")
    assert [(a["rule"], a["kind"]) for a in stored] == [
        ("confidential", "policy"),
        ("employees", "policy"),
    ]
    db = store.open_db(scanned)
    try:
        (first,) = load_alerts(db, [1])
    finally:
        db.close()
    text = "\n".join(alert_text(first))
    assert text.startswith("[policy] confidential")
    assert "https://social.example/p/1" in text  # e-mails quote the post like urgent alerts


def test_flagged_first_in_inbox_and_show(scanned: Path) -> None:
    rows = [
        json.loads(line)
        for line in runner.invoke(app, ["inbox", "-f", "jsonl"]).stdout.splitlines()
    ]
    assert [r["flags"] for r in rows[:3]] == [
        ["confidential (high)"],
        ["confidential (high)"],
        ["employees (medium)"],
    ]
    assert rows[3]["flags"] == []
    assert rows[0]["reason"].startswith("flag: confidential (high) · ")
    shown = runner.invoke(app, ["show", rows[2]["id"]], env={"COLUMNS": "200"})
    assert "policy flags:" in shown.stdout
    assert "employees (medium) by watched account @JaneDoe" in shown.stdout
    assert "mentionwatch  flag employees (medium)" in shown.stdout


def test_digest_has_a_policy_section(scanned: Path) -> None:
    result = runner.invoke(app, ["digest", "--since", "7d", "-f", "text"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    section = text[text.index("Policy flags") : text.index("Needs an answer")]
    assert "confidential (high): 2 mentions" in section
    assert "employees (medium): 1 mention\n" in section
    assert section.index("confidential") < section.index("employees")  # most severe first
    assert "[Acme] Acme and Globex roadmap" in section
    data = json.loads(runner.invoke(app, ["digest", "--since", "7d", "-f", "json"]).stdout)
    assert [(g["rule"], g["count"], len(g["items"])) for g in data["policy"]] == [
        ("confidential", 2, 2),
        ("employees", 1, 1),
    ]
    md = runner.invoke(app, ["digest", "--since", "7d", "-f", "markdown"]).stdout
    assert "## Policy flags" in md
    assert "### confidential \\(high\\): 2 mentions" in md
    html = runner.invoke(app, ["digest", "--since", "7d", "-f", "html"]).stdout
    assert "Policy flags</h2>" in html
    # Only Globex: the Acme-only employee post is not in its section.
    globex = runner.invoke(app, ["digest", "--since", "7d", "--brand", "Globex"]).stdout
    assert "confidential (high): 1 mention\n" in globex
    assert "employees" not in globex


def test_without_alerts_flags_are_stored_not_sent(
    httpserver: HTTPServer, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/feed.json").respond_with_data(
        json.dumps(FEED), content_type="application/feed+json"
    )
    write_config(SCAN_CONFIG.format(base=base, alerts=""))
    assert runner.invoke(app, ["scan", "-q"]).exit_code == 0
    assert len(_db_rows(tmp_path / "m.db", "SELECT * FROM mention_flags")) == 3
    assert _db_rows(tmp_path / "m.db", "SELECT * FROM alerts") == []
    assert [req.path for req, _ in httpserver.log] == ["/feed.json"]
    empty = runner.invoke(app, ["digest", "--since", "1h", "--until", "2000-01-02"])
    assert "Policy flags\n  Nothing flagged." in empty.stdout  # rules configured: section shown


def test_labelled_irrelevant_mentions_do_not_alert(tmp_path: Path) -> None:
    from mentionwatch.config.alerts import AlertsConfig, UrgentRule
    from mentionwatch.report.alerts import run_alerts
    from mentionwatch.webcare.labels import label_mentions
    from mentionwatch.webcare.policy import flag_mentions

    db: sqlite_utils.Database = store.open_db(tmp_path / "m.db")
    checker = PolicyChecker([PolicyRule("confidential", "high", terms=("falcon",))])
    now = utcnow()
    noise = add(db, now, title="Acme falcon sighting (birds)")
    real = add(db, now, title="Acme Falcon launch date")
    flag_mentions(db, checker, [noise, real], now=now)
    label_mentions(db, [noise], "irrelevant", who="ann")
    cfg = AlertsConfig(rules=(UrgentRule(name="recall", terms=("recall",)),))
    run = run_alerts(cfg, None, db, now=now, deliver=False)
    assert [a.episode for a in run.fired] == [real]
    # Flags older than deliver.max_age (7 days) do not become alerts.
    old = add(db, now, title="Acme falcon again")
    flag_mentions(db, checker, [old], now=now - timedelta(days=8))
    assert run_alerts(cfg, None, db, now=now, deliver=False).fired == ()
    db.close()


def test_rules_without_a_brand_flag_only_own_brands(
    httpserver: HTTPServer, write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    """As for alert rules: a policy rule without `brand:` checks the mentions of `own`
    brands; a competitor's mention is flagged only by a rule that names it. Post 1 names
    Acme and Globex and says "Project Falcon": Acme's mention is flagged confidential,
    Globex's only by the rule that names Globex."""
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/feed.json").respond_with_data(
        json.dumps(FEED), content_type="application/feed+json"
    )
    config = SCAN_CONFIG.format(base=base, alerts="")
    assert config.count("keywords: [Globex]}") == 1
    config = config.replace("keywords: [Globex]}", "keywords: [Globex], role: competitor}")
    config += '  - {name: globex-leaks, severity: low, brand: Globex, terms: ["project falcon"]}\n'
    write_config(config)
    assert runner.invoke(app, ["scan", "-q"]).exit_code == 0
    flags = _db_rows(
        tmp_path / "m.db",
        "SELECT m.brand, f.rule FROM mention_flags f JOIN mentions m ON m.id = f.mention_id",
    )
    assert sorted((f["brand"], f["rule"]) for f in flags) == [
        ("Acme", "confidential"),
        ("Acme", "employees"),
        ("Globex", "globex-leaks"),
    ]
