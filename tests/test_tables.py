"""Tables fit the terminal: at 80 columns (every pipe) one line per row with a readable
title, at 120 more columns; --wide shows everything. Rendered through the real commands
on the demo's kept store."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

import mentionwatch.cli.alerts
import mentionwatch.cli.inbox  # noqa: F401
from mentionwatch.cli import app
from mentionwatch.cli.alerts import alerts_table

runner = CliRunner()


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo, kept: its config names its database."""
    home = tmp_path_factory.mktemp("demo")
    result = runner.invoke(app, ["demo", "-q", "--keep", str(home)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # -q: no tables
    return home / "mentionwatch.yaml"


def _records(config: Path) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["-c", str(config), "mentions", "-f", "json"])
    assert result.exit_code == 0, result.output
    records: list[dict[str, Any]] = json.loads(result.stdout)
    return records


def _table(args: list[str], columns: int) -> list[str]:
    result = runner.invoke(app, args, env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines
    assert max(len(line) for line in lines) <= columns
    # Fitted, not cropped: a table wider than the terminal is cut at its edge by the
    # console, which the length check above cannot see; a boxed row then loses its border.
    for line in lines:
        if line.startswith(("│", "┃")):
            assert line.endswith(("│", "┃")), line
    return lines


def _title_width(lines: list[str], header: str = "title") -> int:
    """The title column's width, from the header line: up to the next column's border
    (boxed tables, one space of padding) or the next header (two spaces apart)."""
    head = next(line for line in lines if header in line)
    start = head.index(header)
    rest = head[start + len(header) :]
    following = len(rest) - len(rest.lstrip(" "))
    if not rest.strip(" "):  # the last column of a borderless table: to the line's end
        return len(head) - start
    padding = 1 if rest.lstrip(" ").startswith(("┃", "│")) else 2
    return len(header) + following - padding


@pytest.mark.parametrize("columns", [80, 120])
def test_mentions_one_line_each(kept: Path, columns: int) -> None:
    records = _records(kept)
    lines = _table(["-c", str(kept), "mentions"], columns)
    for r in records:
        rows = [line for line in lines if r["id"][:7] in line]
        assert len(rows) == 1, (r["id"], rows)  # one line per mention, no wrapping
        # The title's first 20 characters are readable on that line.
        assert r["title"][:20] in rows[0], rows[0]
    assert _title_width(lines) >= 24
    if columns == 80:
        assert "11-2" in lines[3][:40]  # short dates: 11-21 07:30
        assert "author" not in lines[1]
    else:
        assert "author" in "".join(lines[:3])
        assert "2026-11-" in "".join(lines)


def test_mentions_wide_shows_whole_titles(kept: Path) -> None:
    longest = max((r["title"] for r in _records(kept)), key=len)
    result = runner.invoke(app, ["-c", str(kept), "mentions", "--wide"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert longest in result.stdout  # whole, on one line: --wide is for a pager or a file
    assert "author" in result.stdout


@pytest.mark.parametrize("columns", [80, 120])
def test_inbox_and_sources_fit(kept: Path, columns: int) -> None:
    inbox = _table(["-c", str(kept), "inbox"], columns)
    items = json.loads(runner.invoke(app, ["-c", str(kept), "inbox", "-f", "json"]).stdout)
    assert items
    for item in items:
        rows = [line for line in inbox if item["id"][:7] in line]
        assert len(rows) == 1, rows
        assert (item["title"] or item["excerpt"])[:20] in rows[0]
    assert _title_width(inbox) >= 24
    sources = _table(["-c", str(kept), "sources"], columns)
    for name in ("tech-daily", "builders-forum", "ops-notes"):
        assert len([line for line in sources if name in line]) == 1


@pytest.mark.parametrize("columns", [80, 120])
def test_alerts_table_fits(columns: int) -> None:
    rows = [
        {"id": n, "rule": "negative-spike-for-acme", "kind": "spike", "brand": "Acme",
         "fired": "2026-11-21T07:30:00Z",
         "summary": f"Acme: {n} negative mentions in 1h, 4x the usual; " * 3}
        for n in range(1, 4)
    ]  # fmt: skip
    out = Console(width=columns, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    from mentionwatch.cli.output import fit

    out.print(fit(alerts_table)(rows))
    lines = out.export_text().splitlines()
    assert max(len(line) for line in lines) <= columns
    body = [line for line in lines if "Acme:" in line]
    assert len(body) == 3
    assert all("…" in line for line in body)


# ------------------------------------------------------------------ --columns


def _header(lines: list[str], first: str) -> list[str]:
    """The header's words, in order, from the line that starts with ``first``."""
    head = next(line for line in lines if line.strip(" ┃│").startswith(first))
    return [w for w in re.split(r"\s{2,}|\s*[┃│]\s*", head.strip(" ┃│")) if w]


@pytest.mark.parametrize("columns", [80, 120])
def test_columns_pick_and_order(kept: Path, columns: int) -> None:
    records = _records(kept)
    lines = _table(["-c", str(kept), "mentions", "--columns", "id,date,brand,title,url"], columns)
    assert _header(lines, "id") == ["id", "date", "brand", "title", "url"]
    for r in records:
        (row,) = [line for line in lines if r["id"][:7] in line]  # one line each
        assert r["url"][:16] in row
        assert r["title"][:12] in row
    # Chosen columns are shown even where the default set drops them when narrow.
    narrow = _table(["-c", str(kept), "mentions", "--columns", "author,id"], columns)
    assert _header(narrow, "author") == ["author", "id"]


def test_columns_of_every_table(kept: Path) -> None:
    inbox = _table(["-c", str(kept), "inbox", "--columns", "why,id"], 80)
    assert _header(inbox, "why") == ["why", "id"]
    sources = _table(["-c", str(kept), "sources", "--columns", "source,latency"], 80)
    assert _header(sources, "source") == ["source", "latency"]
    assert len([line for line in sources if "tech-daily" in line]) == 1


@pytest.mark.parametrize(
    ("command", "valid"),
    [
        (["mentions"], "id, brand, source, date, score, title, author, status, url"),
        (["scan"], "id, brand, source, date, score, title, author, status, url"),
        (["inbox"], "rank, id, status, assignee, brand, date, title, why"),
        (["sources"], "source, type, status, last-success, items, new, latency, last-error"),
        (["alerts"], "id, rule, kind, brand, fired, summary"),
        (["alerts", "--backtest"], "rule, brand, from, ended, count, peak, baseline, explained"),
        (["precision"], "brand, mentions, relevant, irrelevant, unlabelled, precision"),
    ],
)
def test_unknown_column_is_a_usage_error(kept: Path, command: list[str], valid: str) -> None:
    result = runner.invoke(app, ["-c", str(kept), *command, "--columns", "titel"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    (message,) = result.stderr.splitlines()  # one line
    assert message.startswith("error: --columns: unknown column 'titel'; valid: ")
    assert valid in message
    # The help lists the names too.
    assert "--columns NAME,..." in runner.invoke(app, [command[0], "--help"]).stdout


# ------------------------------------------------------------------ precision and alerts


@pytest.mark.parametrize("columns", [80, 120])
def test_precision_table_fits(kept: Path, columns: int) -> None:
    ids = [r["id"] for r in _records(kept)]
    labelled = runner.invoke(app, ["-c", str(kept), "label", *ids[:3], "relevant"])
    assert labelled.exit_code == 0, labelled.output
    lines = _table(["-c", str(kept), "precision"], columns)
    head = _header(lines, "brand/keyword")
    assert head[0] == "brand/keyword"
    assert head[-1] == "precision [95% CI]"  # the header is one line, not wrapped
    for keyword in ("Acme Corp", "#acme", "@acmehq", "Globex", "Initech"):
        assert len([line for line in lines if f"  {keyword} " in line]) >= 1
    assert any("% [" in line for line in lines)
    assert not any(line.strip() in ("brand /", "keyword") for line in lines)


@pytest.fixture
def with_alerts(kept: Path, tmp_path: Path) -> Path:
    """The kept demo with alert rules, on a copy of its database (alerts fire once)."""
    db = tmp_path / "m.db"
    shutil.copy(kept.parent / "mentions.db", db)
    text = re.sub(r"^database: .*$", f'database: "{db}"', kept.read_text(), flags=re.M)
    text += (
        "alerts:\n  rules:\n"
        "    - {name: every-acme-and-globex-post-is-urgent, type: urgent, "
        "terms: [Acme, Globex], within: 3650d}\n"
        "    - {name: spike, type: spike, window: 1d, baseline: 3, min_count: 1, sensitivity: 1}\n"
    )
    config = tmp_path / "mentionwatch.yaml"
    config.write_text(text)
    return config


@pytest.mark.parametrize("columns", [80, 120])
def test_alerts_command_fits(with_alerts: Path, columns: int) -> None:
    lines = _table(["-c", str(with_alerts), "alerts", "--no-deliver"], columns)
    fired = json.loads(
        runner.invoke(app, ["-c", str(with_alerts), "alerts", "-f", "json"]).stdout or "[]"
    )
    assert fired == []  # all fired in the first run, shown in its table
    rows = [line for line in lines if "mention on" in line]
    assert len(rows) == 7  # one line per alert: 6 of Acme, 1 of Globex; no wrapping
    assert all("…" in row for row in rows)  # summaries cut, with an ellipsis
    assert _header(lines, "id")[-1] == "summary"
    if columns == 80:
        assert "kind" not in _header(lines, "id")
    else:
        assert "kind" in _header(lines, "id")
        assert "urgent" in "".join(rows)


@pytest.mark.parametrize("columns", [80, 120])
def test_backtest_table_fits(with_alerts: Path, columns: int) -> None:
    args = ["-c", str(with_alerts), "alerts", "--backtest", "--since", "2026-11-10"]
    episodes = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    assert episodes
    lines = _table(args, columns)
    head = _header(lines, "rule")
    assert head[-1] == "explained by"
    rows = [line for line in lines if "top terms" in line]
    assert len(rows) == len(episodes)  # one line an episode
    assert ("baseline" in head) is (columns == 120)
    wide = runner.invoke(app, [*args, "--wide"], env={"COLUMNS": "80"})
    assert wide.exit_code == 0
    assert episodes[0]["summary"].partition("; ")[2][:60] in " ".join(wide.stdout.split())
