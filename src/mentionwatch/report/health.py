"""Per-source health for `mentionwatch sources`: config joined with stored state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def health_table(rows: Sequence[dict[str, Any]]) -> Table:
    table = Table(title="Sources", title_justify="left")
    for col in (
        "source",
        "type",
        "status",
        "last success",
        "items",
        "new",
        "latency",
        "last error",
    ):
        table.add_column(col, overflow="fold")
    styles = {"ok": "green", "not-modified": "dim", "error": "bold red"}
    for r in rows:
        latency = f"{r['last_seconds']:.2f}s" if r["last_seconds"] is not None else "-"
        error = ""
        if r["last_status"] == "warning":
            error = "; ".join(r["last_warnings"])
        elif r["last_error"]:
            error = f"{(r['last_error_at'] or '')[:16]} {r['last_error']}"
        table.add_row(
            Text(safe_text(r["name"])),
            r["type"],
            Text(r["last_status"], style=styles.get(r["last_status"], "yellow")),
            (r["last_success"] or "never")[:16].replace("T", " "),
            str(r["last_items"] if r["last_items"] is not None else "-"),
            str(r["last_mentions"] if r["last_mentions"] is not None else "-"),
            latency,
            Text(safe_text(error), style="red"),
        )
    return table
