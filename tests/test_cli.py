"""Commands as a user runs them: exit codes, stdout = data, stderr = people."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from mentionwatch.cli import app

from .conftest import rss

runner = CliRunner()

FEED = rss(
    ("1", "https://n.example/1", "Acme is wonderful|Truly great support from Acme."),
    ("2", "https://n.example/2", "Globex fails again|Globex lost my data. Terrible."),
    ("3", "https://n.example/3", "[bold red]Acme[/] hack|<script>x</script> Acme ok"),
)
# JSON strings can carry what XML cannot: raw terminal escape sequences.
HOSTILE_TITLE = "\x1b[31mAcme\x1b]8;;https://evil.example\x07 owned\x9b2J"
JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "j",
        "items": [
            {
                "id": "h",
                "url": "https://j.example/h",
                "title": HOSTILE_TITLE,
                "content_text": "Acme",
                "date_published": "2026-11-20T00:00:00Z",
            }
        ],
    }
).encode()


@pytest.fixture
def scanned(httpserver: HTTPServer, write_config: Callable[[str], Path]) -> Path:
    httpserver.expect_request("/f.xml").respond_with_data(FEED, content_type="application/xml")
    httpserver.expect_request("/j.json").respond_with_data(
        JSON_FEED, content_type="application/json"
    )
    path = write_config(
        f"""\
        database: m.db
        brands:
          - {{name: Acme, keywords: [Acme]}}
          - {{name: Globex, keywords: [Globex]}}
        sources:
          - {{name: news, url: "{httpserver.url_for("/f.xml")}"}}
          - {{name: j, url: "{httpserver.url_for("/j.json")}"}}
        """
    )
    result = runner.invoke(app, ["scan", "-q"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # --quiet: nothing on success
    return path


def _jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_mentions_formats(scanned: Path) -> None:
    rows = _jsonl(runner.invoke(app, ["mentions", "--format", "jsonl"]).stdout)
    assert len(rows) == 4
    assert set(rows[0]) >= {
        "id", "brand", "source", "source_type", "url", "title", "text", "author", "published",
        "fetched", "sentiment", "sentiment_label", "lang", "matched", "status", "reach",
    }  # fmt: skip
    as_json = json.loads(runner.invoke(app, ["mentions", "--format", "json"]).stdout)
    assert as_json == rows
    table = list(csv.DictReader(io.StringIO(runner.invoke(app, ["mentions", "-f", "csv"]).stdout)))
    assert [r["id"] for r in table] == [r["id"] for r in rows]
    # JSON keeps untrusted text exact
    # Control characters are dropped when the post is read; the rest reaches JSON as is.
    title = next(r for r in rows if r["url"] == "https://j.example/h")["title"]
    assert "Acme" in str(title)
    assert "owned" in str(title)
    assert "\x1b" not in str(title)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--brand", "acme"],
            {"https://n.example/1", "https://n.example/3", "https://j.example/h"},
        ),
        (["--brand", "Globex"], {"https://n.example/2"}),
        (["--sentiment", "negative"], {"https://n.example/2"}),
        (["--search", "support"], {"https://n.example/1"}),
        (["--source", "news", "--limit", "1"], None),
        (["--source", "j"], {"https://j.example/h"}),
        (["--since", "2026-11-01", "--until", "2026-11-30"], None),
        (["--since", "2026-11-21"], set()),
    ],
)
def test_mentions_filters(scanned: Path, args: list[str], expected: set[str] | None) -> None:
    result = runner.invoke(app, ["mentions", "--format", "jsonl", *args])
    assert result.exit_code == 0, result.output
    urls = {str(r["url"]) for r in _jsonl(result.stdout)}
    if expected is None:
        assert len(urls) == (1 if "--limit" in args else 4)
    else:
        assert urls == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["mentions", "--since", "3x"], "--since: cannot read '3x'"),
        (["mentions", "--sentiment", "angry"], "--sentiment: expected positive"),
        (["mentions", "--search", '"unbalanced'], "--search: invalid full-text query"),
        (["show", "zzzz"], "no mention with id 'zzzz'"),
        (["show", "0000000000"], "no mention with id"),
        (["scan", "--config", "missing.yaml"], "missing.yaml: config file not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(scanned: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_show_explains_the_match(scanned: Path) -> None:
    rows = _jsonl(runner.invoke(app, ["mentions", "--format", "jsonl", "--brand", "Globex"]).stdout)
    mid = str(rows[0]["id"])
    shown = runner.invoke(app, ["show", mid[:6]])
    assert shown.exit_code == 0, shown.output
    assert "matched: Globex" in shown.stdout
    assert "'Globex' in title at 0-6" in shown.stdout
    as_json = json.loads(runner.invoke(app, ["show", mid, "--format", "json"]).stdout)
    assert as_json["spans"][0] == {"start": 0, "end": 6, "term": "Globex"}
    assert as_json["id"] == mid


def test_table_output_is_inert(scanned: Path) -> None:
    rows = {r["url"]: r for r in _jsonl(runner.invoke(app, ["mentions", "-f", "jsonl"]).stdout)}
    table = runner.invoke(app, ["mentions"], env={"COLUMNS": "250"}).stdout
    for control in ("\x1b", "\x9b", "\x07"):
        assert control not in table
    assert "[bold red]Acme[/]" in table  # markup shown literally, not interpreted
    assert "owned" in table  # the text around the escapes survives
    markup = runner.invoke(app, ["show", str(rows["https://n.example/3"]["id"])]).stdout
    assert "[bold red]Acme[/] hack" in markup
    escapes = runner.invoke(app, ["show", str(rows["https://j.example/h"]["id"])]).stdout
    for control in ("\x1b", "\x9b", "\x07"):
        assert control not in escapes
    assert "owned" in escapes


def test_check_lists_brands_and_sources(scanned: Path) -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "Acme" in result.stdout
    assert "Globex" in result.stdout
    assert "news  [rss]" in result.stdout
    assert "config OK" in result.stderr


def test_sources_health(scanned: Path) -> None:
    rows = json.loads(runner.invoke(app, ["sources", "--format", "json"]).stdout)
    assert rows[0]["name"] == "news"
    assert rows[0]["last_status"] == "ok"
    assert rows[0]["last_items"] == 3
    assert rows[0]["last_mentions"] == 3
    assert rows[0]["last_error"] is None


def test_init_writes_a_config_that_checks(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "new.yaml", "--brand", "Acme"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new.yaml").read_text().startswith("# mentionwatch configuration")
    again = runner.invoke(app, ["init", "new.yaml", "--brand", "Acme"])
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    check = runner.invoke(app, ["-c", "new.yaml", "check"])
    assert check.exit_code == 0, check.output


def test_sentiment_command() -> None:
    result = runner.invoke(app, ["sentiment", "I love this, it is great"])
    row = json.loads(result.stdout)
    assert row["label"] == "positive"
    assert row["engine"] == "model"
    assert row["score"] > 0.5
    lines = runner.invoke(
        app, ["sentiment", "--engine", "textblob"], input="awful and bad\nit is a table\n"
    )
    rows = _jsonl(lines.stdout)
    assert [r["label"] for r in rows] == ["negative", "neutral"]
    assert {r["engine"] for r in rows} == {"textblob"}
    targeted = runner.invoke(
        app, ["sentiment", "--target", "Acme", "Acme is excellent. Globex is horrible."]
    )
    row = json.loads(targeted.stdout)
    assert row["label"] == "positive"
    assert row["target_found"] is True
    bad = runner.invoke(app, ["sentiment", "--engine", "nope", "x"])
    assert bad.exit_code == 2


def test_demo_runs_offline() -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "New mentions (demo)" in out
    assert "Brands" in out
    data = json.loads(runner.invoke(app, ["demo", "--format", "json"]).stdout)
    brands = {r["brand"] for r in data}
    assert brands == {"Acme", "Globex", "Initech"}
    urls = [r["url"] for r in data if r["brand"] == "Acme"]
    assert not any("acmeville" in u for u in urls)
    # the Widget 2 article reached through two feeds is one mention
    assert sum("acme-widget-2" in u.lower() for u in urls) == 1


def test_python_dash_m_runs_the_cli() -> None:
    import subprocess
    import sys

    from mentionwatch import __version__

    done = subprocess.run(
        [sys.executable, "-m", "mentionwatch", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert __version__ in done.stdout
