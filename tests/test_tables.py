"""Tables fit the terminal: at 80 columns (every pipe) one line per row with a readable
title, at 120 more columns; --wide shows everything. Rendered through the real commands
on the demo's kept store."""

from __future__ import annotations

import json
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
    return lines


def _title_width(lines: list[str], header: str = "title / text") -> int:
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
