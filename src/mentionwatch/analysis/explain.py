"""Why a mention is there: one mention rendered for people, matches highlighted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..textutil import safe_text

_CONTEXT = 60  # characters either side of a match in the "why" lines
_MAX_BODY = 5000


def highlighted(
    source: str, spans: Sequence[tuple[int, int]], start: int = 0, end: int | None = None
) -> Text:
    """source[start:end] as inert text with the spans inside it highlighted.

    Each piece is sanitised on its own so span offsets stay true to the original.
    """
    end = len(source) if end is None else end
    out = Text()
    pos = start
    for s, e in sorted(spans):
        s, e = max(s, start), min(e, end)
        if s >= e or s < pos:
            continue
        out.append(safe_text(source[pos:s], one_line=False))
        out.append(safe_text(source[s:e], one_line=False), style="bold reverse yellow")
        pos = e
    out.append(safe_text(source[pos:end], one_line=False))
    return out


def render_mention(record: dict[str, Any]) -> RenderableType:
    combined = f"{record['title']}\n{record['text']}"
    spans = [(s["start"], s["end"]) for s in record.get("spans", [])]

    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    for key in ("id", "brand", "source", "source_type", "url", "author", "published",
                "fetched", "status", "assignee", "reach", "lang"):  # fmt: skip
        value = record.get(key)
        if value not in (None, ""):
            facts.add_row(key, Text(safe_text(value)))
    score = record.get("sentiment")
    engine = safe_text(record.get("sentiment_engine"))
    if score is not None:
        facts.add_row("sentiment", Text(f"{score:+.3f} {record['sentiment_label']} ({engine})"))
    elif record.get("sentiment_label") == "unscored":
        lang = safe_text(record.get("lang")) or "unknown"
        facts.add_row(
            "sentiment", Text(f"unscored: {engine} has no model for this language ({lang})")
        )
    counters = record.get("counters") or {}
    if counters:
        facts.add_row("counters", Text(", ".join(f"{k}={v}" for k, v in counters.items())))

    why = Text()
    why.append("matched: ", style="bold")
    why.append(safe_text(", ".join(record.get("matched", []))))
    for sp in record.get("spans", []):
        s, e = sp["start"], sp["end"]
        where = "title" if e <= len(record["title"]) else "text"
        why.append(f"\n  {safe_text(sp['term'])!r} in {where} at {s}-{e}: …")
        a, b = max(0, s - _CONTEXT), min(len(combined), e + _CONTEXT)
        why.append_text(_one_line(highlighted(combined, spans, a, b)))
        why.append("…")

    title_end = len(record["title"])
    body_end = min(len(combined), title_end + 1 + _MAX_BODY)
    title = highlighted(combined, spans, 0, title_end)
    title.stylize("bold")
    body = highlighted(combined, spans, title_end + 1, body_end)
    if body_end < len(combined):
        body.append(f"\n… ({len(combined) - body_end} more characters)", style="dim")
    return Group(facts, Text(""), why, Text(""), title, body, *_inbox_sections(record))


def _inbox_sections(record: dict[str, Any]) -> list[RenderableType]:
    """Policy flags and the history (inbox.details), when the record carries them."""
    out: list[RenderableType] = []
    flags = record.get("flags") or []
    if flags:
        text = Text("policy flags:", style="bold")
        for f in flags:
            text.append(f"\n  {safe_text(f['rule'])} ({safe_text(f['severity'])})", style="red")
            text.append(f" {safe_text(f.get('reason'))}".rstrip())
            text.append(f"  {safe_text(f.get('flagged_at'))}", style="dim")
        out += [Text(""), text]
    events = record.get("history") or []
    if events:
        text = Text("history:", style="bold")
        for e in events:
            when = safe_text(e["at"])[:16].replace("T", " ")
            text.append(f"\n  {when}  {safe_text(e['who'] or '?')}  ")
            text.append(safe_text(e["action"]), style="bold")
            text.append(f" {safe_text(e['value'])}".rstrip())
        out += [Text(""), text]
    return out


def _one_line(text: Text) -> Text:
    """The same styled text with line breaks turned into spaces (lengths unchanged)."""
    flat = text.copy()
    flat.plain = flat.plain.replace("\n", " ").replace("\t", " ")
    return flat
