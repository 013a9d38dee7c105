"""Per-source health for `mentionwatch sources`: config joined with stored state (the
table is drawn by the CLI)."""

from __future__ import annotations

from typing import Any

from ..config.loader import Config
from ..store.db import warnings_of

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
