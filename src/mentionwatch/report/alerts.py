"""Alert rules over the store: decide what fires (volume spikes, negative surges, urgent
terms), keep episodes so an alert fires once, store fired alerts, replay rules over
history (backtest), and hand pending alerts to e-mail and webhooks exactly once.

How the window rules decide, and why this way:

* A mention's time is its publication time, else when it was fetched: the same clock
  the ``--since`` filters and digests use. A window is half-open, ``[end - window, end)``;
  the live evaluation ends at *now*, its baseline is the ``baseline`` windows just before.
* Spike: a robust z-score, ``z = (count - median) / sigma`` with
  ``sigma = max(1.4826 * MAD, sqrt(max(median, 1)))`` over the baseline counts. Median and
  MAD ignore an earlier spike in the baseline (a mean and standard deviation would be
  dragged up by it and hide the next one). The square-root floor is the noise of a count
  (Poisson): a quiet baseline has MAD 0, and without a floor one extra mention would be
  "infinitely" unusual. Fires when ``count >= min_count`` and ``z >= sensitivity``.
* Negative surge: in the window at least ``min_count`` negative mentions, a negative share
  of at least ``threshold``, and that share at least ``min_rise`` above the share over the
  baseline windows pooled together (a brand that is always 60% negative is not news).
* Episodes: the first breaching evaluation stores an alert whose episode key is the start
  of its window (``UNIQUE(rule, episode)``). The episode's state lives in that alert's
  ``details.episode``: ``open``, ``last_breach`` (end of the last breaching window seen),
  ``breaches``, ``peak``. A later evaluation that breaches while the episode is open, and
  no more than one window after ``last_breach`` ended, continues it (nothing fires); one
  that does not breach closes it (``ended``). A longer unobserved gap (the job did not run)
  means nobody can say the spike never stopped, so the next breach starts a new episode.
* Urgent: one alert per matching post, the episode is the mention id; when a rule covers
  every brand, a post that names two brands still fires once.
* Which brands a rule counts: the one it names, else every brand of role ``own``
  together. Competitors and topics count only in a rule that names them.
* Policy: the scan flags mentions by the `policy:` rules (webcare.policy); every flag raised
  within ``deliver.max_age`` becomes an alert of kind ``policy`` under the policy rule's
  name, episode = the mention id (so once per mention and rule, and once per post like
  urgent alerts), delivered by the same channels. No ``alerts:`` section: flags are only
  stored and shown (inbox, ``mentions --flag``, digest).
"""

from __future__ import annotations

import html
import json
import math
import os
import statistics
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from ..config.alerts import AlertsConfig, NegativeRule, Rule, SpikeRule, UrgentRule, WindowRule
from ..config.model import Brand, EmailConfig, Settings
from ..config.policy import PolicyRule
from ..errors import MailError
from ..store.db import transaction
from ..textutil import safe_text
from ..timeutil import from_iso, to_iso
from . import delivery, mailer, webhook
from .render import web_url

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution x this = its standard deviation
TOP = 5  # terms and sources named in an explanation
EXAMPLES = 3  # mentions quoted in an explanation
Scope = tuple[str, ...] | None  # the brands a rule counts (AlertsConfig.scope); None: all
SLACK_LINES = 20  # alerts spelled out in one webhook text; the rest are counted

_TIME = "COALESCE(p.published, p.fetched)"
_RELEVANT = "m.status != 'irrelevant'"  # labelled-irrelevant mentions never count or fire
# An undated post carries its fetch time: a first scan would put them all in the last
# window and fire a false spike. They count in no spike or negative-surge window.
_DATED = "NOT p.undated"

# ---------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Alert:
    """A stored alert, as the alerts table holds it (``details`` decoded)."""

    id: int
    rule: str
    kind: str
    brand: str | None
    episode: str
    fired: str
    window_start: str | None
    window_end: str | None
    summary: str
    details: dict[str, Any]

    def as_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "kind": self.kind,
            "brand": self.brand,
            "episode": self.episode,
            "fired": self.fired,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "summary": self.summary,
            "details": self.details,
        }


ALERT_FIELDS = (
    "id", "rule", "kind", "brand", "episode", "fired", "window_start", "window_end", "summary",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Episode:
    """When a window rule would have fired in a backtest, with the numbers of that window."""

    rule: str
    kind: str
    brand: str | None
    window_start: str
    window_end: str
    ended: str | None  # end of the first window back to normal; None: still on at the end
    peak: int
    summary: str
    details: dict[str, Any]

    def as_record(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "brand": self.brand,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "ended": self.ended,
            "peak": self.peak,
            "summary": self.summary,
            "details": self.details,
        }


EPISODE_FIELDS = (
    "rule", "kind", "brand", "window_start", "window_end", "ended", "peak", "summary",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChannelResult:
    """One delivery attempt: which alerts went (or failed to go) to one target."""

    channel: str  # email | webhook
    target: str  # delivery.target_key(recipients), or webhook.target_key(url)
    alert_ids: tuple[int, ...]
    error: str | None = None  # None: the server accepted it
    delivery_id: int | None = None
    skipped_old: int = 0  # undelivered alerts older than deliver.max_age, left alone


@dataclass(frozen=True, slots=True)
class AlertRun:
    """What one evaluation did: the alerts that fired now, and every delivery attempt."""

    now: datetime
    fired: tuple[Alert, ...]
    channels: tuple[ChannelResult, ...] = ()

    @property
    def failures(self) -> tuple[ChannelResult, ...]:
        return tuple(c for c in self.channels if c.error is not None)

    @property
    def ok(self) -> bool:
        return not self.failures


# ----------------------------------------------------------------------------- the numbers


def spike_numbers(count: int, baseline: Sequence[int], rule: SpikeRule) -> dict[str, Any]:
    """The spike statistic for one window (see the module docstring)."""
    median = float(statistics.median(baseline)) if baseline else 0.0
    mad = float(statistics.median(abs(c - median) for c in baseline)) if baseline else 0.0
    sigma = max(MAD_TO_SIGMA * mad, math.sqrt(max(median, 1.0)))
    z = (count - median) / sigma
    fires_at = max(rule.min_count, math.ceil(median + rule.sensitivity * sigma - 1e-9))
    return {
        "count": count,
        "baseline_windows": len(baseline),
        "baseline_median": round(median, 3),
        "baseline_mad": round(mad, 3),
        "baseline_mean": round(statistics.fmean(baseline), 3) if baseline else 0.0,
        "sigma": round(sigma, 3),
        "z": round(z, 2),
        "sensitivity": rule.sensitivity,
        "min_count": rule.min_count,
        "fires_at": fires_at,
        "breach": count >= rule.min_count and z >= rule.sensitivity,
    }


def negative_numbers(
    total: int, negatives: int, base_total: int, base_negatives: int, rule: NegativeRule
) -> dict[str, Any]:
    """The negative-surge test for one window (see the module docstring)."""
    share = negatives / total if total else 0.0
    base_share = base_negatives / base_total if base_total else 0.0
    return {
        "count": total,
        "negatives": negatives,
        "share": round(share, 3),
        "baseline_count": base_total,
        "baseline_negatives": base_negatives,
        "baseline_share": round(base_share, 3),
        "threshold": rule.threshold,
        "min_rise": rule.min_rise,
        "min_count": rule.min_count,
        "breach": (
            negatives >= rule.min_count
            and share >= rule.threshold
            and share - base_share >= rule.min_rise - 1e-9
        ),
    }


class _Series:
    """Mention times of one brand (or all), sorted, for counting windows by bisection:
    a 30-day backtest evaluates thousands of windows from one query."""

    def __init__(self, times: list[float], negatives: list[float]) -> None:
        self.times = times
        self.negatives = negatives

    @staticmethod
    def _between(values: list[float], start: datetime, end: datetime) -> int:
        return bisect_left(values, end.timestamp()) - bisect_left(values, start.timestamp())

    def count(self, start: datetime, end: datetime) -> int:
        return self._between(self.times, start, end)

    def negative_count(self, start: datetime, end: datetime) -> int:
        return self._between(self.negatives, start, end)


def _brand_sql(scope: Scope) -> tuple[str, list[Any]]:
    """The condition on ``m.brand`` for a rule's brands (``AlertsConfig.scope``)."""
    if scope is None:
        return "", []
    return f" AND m.brand IN ({','.join('?' * len(scope))})", list(scope)


def _load_series(
    db: sqlite_utils.Database, scope: Scope, start: datetime, end: datetime
) -> _Series:
    sql = (
        f"SELECT {_TIME} AS at, m.sentiment_label FROM mentions m "  # noqa: S608
        f"JOIN posts p ON p.rowid = m.post_row WHERE {_TIME} >= ? AND {_TIME} < ? AND {_RELEVANT}"
        f" AND {_DATED}"
    )
    where, params = _brand_sql(scope)
    sql += where
    params = [to_iso(start), to_iso(end), *params]
    times: list[float] = []
    negatives: list[float] = []
    for at, label in db.execute(sql, params).fetchall():
        when = from_iso(at)
        if when is None:
            continue
        times.append(when.timestamp())
        if label == "negative":
            negatives.append(when.timestamp())
    times.sort()
    negatives.sort()
    return _Series(times, negatives)


@dataclass(frozen=True, slots=True)
class _Measure:
    start: datetime
    end: datetime
    numbers: dict[str, Any]

    @property
    def breach(self) -> bool:
        return bool(self.numbers["breach"])

    @property
    def level(self) -> int:
        """What an episode's peak tracks: mentions (spike) or negative mentions."""
        return int(self.numbers.get("negatives", self.numbers["count"]))


def _measure(rule: WindowRule, series: _Series, end: datetime) -> _Measure:
    w = rule.window
    start = end - w
    if isinstance(rule, SpikeRule):
        baseline = [
            series.count(end - (k + 1) * w, end - k * w) for k in range(1, rule.baseline + 1)
        ]
        numbers = spike_numbers(series.count(start, end), baseline, rule)
    else:
        base_start, base_end = end - (rule.baseline + 1) * w, start
        numbers = negative_numbers(
            series.count(start, end),
            series.negative_count(start, end),
            series.count(base_start, base_end),
            series.negative_count(base_start, base_end),
            rule,
        )
    return _Measure(start, end, numbers)


def _lookback(rule: WindowRule) -> timedelta:
    return (rule.baseline + 1) * rule.window


# ------------------------------------------------------------------------- explanations


def _explain(
    db: sqlite_utils.Database, rule: WindowRule, scope: Scope, start: datetime, end: datetime
) -> dict[str, Any]:
    """What the window is made of: top matched terms, sources (and brands), examples.
    For a negative surge, of the negative mentions only: they are what needs reading."""
    sql = (
        "SELECT m.id, m.brand, m.matched, p.source, p.title, p.url, p.reach, "  # noqa: S608
        f"{_TIME} AS at FROM mentions m JOIN posts p ON p.rowid = m.post_row "
        f"WHERE {_TIME} >= ? AND {_TIME} < ? AND {_RELEVANT} AND {_DATED}"
    )
    where, params = _brand_sql(scope)
    sql += where
    params = [to_iso(start), to_iso(end), *params]
    if isinstance(rule, NegativeRule):
        sql += " AND m.sentiment_label = 'negative'"
    rows = list(db.query(sql, params))
    terms: Counter[str] = Counter()
    for row in rows:
        # A term counts once per mention, however often the post repeats it.
        terms.update(set(json.loads(row["matched"] or "[]")))
    sources = Counter(row["source"] for row in rows)
    examples = sorted(rows, key=lambda r: (r["reach"] or 0, r["at"] or ""), reverse=True)
    out: dict[str, Any] = {
        "top_terms": [{"term": t, "count": n} for t, n in terms.most_common(TOP)],
        "top_sources": [{"source": s, "count": n} for s, n in sources.most_common(TOP)],
        "examples": [
            {k: r[k] for k in ("id", "brand", "source", "title", "url", "at")}
            for r in examples[:EXAMPLES]
        ],
    }
    if rule.brand is None:
        brands = Counter(row["brand"] for row in rows)
        out["top_brands"] = [{"brand": b, "count": n} for b, n in brands.most_common(TOP)]
    return out


def duration_text(delta: timedelta) -> str:
    """1h, 90m, 6h, 1d, 2w: the way the config spells windows."""
    seconds = int(delta.total_seconds())
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _tops(items: Iterable[dict[str, Any]], key: str) -> str:
    return ", ".join(f"{safe_text(i[key])} ({i['count']})" for i in items) or "none"


def _window_summary(
    rule: WindowRule, scope: Scope, numbers: dict[str, Any], why: dict[str, Any]
) -> str:
    who = rule.brand or ("all brands" if scope is None else "all own brands")
    dur = duration_text(rule.window)
    if isinstance(rule, SpikeRule):
        head = (
            f"{who}: {numbers['count']} mentions in {dur} vs a median of "
            f"{numbers['baseline_median']:g} per {dur} over the {numbers['baseline_windows']} "
            f"windows before (fires at {numbers['fires_at']}, z={numbers['z']:g})"
        )
    else:
        head = (
            f"{who}: {numbers['negatives']} of {numbers['count']} mentions negative "
            f"({numbers['share']:.0%}) in {dur} vs {numbers['baseline_share']:.0%} before"
        )
    return (
        f"{head}; top terms: {_tops(why['top_terms'], 'term')}; "
        f"top sources: {_tops(why['top_sources'], 'source')}"
    )


# ---------------------------------------------------------------------------- evaluation


def evaluate(
    cfg: AlertsConfig,
    db: sqlite_utils.Database,
    *,
    now: datetime,
    urgent_since: datetime | None = None,
) -> list[Alert]:
    """Evaluate every rule with windows ending at ``now``; store and return what fired.

    ``urgent_since`` replaces the urgent rules' ``within`` (e.g. after an outage).
    """
    fired: list[Alert] = []
    for rule in cfg.rules:
        if isinstance(rule, UrgentRule):
            fired.extend(_evaluate_urgent(db, rule, cfg.scope(rule), now, urgent_since))
        else:
            alert = _evaluate_window(db, rule, cfg.scope(rule), now)
            if alert is not None:
                fired.append(alert)
    fired.extend(_evaluate_policy(db, now, now - cfg.deliver.max_age))
    return fired


def _latest(db: sqlite_utils.Database, rule: WindowRule) -> Alert | None:
    rows = list(
        db.query("SELECT * FROM alerts WHERE rule = ? ORDER BY id DESC LIMIT 1", [rule.name])
    )
    if not rows:
        return None
    alert = _alert(rows[0])
    # A rule renamed to another type does not inherit the old rule's episode.
    return alert if alert.kind == rule.kind else None


def _evaluate_window(
    db: sqlite_utils.Database, rule: WindowRule, scope: Scope, now: datetime
) -> Alert | None:
    series = _load_series(db, scope, now - _lookback(rule), now)
    m = _measure(rule, series, now)
    # Read the episode and write its next state in one transaction: what we decide
    # from must still be true when we write.
    with transaction(db):
        latest = _latest(db, rule)
        state = dict(latest.details.get("episode", {})) if latest else {}
        if latest is not None and state.get("open"):
            last_breach = from_iso(state.get("last_breach"))
            if not m.breach:
                state.update(open=False, ended=to_iso(now))
                _save_state(db, latest, state)
                return None
            if last_breach is not None and last_breach >= m.start - rule.window:
                state.update(
                    last_breach=to_iso(now),
                    breaches=int(state.get("breaches", 1)) + 1,
                    peak=max(int(state.get("peak", 0)), m.level),
                )
                _save_state(db, latest, state)
                return None
            # Not evaluated for longer than a window: the old episode ended unobserved.
            state.update(open=False, ended=state.get("last_breach"), closed="not evaluated")
            _save_state(db, latest, state)
        if not m.breach:
            return None
        why = _explain(db, rule, scope, m.start, m.end)
        details = {
            "window": duration_text(rule.window),
            "numbers": m.numbers,
            **why,
            "episode": {
                "open": True,
                "last_breach": to_iso(now),
                "breaches": 1,
                "peak": m.level,
                "ended": None,
            },
        }
        return _insert(
            db,
            rule=rule,
            episode=str(to_iso(m.start)),
            now=now,
            window=(m.start, m.end),
            summary=_window_summary(rule, scope, m.numbers, why),
            details=details,
        )


def _save_state(db: sqlite_utils.Database, alert: Alert, state: dict[str, Any]) -> None:
    details = {**alert.details, "episode": state}
    db.execute(
        "UPDATE alerts SET details = ? WHERE id = ?",
        [json.dumps(details, ensure_ascii=False), alert.id],
    )


def _insert(
    db: sqlite_utils.Database,
    *,
    rule: Rule | PolicyRule,
    episode: str,
    now: datetime,
    brand: str | None = None,
    window: tuple[datetime, datetime] | None,
    summary: str,
    details: dict[str, Any],
) -> Alert | None:
    start, end = (to_iso(window[0]), to_iso(window[1])) if window else (None, None)
    brand = brand or rule.brand
    cur = db.execute(
        """INSERT OR IGNORE INTO alerts
           (rule, kind, brand, episode, fired, window_start, window_end, summary, details)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            rule.name,
            rule.kind,
            brand,
            episode,
            to_iso(now),
            start,
            end,
            summary,
            json.dumps(details, ensure_ascii=False),
        ],
    )
    if not cur.rowcount:  # this episode has fired before: once is the promise
        return None
    return Alert(
        id=int(cur.lastrowid or 0),
        rule=rule.name,
        kind=rule.kind,
        brand=brand,
        episode=episode,
        fired=str(to_iso(now)),
        window_start=start,
        window_end=end,
        summary=summary,
        details=details,
    )


def _evaluate_urgent(
    db: sqlite_utils.Database,
    rule: UrgentRule,
    scope: Scope,
    now: datetime,
    since: datetime | None,
) -> list[Alert]:
    from ..analysis.matcher import compile_brands

    matcher = compile_brands([Brand(name=rule.name, keywords=rule.terms)])
    sql = (
        "SELECT m.id, m.post_id, m.brand, m.sentiment, m.sentiment_label, p.source, "  # noqa: S608
        f"p.title, p.text, p.url, p.author, p.reach, {_TIME} AS at "
        f"FROM mentions m JOIN posts p ON p.rowid = m.post_row WHERE {_TIME} >= ? AND {_TIME} < ? "
        f"AND {_RELEVANT} AND m.id NOT IN (SELECT episode FROM alerts WHERE rule = ?)"
    )
    where, brands = _brand_sql(scope)
    sql += where
    params: list[Any] = [to_iso(since or now - rule.within), to_iso(now), rule.name, *brands]
    sql += f" ORDER BY {_TIME}, m.id"
    fired: list[Alert] = []
    # Posts that already fired this rule (through another brand's mention, say).
    seen_posts = {
        r[0]
        for r in db.execute(
            "SELECT m.post_id FROM alerts a JOIN mentions m ON m.id = a.episode WHERE a.rule = ?",
            [rule.name],
        ).fetchall()
    }
    found: list[tuple[dict[str, Any], tuple[str, ...]]] = []
    for row in db.query(sql, params):
        if row["post_id"] in seen_posts:
            continue
        matches = matcher.match(row["title"] or "", row["text"] or "")
        if not matches:
            continue
        seen_posts.add(row["post_id"])
        found.append((row, matches[0].terms))
    if not found:
        return fired
    with transaction(db):
        for row, terms in found:
            title = safe_text(row["title"] or row["text"])
            title = title if len(title) <= 140 else title[:139] + "…"
            quoted = ", ".join(f'"{t}"' for t in terms)
            details = {
                "terms": list(terms),
                "mention": {
                    k: row[k]
                    for k in ("id", "brand", "source", "title", "url", "author", "reach", "at")
                }
                | {"sentiment": row["sentiment"], "sentiment_label": row["sentiment_label"]},
            }
            alert = _insert(
                db,
                rule=rule,
                episode=row["id"],
                now=now,
                brand=row["brand"],  # the alert is about this brand's mention
                window=None,
                summary=f"{row['brand']} mention on {row['source']} says {quoted}: {title}",
                details=details,
            )
            if alert is not None:
                fired.append(alert)
    return fired


def _evaluate_policy(db: sqlite_utils.Database, now: datetime, since: datetime) -> list[Alert]:
    """Flags raised since ``since`` that have no alert yet fire now (see the module docstring)."""
    sql = (
        "SELECT f.mention_id, f.rule, f.severity, f.reason, m.post_id, m.brand, m.sentiment, "  # noqa: S608
        f"m.sentiment_label, p.source, p.title, p.text, p.url, p.author, p.reach, {_TIME} AS at "
        "FROM mention_flags f JOIN mentions m ON m.id = f.mention_id "
        "JOIN posts p ON p.rowid = m.post_row WHERE f.flagged_at >= ? AND f.flagged_at <= ? "
        f"AND {_RELEVANT} AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.rule = f.rule "
        "AND a.episode = f.mention_id) ORDER BY f.flagged_at, CASE f.severity "
        "WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, "
        "f.rule, f.mention_id"  # most severe first in a message
    )
    # A post naming two brands is two flagged mentions, but one thing to look at.
    seen = {
        (r[0], r[1])
        for r in db.execute(
            "SELECT a.rule, m.post_id FROM alerts a JOIN mentions m ON m.id = a.episode "
            "WHERE a.kind = 'policy'"
        ).fetchall()
    }
    found: list[dict[str, Any]] = []
    for row in db.query(sql, [to_iso(since), to_iso(now)]):
        if (row["rule"], row["post_id"]) not in seen:
            seen.add((row["rule"], row["post_id"]))
            found.append(row)
    fired: list[Alert] = []
    if not found:
        return fired
    with transaction(db):
        for row in found:
            title = safe_text(row["title"] or row["text"])
            title = title if len(title) <= 140 else title[:139] + "…"
            mention = {
                k: row[k] for k in ("brand", "source", "title", "url", "author", "reach", "at")
            }
            alert = _insert(
                db,
                rule=PolicyRule(name=row["rule"], severity=row["severity"]),
                episode=row["mention_id"],
                now=now,
                brand=row["brand"],
                window=None,
                summary=(
                    f"{row['brand']} mention on {row['source']} flagged {row['severity']}: "
                    f"{row['reason']}: {title}"
                ),
                details={
                    "severity": row["severity"],
                    "reason": row["reason"],
                    "mention": {"id": row["mention_id"], **mention}
                    | {"sentiment": row["sentiment"], "sentiment_label": row["sentiment_label"]},
                },
            )
            if alert is not None:
                fired.append(alert)
    return fired


# ----------------------------------------------------------------------------- backtest


def backtest_step(rule: WindowRule) -> timedelta:
    """How far apart replayed evaluations are: a quarter window, so a burst that
    straddles two back-to-back windows is still seen whole in one of them."""
    return max(rule.window / 4, timedelta(minutes=1))


def backtest(
    cfg: AlertsConfig, db: sqlite_utils.Database, *, since: datetime, now: datetime
) -> list[Episode]:
    """When each spike / negative rule would have fired between ``since`` and ``now``
    (episode starts), replaying sliding windows over the stored mentions. Stores nothing."""
    episodes: list[Episode] = []
    for rule in cfg.rules:
        if isinstance(rule, UrgentRule):
            continue
        step = backtest_step(rule)
        ends: list[datetime] = []
        end = now
        while end - rule.window >= since:
            ends.append(end)
            end -= step
        ends.reverse()
        if not ends:
            continue
        scope = cfg.scope(rule)
        series = _load_series(db, scope, ends[0] - _lookback(rule), now)
        first: _Measure | None = None
        peak = 0
        for end in ends:
            m = _measure(rule, series, end)
            if m.breach and first is None:
                first, peak = m, m.level
            elif m.breach:
                peak = max(peak, m.level)
            elif first is not None:
                episodes.append(_episode(db, rule, scope, first, peak, ended=end))
                first = None
        if first is not None:
            episodes.append(_episode(db, rule, scope, first, peak, ended=None))
    episodes.sort(key=lambda e: (e.window_start, e.rule))
    return episodes


def _episode(
    db: sqlite_utils.Database,
    rule: WindowRule,
    scope: Scope,
    m: _Measure,
    peak: int,
    *,
    ended: datetime | None,
) -> Episode:
    why = _explain(db, rule, scope, m.start, m.end)
    return Episode(
        rule=rule.name,
        kind=rule.kind,
        brand=rule.brand,
        window_start=str(to_iso(m.start)),
        window_end=str(to_iso(m.end)),
        ended=to_iso(ended),
        peak=peak,
        summary=_window_summary(rule, scope, m.numbers, why),
        details={"window": duration_text(rule.window), "numbers": m.numbers, **why},
    )


# ----------------------------------------------------------------------------- reading


def _alert(row: dict[str, Any]) -> Alert:
    return Alert(
        id=int(row["id"]),
        rule=row["rule"],
        kind=row["kind"],
        brand=row["brand"],
        episode=row["episode"],
        fired=row["fired"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        summary=row["summary"],
        details=json.loads(row["details"]) if row["details"] else {},
    )


def load_alerts(db: sqlite_utils.Database, ids: Sequence[int]) -> list[Alert]:
    """Stored alerts by id, in the given order."""
    found: dict[int, Alert] = {}
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        marks = ",".join("?" * len(chunk))
        for row in db.query(f"SELECT * FROM alerts WHERE id IN ({marks})", chunk):  # noqa: S608
            found[int(row["id"])] = _alert(row)
    return [found[i] for i in ids if i in found]


# ----------------------------------------------------------------------------- delivery


def alert_text(alert: Alert) -> list[str]:
    """Plain-text lines for one alert (e-mail). Untrusted text is made inert."""
    who = f" — {safe_text(alert.brand)}" if alert.brand else ""
    lines = [f"[{alert.kind}] {safe_text(alert.rule)}{who}"]
    if alert.window_start and alert.window_end:
        lines.append(f"  window {alert.window_start} to {alert.window_end}")
    lines.append(f"  {safe_text(alert.summary)}")
    examples = alert.details.get("examples") or []
    if alert.kind in ("urgent", "policy") and alert.details.get("mention"):
        examples = [alert.details["mention"]]
    for ex in examples:
        lines.append(f"  - {safe_text(ex.get('title')) or '(no title)'}")
        if ex.get("url"):
            lines.append(f"    {safe_text(ex['url'])}")
    return lines


def email_message(alerts: Sequence[Alert]) -> tuple[str, str]:
    """Subject and plain-text body listing ``alerts``."""
    rules = list(dict.fromkeys(a.rule for a in alerts))
    noun = "alert" if len(alerts) == 1 else "alerts"
    subject = f"mentionwatch: {len(alerts)} {noun}: {', '.join(rules)}"
    body: list[str] = [f"mentionwatch fired {len(alerts)} {noun}.", ""]
    for alert in alerts:
        body.extend(alert_text(alert))
        body.append("")
    return safe_text(subject), "\n".join(body)


def _alert_examples(alert: Alert) -> list[dict[str, Any]]:
    if alert.kind in ("urgent", "policy") and alert.details.get("mention"):
        return [alert.details["mention"]]
    return list(alert.details.get("examples") or [])


def alert_html(alerts: Sequence[Alert]) -> str:
    """The HTML part of an alert e-mail: per alert its rule, the explanation and the top
    posts as links. Inline styles only, no scripts or remote images (what mail clients
    draw); every fetched string escaped, only http(s) URLs become links."""
    noun = "alert" if len(alerts) == 1 else "alerts"
    blocks = []
    for alert in alerts:
        who = f" — {_h(alert.brand)}" if alert.brand else ""
        window = (
            f'<p style="margin:0;color:#6b7280;font-size:13px">window {_h(alert.window_start)}'
            f" to {_h(alert.window_end)} UTC</p>"
            if alert.window_start and alert.window_end
            else ""
        )
        posts = []
        for ex in _alert_examples(alert):
            title = _h(ex.get("title")) or "(no title)"
            target = web_url(str(ex.get("url") or ""))
            posts.append(
                f'<li><a href="{html.escape(target, quote=True)}">{title}</a></li>'
                if target
                else f"<li>{title}</li>"
            )
        top = f'<ul style="margin:4px 0 0">{"".join(posts)}</ul>' if posts else ""
        blocks.append(
            f'<h2 style="font-size:17px;margin:20px 0 4px">{_h(alert.rule)}{who} '
            f'<span style="color:#6b7280;font-weight:normal">({_h(alert.kind)})</span></h2>'
            f'{window}<p style="margin:6px 0">{_h(alert.summary)}</p>{top}'
        )
    body = "\n".join(blocks)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>'
        '<body style="font-family:Arial,Helvetica,sans-serif;color:#111827">\n'
        f'<div style="max-width:640px"><h1 style="font-size:20px">mentionwatch fired '
        f"{len(alerts)} {noun}</h1>\n{body}\n</div></body></html>\n"
    )


def _h(value: Any) -> str:
    return html.escape(safe_text(value), quote=True)


def slack_escape(value: Any) -> str:
    """Inert in Slack's mrkdwn: <...> would make links and @channel pings, & starts entities."""
    return safe_text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_payload(alerts: Sequence[Alert]) -> dict[str, Any]:
    """Slack-compatible ``text`` for people, and the alerts as data for programs."""
    noun = "alert" if len(alerts) == 1 else "alerts"
    lines = [f"*mentionwatch: {len(alerts)} {noun}*"]
    for alert in alerts[:SLACK_LINES]:
        who = f" — {slack_escape(alert.brand)}" if alert.brand else ""
        head = f"• *{slack_escape(alert.rule)}* ({alert.kind}{who})"
        lines.append(f"{head}: {slack_escape(alert.summary)}")
        url = (alert.details.get("mention") or {}).get("url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            lines.append(f"    {slack_escape(url)}")
    if len(alerts) > SLACK_LINES:
        lines.append(f"… and {len(alerts) - SLACK_LINES} more")
    return {
        "text": "\n".join(lines),
        "count": len(alerts),
        "alerts": [a.as_record() for a in alerts],
    }


def _pending(db: sqlite_utils.Database, target: str, not_before: datetime) -> tuple[list[int], int]:
    """Undelivered alert ids for ``target`` fired since ``not_before``, and how many
    older ones were left alone."""
    ids = delivery.undelivered_alerts(db, target)
    cutoff = str(to_iso(not_before))
    fresh: set[int] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        fresh.update(
            int(r[0])
            for r in db.execute(
                f"SELECT id FROM alerts WHERE fired >= ? AND id IN ({marks})",  # noqa: S608
                [cutoff, *chunk],
            )
        )
    return [i for i in ids if i in fresh], len(ids) - len(fresh)


def deliver_pending(
    cfg: AlertsConfig,
    email_config: EmailConfig | None,
    db: sqlite_utils.Database,
    *,
    now: datetime,
    settings: Settings | None = None,
) -> tuple[ChannelResult, ...]:
    """Send every alert not yet accepted by each configured channel, one message per
    channel; record a delivery only after the server accepted it. A failing channel
    leaves its alerts pending for the next run and does not stop the other channel."""
    results: list[ChannelResult] = []
    settings = settings or Settings()
    not_before = now - cfg.deliver.max_age
    if cfg.deliver.email:
        results.append(_deliver_email(cfg, email_config, db, not_before))
    if cfg.deliver.has_webhook:
        results.append(_deliver_webhook(cfg, db, not_before, settings))
    return tuple(r for r in results if r.alert_ids or r.error or r.skipped_old)


def _deliver_email(
    cfg: AlertsConfig,
    email_config: EmailConfig | None,
    db: sqlite_utils.Database,
    not_before: datetime,
) -> ChannelResult:
    if email_config is None:
        return ChannelResult("email", "", (), error="alerts.deliver.email needs an email: section")
    recipients = cfg.deliver.email_to or email_config.to
    target = delivery.target_key(recipients)
    ids, old = _pending(db, target, not_before)
    if not ids:
        return ChannelResult("email", target, (), skipped_old=old)
    alerts = load_alerts(db, ids)
    subject, text = email_message(alerts)
    try:
        msg = mailer.build_message(
            email_config, subject=subject, text=text, html=alert_html(alerts), to=recipients
        )
        mailer.send(email_config, msg)
    except MailError as exc:
        return ChannelResult("email", target, tuple(ids), error=str(exc), skipped_old=old)
    delivery_id = delivery.record(
        db,
        kind="alert",
        channel="email",
        target=target,
        subject=subject,
        body=msg.as_string(),
        meta={"alerts": len(ids)},
        alert_ids=ids,
    )
    return ChannelResult("email", target, tuple(ids), delivery_id=delivery_id, skipped_old=old)


def _deliver_webhook(
    cfg: AlertsConfig, db: sqlite_utils.Database, not_before: datetime, settings: Settings
) -> ChannelResult:
    env = cfg.deliver.webhook_url_env
    url = cfg.deliver.webhook_url or (os.environ.get(env) if env else None)
    if not url:
        return ChannelResult(
            "webhook",
            f"webhook:${env}",
            (),
            error=f"environment variable {env} (alerts.deliver.webhook_url_env) is not set",
        )
    target = webhook.target_key(url)
    ids, old = _pending(db, target, not_before)
    if not ids:
        return ChannelResult("webhook", target, (), skipped_old=old)
    payload = webhook_payload(load_alerts(db, ids))
    try:
        webhook.post_json(
            url, payload, timeout=settings.timeout, user_agent=settings.user_agent or None
        )
    except webhook.WebhookError as exc:
        return ChannelResult("webhook", target, tuple(ids), error=str(exc), skipped_old=old)
    delivery_id = delivery.record(
        db,
        kind="alert",
        channel="webhook",
        target=target,
        subject=None,
        body=json.dumps(payload, ensure_ascii=False),
        meta={"alerts": len(ids), "url": webhook.describe_url(url)},
        alert_ids=ids,
    )
    return ChannelResult("webhook", target, tuple(ids), delivery_id=delivery_id, skipped_old=old)


# ----------------------------------------------------------------------------- one run


def run_alerts(
    config_alerts: AlertsConfig,
    email_config: EmailConfig | None,
    db: sqlite_utils.Database,
    *,
    now: datetime | None = None,
    deliver: bool = True,
    settings: Settings | None = None,
    urgent_since: datetime | None = None,
) -> AlertRun:
    """Evaluate every rule at ``now``, store what fired, then (``deliver``) send every
    pending alert to the configured channels. The caller holds the run lock.

    Never raises for a delivery failure: it is in ``AlertRun.failures`` (exit 1), and
    the alerts stay pending for the next run.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    fired = evaluate(config_alerts, db, now=now, urgent_since=urgent_since)
    channels: tuple[ChannelResult, ...] = ()
    if deliver:
        channels = deliver_pending(config_alerts, email_config, db, now=now, settings=settings)
    return AlertRun(now=now, fired=tuple(fired), channels=channels)
