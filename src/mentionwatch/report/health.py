"""Per-source health for `mentionwatch sources`: config joined with stored state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from ..config.loader import Config
from ..store.db import warnings_of
from ..textutil import safe_text

FIELDS = (
    "name", "type", "last_status", "last_success", "last_error", "last_error_at",
    "last_items", "last_mentions", "last_seconds", "last_warnings",
)  # fmt: skip


def health_rows(config: Config, state: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for src in config.sources:
        known = state.get(src.name, {})
        row = {k: known.get(k) for k in FIELDS}
        row["name"], row["type"] = src.name, src.type
        row["last_warnings"] = warnings_of(known)
        row["last_status"] = known.get("last_status") or "never scanned"
        if row["last_status"] != "error" and row["last_warnings"]:
            row["last_status"] = "warning"  # it ran, but kept only part of what it got
        rows.append(row)
    return rows


def health_table(rows: Sequence[dict[str, Any]], width: int | None = None) -> Table:
    """One line per source when ``width`` (the terminal's columns) is given: below 100
    columns the type and latency go and the error is cut with "…"; ``None`` shows all."""
    narrow = width is not None and width < 100
    table = Table(
        title="Sources",
        title_justify="left",
        box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD,
        show_edge=not narrow,
        pad_edge=not narrow,
        collapse_padding=narrow,
    )
    cols = ["source", "type", "status", "last success", "items", "new", "latency"]
    if narrow:
        cols = [c for c in cols if c not in ("type", "latency")]
    for col in cols:
        if width is None:
            table.add_column(col, overflow="fold")
        else:
            table.add_column(col, no_wrap=True, overflow="ellipsis", max_width=16)
    if width is None:
        table.add_column("last error", overflow="fold")
    else:
        # The one column rich may narrow; its cells are one line cut with "…".
        table.add_column("last error", overflow="ellipsis", ratio=1, min_width=16)
    styles = {"ok": "green", "not-modified": "dim", "error": "bold red"}
    for r in rows:
        latency = f"{r['last_seconds']:.2f}s" if r["last_seconds"] is not None else "-"
        error = ""
        if r["last_status"] == "warning":
            error = "; ".join(r["last_warnings"])
        elif r["last_error"]:
            error = f"{(r['last_error_at'] or '')[:16]} {r['last_error']}"
        success = (r["last_success"] or "never")[:16].replace("T", " ")
        cells: dict[str, str | Text] = {
            "source": Text(safe_text(r["name"])),
            "type": r["type"],
            "status": Text(r["last_status"], style=styles.get(r["last_status"], "yellow")),
            "last success": success[5:] if narrow and success != "never" else success,
            "items": str(r["last_items"] if r["last_items"] is not None else "-"),
            "new": str(r["last_mentions"] if r["last_mentions"] is not None else "-"),
            "latency": latency,
        }
        error_cell = Text(safe_text(error), style="red")
        if width is not None:
            error_cell.no_wrap, error_cell.overflow = True, "ellipsis"
        table.add_row(*(cells[c] for c in cols), error_cell)
    return table
