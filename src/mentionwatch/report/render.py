"""A Digest rendered for people and programs: plain text (also the e-mail's text part),
the same text styled for a terminal, markdown, e-mail-safe HTML and JSON, plus the
e-mail subject.

Every title, excerpt, author and URL comes from the web and stays inert: text and
markdown pass through render.safe_text (no escape sequences), markdown escapes its
special characters (a title cannot become a link or an image), HTML escapes
everything and links only http(s) URLs. The HTML uses inline styles and tables only
(no scripts, images or external CSS), so mail clients draw the charts as sent.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from rich.text import Text

from ..textutil import safe_text
from ..timeutil import to_iso
from ..webcare.inbox import reach_text, span_text
from .digest import (
    BrandSummary,
    BrandTrend,
    Change,
    Digest,
    DigestMention,
    MentionList,
    Period,
    PolicyGroup,
    SentimentSplit,
    SourceHealth,
    VolumeBucket,
)


class DigestFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    html = "html"
    json = "json"


SPARK = "▁▂▃▄▅▆▇█"
BAR_WIDTH = 20  # characters for share-of-voice bars in text
TITLE_CHARS = 120

# ------------------------------------------------------------------ shared wording


def _when(dt: datetime) -> str:
    return (to_iso(dt) or "")[:16].replace("T", " ")


def period_name(p: Period) -> str:
    return p.label if p.label.startswith("since ") else f"last {p.label}"


def period_span(p: Period) -> str:
    return f"{_when(p.start)} → {_when(p.end)} UTC"


def change_text(c: Change) -> str:
    """``up 2 from 8 (+25%)``: the count against the previous period of the same length."""
    if c.delta == 0:
        return f"same as before ({c.previous})"
    pct = f" ({c.percent:+.0f}%)" if c.percent is not None else ""
    return f"{'up' if c.delta > 0 else 'down'} {abs(c.delta)} from {c.previous}{pct}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _score(value: float | None) -> str:
    return f"{value:+.2f}" if value is not None else "-"


def sentiment_text(s: SentimentSplit) -> str:
    return (
        f"{s.positive} positive · {s.neutral} neutral · {s.negative} negative"
        f" · average {_score(s.average)}{unscored_text(s)}"
    )


def unscored_text(s: SentimentSplit) -> str:
    """Mentions in a language without a sentiment model, said rather than hidden."""
    if not s.unscored:
        return ""
    return f" · {s.unscored} unscored (no sentiment model for their language)"


def _spark_values(values: Sequence[float | None], top: float) -> str:
    """One character per value against ``top``; None (nothing to measure) is a space."""
    steps = len(SPARK) - 1
    return "".join(
        " " if v is None else SPARK[round(v / top * steps)] if top > 0 else SPARK[0] for v in values
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def trend_rows(t: BrandTrend) -> list[tuple[str, str, str]]:
    """(what, spark line oldest → newest, this period against the previous one)."""
    counts = [float(p.count) for p in t.points]
    negative = [p.negative_share for p in t.points]
    voice = [p.share_of_voice for p in t.points]
    last, before = t.points[-1], t.points[-2] if len(t.points) > 1 else None
    return [
        (
            "volume",
            _spark_values(counts, max(counts, default=0.0)),
            f"{last.count} (was {before.count if before else '-'})",
        ),
        (
            "negative",
            _spark_values(negative, 1.0),
            f"{_pct(last.negative_share)} (was {_pct(before.negative_share if before else None)})",
        ),
        (
            "share of voice",
            _spark_values(voice, 1.0),
            f"{_pct(last.share_of_voice)} (was {_pct(before.share_of_voice if before else None)})",
        ),
    ]


def trend_heading(d: Digest) -> str:
    n = max((len(t.points) for t in d.trends), default=0)
    each = span_text(d.period.length)
    return f"Trends: {n} periods of {each} each, oldest first (the last is this one)"


def sparkline(volume: tuple[VolumeBucket, ...]) -> str:
    """One character per bucket; empty buckets get the lowest block so the time axis
    stays visible, any mention at all lifts a bucket above it."""
    top = max((b.count for b in volume), default=0)
    if top == 0:
        return SPARK[0] * len(volume)
    steps = len(SPARK) - 1
    return "".join(
        SPARK[0] if b.count == 0 else SPARK[1 + round((b.count / top) * (steps - 1))]
        for b in volume
    )


def _bucket_word(p: Period) -> str:
    return {"hour": "hourly", "day": "daily", "week": "weekly"}[p.bucket]


def peak_text(volume: tuple[VolumeBucket, ...], p: Period) -> str:
    peak = max(volume, key=lambda b: b.count, default=None)
    if peak is None or peak.count == 0:
        return f"{_bucket_word(p)}, none"
    at = _when(peak.start) if p.bucket == "hour" else _when(peak.start)[:10]
    return f"{_bucket_word(p)}, peak {peak.count} at {at}"


def _tallies(items: tuple[Any, ...], clean: Any) -> str:
    return " · ".join(f"{clean(t.name)} {t.count}" for t in items) or "-"


def _list_heading(m: MentionList) -> str:
    if m.kind == "undelivered":
        if m.total == 0:
            return "No new mentions since the last digest."
        head = f"New since the last digest: {_count(m.total, 'mention')}"
    else:
        if m.total == 0:
            return "No mentions in this period."
        head = f"Mentions in the period: {m.total}"
    if m.total > len(m.items):
        head += f", the top {len(m.items)} by priority"
    return head


def duration_words(delta: timedelta) -> str:
    """A wait as a reader says it: 45 min, 6 h, 3 days (whole units, rounded down)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // 1440} days"


def audience_text(reach: int, unit: str) -> str:
    """``12k followers``, ``1 point``: the number with what it counts (``reach 40`` when
    the source did not say)."""
    if not unit:
        return f"reach {reach_text(reach)}"
    word = unit.replace("_", " ")
    if reach == 1 and word.endswith("s"):
        word = word[:-1]
    return f"{reach_text(reach)} {word}"


def reason_text(m: DigestMention, *, to_answer: bool = False) -> str:
    """Why it is listed, in words: ``negative, 12k followers, waiting 6 h``. How long it
    has waited only ``to_answer`` (Needs an answer, policy flags): in the plain list of
    the period a wait is no reason."""
    parts = [m.sentiment_label]
    if m.reach is not None:
        parts.append(audience_text(m.reach, m.reach_unit))
    if m.waiting is not None and to_answer:
        wait = f"waiting {duration_words(m.waiting)}"
        if m.overdue_by is not None:
            wait += f" ({duration_words(m.overdue_by)} past its target)"
        parts.append(wait)
    elif m.overdue_by is not None:
        parts.append(f"{duration_words(m.overdue_by)} past its target")
    return ", ".join(parts)


def _meta(m: DigestMention, to_answer: bool = False) -> str:
    """Why it is listed (no internal scores: the tone, the audience, how long it has
    waited), then where and when."""
    parts = [reason_text(m, to_answer=to_answer), m.source]
    if m.author.strip():
        parts.append(f"by {m.author}")
    # An undated post's time is when it was fetched: say so rather than pass it off.
    parts.append(f"undated (fetched {_when(m.at)})" if m.undated else _when(m.at))
    return " · ".join(parts)


def _others(d: Digest) -> tuple[DigestMention, ...]:
    """The list's mentions less those already under "Needs an answer" (not twice)."""
    above = {m.id for m in d.needs_answer}
    return tuple(m for m in d.mentions.items if m.id not in above)


def _also_above(d: Digest) -> str:
    n = len(d.mentions.items) - len(_others(d))
    return f"{n} of them are under Needs an answer above; the others:" if n else ""


def _headline(m: DigestMention) -> str:
    title = safe_text(m.title) or safe_text(m.excerpt) or "(untitled)"
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def health_line(h: SourceHealth) -> str:
    if h.problem == "not-run":
        return "not scanned in this period"
    if h.problem == "failed":
        state = "still failing" if h.last_status == "error" else "recovered"
        return (
            f"failed {h.errors} of {_count(h.runs, 'run')} ({state}); last error at "
            f"{_when(h.last_error_at) if h.last_error_at else '?'}: {h.last_error or 'unknown'}"
        )
    if h.problem == "empty":
        return f"returned nothing in {_count(h.runs, 'run')}"
    if h.problem == "warning":
        return f"warned in {h.warnings} of {_count(h.runs, 'run')}: {h.last_warning or '?'}"
    return f"{_count(h.items, 'item')} in {_count(h.runs, 'run')}, {h.new_mentions} new mentions"


def _sources_summary(sources: tuple[SourceHealth, ...]) -> str:
    bad = sum(1 for h in sources if h.problem)
    if not sources:
        return "No sources configured."
    if not bad:
        return f"All {_count(len(sources), 'source')} returned items."
    return f"{len(sources) - bad} of {_count(len(sources), 'source')} fine; {bad} need a look:"


# ------------------------------------------------------------------ text


Line = tuple[str, str | None]  # text and a rich style for terminals (None = plain)
_TONE = {"positive": "green", "negative": "red", "neutral": None}


def _text_lines(d: Digest) -> list[Line]:
    p = d.period
    lines: list[Line] = [
        (f"Mentionwatch digest: {safe_text(period_name(p))}", "bold"),
        (
            f"{period_span(p)} · {_count(d.total, 'mention')}, {change_text(d.change)}",
            None,
        ),
    ]
    for b in d.brands:
        lines += [("", None), *_text_brand(b, p)]
    if d.trends:
        lines += [("", None), (trend_heading(d), "bold")]
        for t in d.trends:
            lines.append((f"  {safe_text(t.name)}", None))
            lines += [
                (f"    {what:<15} {spark}  {now}", None) for what, spark, now in trend_rows(t)
            ]
    lines += [("", None), ("Share of voice", "bold")]
    width = max((len(safe_text(s.name)) for s in d.share_of_voice), default=0)
    count_width = max((len(str(s.count)) for s in d.share_of_voice), default=1)
    for s in d.share_of_voice:
        filled = round(s.share * BAR_WIDTH)
        lines.append(
            (
                f"  {safe_text(s.name):<{width}}  {'█' * filled}{'░' * (BAR_WIDTH - filled)}"
                f"  {s.share * 100:3.0f}%  {s.count:>{count_width}}",
                None,
            )
        )
    if d.policy is not None:
        lines += [("", None), ("Policy flags", "bold")]
        if not d.policy:
            lines.append(("  Nothing flagged.", "dim"))
        for g in d.policy:
            lines.append((f"  {_policy_heading(g)}", "bold red"))
            for i, m in enumerate(g.items, 1):
                lines += [("  " + t, style) for t, style in _text_mention(i, m, to_answer=True)]
    lines += [("", None), ("Needs an answer", "bold")]
    if not d.needs_answer:
        lines.append(("  Nothing negative to answer.", "dim"))
    for i, m in enumerate(d.needs_answer, 1):
        lines += _text_mention(i, m, to_answer=True)
    lines += [("", None), (_list_heading(d.mentions), "bold")]
    if _also_above(d):
        lines.append((f"  {_also_above(d)}", "dim"))
    for i, m in enumerate(_others(d), 1):
        lines += _text_mention(i, m)
    lines += [("", None), ("Sources", "bold"), (f"  {_sources_summary(d.sources)}", None)]
    for h in d.sources:
        if h.problem:
            lines.append((f"  {safe_text(h.name)}: {safe_text(health_line(h))}", "red"))
    return lines


def _policy_heading(g: PolicyGroup) -> str:
    return f"{safe_text(g.rule)} ({g.severity}): {_count(g.count, 'mention')}"


def _text_brand(b: BrandSummary, p: Period) -> list[Line]:
    return [
        (f"{safe_text(b.name)}: {_count(b.count, 'mention')}, {change_text(b.change)}", "bold"),
        (f"  sentiment  {sentiment_text(b.sentiment)}", None),
        (f"  volume     {sparkline(b.volume)}  {peak_text(b.volume, p)}", "cyan"),
        (f"  sources    {_tallies(b.top_sources, safe_text)}", None),
        (f"  authors    {_tallies(b.top_authors, safe_text)}", None),
    ]


def _text_mention(i: int, m: DigestMention, *, to_answer: bool = False) -> list[Line]:
    lines: list[Line] = [
        (f"  {i}. [{safe_text(m.brand)}] {_headline(m)}", None),
        (f"     {safe_text(_meta(m, to_answer))}", _TONE.get(m.sentiment_label)),
    ]
    if m.url:
        lines.append((f"     {safe_text(m.url)}", "dim"))
    return lines


def render_text(d: Digest) -> str:
    """Plain text: no colour, no escape codes (files, pipes, the e-mail text part)."""
    return "\n".join(text.rstrip() for text, _ in _text_lines(d)) + "\n"


def render_rich(d: Digest) -> Text:
    """The same text, styled for a terminal; styles are ours, never the content's."""
    out = Text()
    for text, style in _text_lines(d):
        out.append(text.rstrip() + "\n", style=style or "")
    return out


# ------------------------------------------------------------------ markdown

# Inline specials everywhere; block openers (# - + > = 1.) only at the start, where
# they could turn an excerpt into a heading, list or quote.
_MD_INLINE = re.compile(r"([\\`*_{}\[\]()<>!|~&#])")
_MD_BLOCK = re.compile(r"^(\d+)([.)])|^([-+=>])")


def md_text(value: Any) -> str:
    s = _MD_INLINE.sub(r"\\\1", safe_text(value))
    return _MD_BLOCK.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", s)


def web_url(url: str) -> str | None:
    """The URL if it is an http(s) link with a host; else None (render as text)."""
    url = safe_text(url).strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def _md_link(title: str, url: str) -> str:
    target = web_url(url)
    if target is None:
        return md_text(title) + (f" ({md_text(url)})" if url else "")
    # Angle-bracket destinations take anything but < > and line ends; \ would escape.
    for ch, code in (("<", "%3C"), (">", "%3E"), ("\\", "%5C"), (" ", "%20")):
        target = target.replace(ch, code)
    return f"[{md_text(title)}](<{target}>)"


def render_markdown(d: Digest) -> str:
    p = d.period
    out = [
        f"# Mentionwatch digest: {md_text(period_name(p))}",
        "",
        f"{period_span(p)} · **{_count(d.total, 'mention')}**, {change_text(d.change)}",
        "",
        "## Brands",
        "",
        f"| Brand | Mentions | Change | Positive | Neutral | Negative | Average "
        f"| Volume ({_bucket_word(p)}) |",
        "|---|--:|---|--:|--:|--:|--:|---|",
    ]
    for b in d.brands:
        s = b.sentiment
        out.append(
            f"| {md_text(b.name)} | {b.count} | {change_text(b.change)} | {s.positive} "
            f"| {s.neutral} | {s.negative} | {_score(s.average)} | `{sparkline(b.volume)}` |"
        )
    for b in d.brands:
        out += [
            "",
            f"### {md_text(b.name)}",
            "",
            f"- **Volume:** {peak_text(b.volume, p)}",
            f"- **Top sources:** {_tallies(b.top_sources, md_text)}",
            f"- **Most active authors:** {_tallies(b.top_authors, md_text)}",
        ]
    if d.trends:
        out += ["", f"## {md_text(trend_heading(d))}", "", "| Brand | | Trend | This period |"]
        out.append("|---|---|---|---|")
        out += [
            f"| {md_text(t.name)} | {what} | `{spark}` | {now} |"
            for t in d.trends
            for what, spark, now in trend_rows(t)
        ]
    out += ["", "## Share of voice", "", "| Brand | Mentions | Share |", "|---|--:|--:|"]
    out += [f"| {md_text(s.name)} | {s.count} | {s.share * 100:.0f}% |" for s in d.share_of_voice]
    if d.policy is not None:
        out += ["", "## Policy flags", ""]
        if not d.policy:
            out.append("Nothing flagged.")
        for g in d.policy:
            out += [f"### {md_text(_policy_heading(g))}", ""]
            out += [
                line for i, m in enumerate(g.items, 1) for line in _md_mention(i, m, to_answer=True)
            ]
            out.append("")
    out += ["", "## Needs an answer", ""]
    if not d.needs_answer:
        out.append("Nothing negative to answer.")
    out += [
        line for i, m in enumerate(d.needs_answer, 1) for line in _md_mention(i, m, to_answer=True)
    ]
    out += ["", f"## {md_text(_list_heading(d.mentions))}", ""]
    if _also_above(d):
        out += [_also_above(d), ""]
    out += [line for i, m in enumerate(_others(d), 1) for line in _md_mention(i, m)]
    out += ["", "## Sources", "", md_text(_sources_summary(d.sources))]
    problems = [h for h in d.sources if h.problem]
    if problems:
        out.append("")
        out += [f"- **{md_text(h.name)}**: {md_text(health_line(h))}" for h in problems]
    return "\n".join(out) + "\n"


def _md_mention(i: int, m: DigestMention, *, to_answer: bool = False) -> list[str]:
    # A backslash at the end of a line is a hard line break in CommonMark.
    lines = [
        f"{i}. **{md_text(m.brand)}** · {_md_link(_headline(m), m.url)}\\",
        f"   {md_text(_meta(m, to_answer))}",
    ]
    if m.excerpt and m.title:
        lines.append(f"   > {md_text(m.excerpt)}")
    return lines


# ------------------------------------------------------------------ HTML

_COLOURS = {"positive": "#16a34a", "neutral": "#9ca3af", "negative": "#dc2626"}
_BAR = "#2563eb"
_FONT = "font-family:Helvetica,Arial,sans-serif;"
CHART_HEIGHT = 48  # pixels of the tallest volume bar


def _h(value: Any) -> str:
    return html.escape(safe_text(value), quote=True)


_TRACK = "#e5e7eb"  # the empty part of a bar


def _h_marked(text: str, marks: Sequence[tuple[int, int]]) -> str:
    """``text`` escaped, with the brand's mentions (``marks``: [start, end)) in bold."""

    def h(piece: str) -> str:  # as _h, but keeps the spaces at the pieces' edges
        return html.escape(safe_text(piece, one_line=False), quote=True)

    out, at = [], 0
    for start, end in marks:
        if start < at:
            continue  # overlapping terms: the first one is already bold
        out += [h(text[at:start]), f"<b>{h(text[start:end])}</b>"]
        at = end
    out.append(h(text[at:]))
    return "".join(out)


def _h_link(label: str, url: str) -> str:
    target = web_url(url)
    if target is None:
        return _h(label) + (f' <span style="color:#6b7280">({_h(url)})</span>' if url else "")
    return f'<a href="{html.escape(target, quote=True)}" style="color:{_BAR}">{_h(label)}</a>'


def _volume_chart(volume: tuple[VolumeBucket, ...], p: Period, top: int) -> str:
    """Vertical bars as table cells holding divs of a fixed pixel height: what mail
    clients draw reliably (no images, no scripts, no stylesheet). ``top``: the count
    drawn full height, the same for every brand so that their charts compare."""
    width = max(2, min(16, 480 // max(1, len(volume)) - 2))
    cells = []
    for b in volume:
        height = max(1, round(CHART_HEIGHT * b.count / top)) if top and b.count else 1
        colour = _BAR if b.count else "#e5e7eb"
        when = _when(b.start) if p.bucket == "hour" else _when(b.start)[:10]
        cells.append(
            f'<td valign="bottom" style="vertical-align:bottom;padding:0 1px"'
            f' title="{_h(when)}: {b.count}">'
            f'<div style="width:{width}px;height:{height}px;background:{colour};'
            f'font-size:0;line-height:0">&nbsp;</div></td>'
        )
    bars = "\n".join(cells)
    first = _when(volume[0].start) if volume else ""
    last = _when(volume[-1].start) if volume else ""
    return (
        f'<table role="presentation" cellpadding="0" cellspacing="0" '
        f'style="border-collapse:collapse;height:{CHART_HEIGHT}px"><tr>\n{bars}\n</tr>'
        f'</table><div style="font-size:11px;color:#6b7280">{_h(first)} … {_h(last)} UTC · '
        f"{_h(peak_text(volume, p))}</div>"
    )


def _hbar(parts: list[tuple[float, str]], width: int = 200) -> str:
    """A horizontal stacked bar from (fraction, colour) pairs, as one table row.

    The cells' pixel widths always add up to ``width``: whatever the fractions leave
    is a grey track cell. Without it a lone cell of a fixed-width table stretches to
    the full width, and every share of voice would look like 100 %.
    """
    widths = [(round(max(0.0, min(1.0, frac)) * width), colour) for frac, colour in parts]
    used = 0
    cells = []
    for px, colour in widths:
        px = min(px, width - used)
        if px <= 0:
            continue
        used += px
        cells.append(
            f'<td style="width:{px}px;height:10px;background:{colour};'
            f'font-size:0;line-height:0">&nbsp;</td>'
        )
    if used < width:
        cells.append(
            f'<td style="width:{width - used}px;height:10px;background:{_TRACK};'
            f'font-size:0;line-height:0">&nbsp;</td>'
        )
    return (
        f'<table role="presentation" cellpadding="0" cellspacing="0" '
        f'style="border-collapse:collapse;width:{width}px"><tr>{"".join(cells)}</tr></table>'
    )


def _html_brand(b: BrandSummary, p: Period, top: int) -> str:
    s = b.sentiment
    n = max(1, s.positive + s.neutral + s.negative)
    split = _hbar(
        [
            (s.positive / n, _COLOURS["positive"]),
            (s.neutral / n, _COLOURS["neutral"]),
            (s.negative / n, _COLOURS["negative"]),
        ]
    )
    return (
        f'<h2 style="font-size:18px;margin:24px 0 4px">{_h(b.name)}: '
        f"{_h(_count(b.count, 'mention'))}</h2>"
        f'<p style="margin:0 0 8px;color:#374151">{_h(change_text(b.change))}</p>'
        f"\n{split}\n"
        f'<p style="margin:4px 0 12px;font-size:13px">'
        f'<span style="color:{_COLOURS["positive"]}">{s.positive} positive</span> · '
        f"{s.neutral} neutral · "
        f'<span style="color:{_COLOURS["negative"]}">{s.negative} negative</span> · '
        f"average {_h(_score(s.average))}{_h(unscored_text(s))}</p>\n"
        f"{_volume_chart(b.volume, p, top)}\n"
        f'<p style="margin:12px 0 0;font-size:13px"><b>Top sources:</b> '
        f"{_tallies(b.top_sources, _h)}<br><b>Most active authors:</b> "
        f"{_tallies(b.top_authors, _h)}</p>"
    )


def _mini_bars(values: Sequence[float | None], top: float, colour: str) -> str:
    """A tiny bar chart, one 6-pixel cell per period (20 px = ``top``): table cells and
    divs only, so mail clients draw it without scripts or images."""
    cells = []
    for v in values:
        height = max(1, round(20 * v / top)) if v and top > 0 else 1
        fill = colour if v else _TRACK
        cells.append(
            f'<td valign="bottom" style="vertical-align:bottom;padding:0 1px">'
            f'<div style="width:6px;height:{height}px;background:{fill};'
            f'font-size:0;line-height:0">&nbsp;</div></td>'
        )
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" '
        f'style="border-collapse:collapse;height:20px"><tr>{"".join(cells)}</tr></table>'
    )


def _html_trends(d: Digest, section: str) -> list[str]:
    if not d.trends:
        return []
    rows = []
    for t in d.trends:
        counts = [float(p.count) for p in t.points]
        charts = [
            _mini_bars(counts, max(counts, default=0.0), _BAR),
            _mini_bars([p.negative_share for p in t.points], 1.0, _COLOURS["negative"]),
            _mini_bars([p.share_of_voice for p in t.points], 1.0, _BAR),
        ]
        for (what, _, now), chart in zip(trend_rows(t), charts, strict=True):
            rows.append(
                f'<tr><td style="padding:2px 8px 2px 0">{_h(t.name) if what == "volume" else ""}'
                f'</td><td style="padding:2px 8px;color:#6b7280">{_h(what)}</td>'
                f'<td style="padding:2px 8px">{chart}</td>'
                f'<td style="padding:2px 0;font-size:13px">{_h(now)}</td></tr>'
            )
    return [
        f"{section}{_h(trend_heading(d))}</h2>",
        '<table role="presentation" data-chart="trends" cellpadding="0" cellspacing="0" '
        f'style="border-collapse:collapse;font-size:14px">{"".join(rows)}</table>',
    ]


def _html_mentions(items: tuple[DigestMention, ...], *, to_answer: bool = False) -> str:
    rows = []
    for m in items:
        colour = _COLOURS.get(m.sentiment_label, "#374151")
        excerpt = (
            f'<div style="color:#4b5563;margin-top:2px">{_h_marked(m.excerpt, m.highlights)}</div>'
            if m.excerpt and m.title
            else ""
        )
        rows.append(
            f'<li style="margin:0 0 12px">'
            f'<span style="color:#6b7280">[{_h(m.brand)}]</span> '
            f"{_h_link(_headline(m), m.url)}"
            f'<div style="font-size:12px;color:{colour}">{_h(_meta(m, to_answer))}</div>'
            f"{excerpt}</li>"
        )
    joined = "\n".join(rows)
    return f'<ol style="padding-left:20px;font-size:14px">\n{joined}\n</ol>' if rows else ""


def _html_policy(groups: tuple[PolicyGroup, ...] | None, section: str) -> list[str]:
    if groups is None:
        return []
    out = [f"{section}Policy flags</h2>"]
    if not groups:
        out.append('<p style="color:#6b7280">Nothing flagged.</p>')
    for g in groups:
        out.append(
            f'<h3 style="font-size:15px;margin:12px 0 4px;color:{_COLOURS["negative"]}">'
            f"{_h(_policy_heading(g))}</h3>"
        )
        out.append(_html_mentions(g.items, to_answer=True))
    return out


def render_html(d: Digest) -> str:
    p = d.period
    title = f"Mentionwatch digest: {period_name(p)}"
    # One scale for every brand's volume chart: a small brand's bars stay small.
    top = max((v.count for b in d.brands for v in b.volume), default=0)
    shares = "".join(
        f'<tr><td style="padding:2px 8px 2px 0">{_h(s.name)}</td>'
        f'<td style="padding:2px 8px">{_hbar([(s.share, _BAR)])}</td>'
        f'<td style="padding:2px 8px;text-align:right">{s.share * 100:.0f}%</td>'
        f'<td style="padding:2px 0;text-align:right;color:#6b7280">{s.count}</td></tr>'
        for s in d.share_of_voice
    )
    needs = _html_mentions(d.needs_answer, to_answer=True) or (
        '<p style="color:#6b7280">Nothing negative to answer.</p>'
    )
    problems = "\n".join(
        f"<li><b>{_h(h.name)}</b>: {_h(health_line(h))}</li>" for h in d.sources if h.problem
    )
    section = '<h2 style="font-size:18px;margin:28px 0 8px">'
    blocks = [
        f'<h1 style="font-size:22px;margin:0 0 4px">{_h(title)}</h1>',
        f'<p style="margin:0;color:#374151">{_h(period_span(p))} · '
        f"<b>{_h(_count(d.total, 'mention'))}</b>, {_h(change_text(d.change))}</p>",
        *(_html_brand(b, p, top) for b in d.brands),
        *_html_trends(d, section),
        f"{section}Share of voice</h2>",
        f'<table role="presentation" data-chart="share-of-voice" cellpadding="0" '
        f'cellspacing="0" style="border-collapse:collapse;font-size:14px">{shares}</table>',
        *_html_policy(d.policy, section),
        f"{section}Needs an answer</h2>",
        needs,
        f"{section}{_h(_list_heading(d.mentions))}</h2>",
        f'<p style="color:#6b7280;font-size:13px">{_h(_also_above(d))}</p>'
        if _also_above(d)
        else "",
        _html_mentions(_others(d)),
        f"{section}Sources</h2>",
        f"<p>{_h(_sources_summary(d.sources))}</p>",
        f'<ul style="color:#b91c1c;font-size:14px">{problems}</ul>' if problems else "",
    ]
    # One block a line: readable source, and no line near SMTP's 998-character limit
    # for most digests (the MIME encoder wraps the rest).
    body = "\n".join(b for b in blocks if b)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        f"<title>{_h(title)}</title></head>\n"
        f'<body style="margin:0;padding:16px;background:#ffffff;color:#111827;{_FONT}">\n'
        f'<div style="max-width:640px">\n{body}\n</div>\n</body></html>\n'
    )


# ------------------------------------------------------------------ JSON and subject


def as_data(value: Any) -> Any:
    """The digest tree as plain JSON values: times ISO 8601 UTC, timedeltas in seconds."""
    if is_dataclass(value) and not isinstance(value, type):
        data = {f.name: as_data(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, Period):
            data["previous_start"] = to_iso(value.previous_start)
        return data
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, tuple | list):
        return [as_data(v) for v in value]
    return value


def render_json(d: Digest) -> str:
    return json.dumps(as_data(d), ensure_ascii=False, indent=2) + "\n"


def render(d: Digest, fmt: DigestFormat) -> str:
    renderers = {
        DigestFormat.text: render_text,
        DigestFormat.markdown: render_markdown,
        DigestFormat.html: render_html,
        DigestFormat.json: render_json,
    }
    return renderers[fmt](d)


def subject(d: Digest, *, max_brands: int = 3) -> str:
    """``Mentionwatch digest, last 24h to 2026-11-21 08:00 UTC: Acme 10 (3 negative),
    Globex 2 · 5 new``: brands, period and counts, readable in an inbox list."""
    parts = []
    for b in d.brands[:max_brands]:
        neg = f" ({b.sentiment.negative} negative)" if b.sentiment.negative else ""
        parts.append(f"{b.name} {b.count}{neg}")
    if len(d.brands) > max_brands:
        parts.append(f"+{len(d.brands) - max_brands} more")
    new = d.mentions.total
    listing = f"{new} new" if new else "no new mentions"
    return (
        f"Mentionwatch digest, {period_name(d.period)} to {_when(d.period.end)} UTC: "
        f"{', '.join(parts)} · {listing}"
    )
