"""Social-media-policy watch: evaluate the `policy:` rules on stored mentions and write
``mention_flags`` (with a ``flag`` event in each mention's history).

When it runs, and why this way:

* The scan (pipeline.py) flags the NEW mentions of each group of sources right after
  storing them, in a transaction of its own: ``store.save_source_runs`` offers no hook
  inside its transaction.
  A crash between the two commits would leave those mentions unflagged for good (the next
  scan sees them as known), so each scan first catches up (:func:`catch_up`): mentions
  created after the last *completed* scan finished are exactly those of a scan that never
  finished, and they are checked again. Flagging is idempotent (one row per mention and
  rule), so checking a mention twice changes nothing.
* Rules are not applied to history when they change: a rule added today flags what is
  stored from now on (a confidential code name in last year's posts is not news).
* Flags become alerts (kind ``policy``) when the alert rules run (alerts.py), and go out
  by the ``alerts.deliver`` channels like every other alert.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from ..analysis.matcher import compile_brands
from ..config.model import Brand
from ..config.policy import SEVERITY_RANK, PolicyRule, author_key
from ..store.db import transaction
from ..timeutil import to_iso

FLAGGED_BY = "mentionwatch"  # the `who` of a flag event: no person flagged it
_CHUNK = 500  # ids per query: under SQLite's bound-parameter limit


@dataclass(frozen=True, slots=True)
class Flag:
    """One policy rule that a mention breaks, and why."""

    mention_id: str
    rule: str
    severity: str
    reason: str


class PolicyChecker:
    """The rules compiled once: every term rule is one "brand" of a single matcher, so a
    post is read once whatever the number of rules."""

    def __init__(
        self, rules: Sequence[PolicyRule], own_brands: Collection[str] | None = None
    ) -> None:
        self.rules = tuple(rules)
        # What a rule without `brand:` checks: the mentions of `own` brands (a competitor's
        # or a topic's only under a rule that names it, as for alert rules). None: all.
        self._own = {b.casefold() for b in own_brands} if own_brands is not None else None
        term_rules = [r for r in self.rules if r.terms]
        self._matcher = (
            compile_brands([Brand(name=r.name, keywords=r.terms) for r in term_rules])
            if term_rules
            else None
        )
        self._authors = {r.name: frozenset(author_key(a) for a in r.authors) for r in self.rules}

    def check(
        self, *, brand: str, title: str, text: str, author: str
    ) -> list[tuple[PolicyRule, str]]:
        """The rules this mention (of ``brand``) breaks, each with a reason, in config order."""
        said: dict[str, tuple[str, ...]] = {}
        if self._matcher is not None:
            said = {m.brand: m.terms for m in self._matcher.match(title, text)}
        who = author_key(author)
        found: list[tuple[PolicyRule, str]] = []
        for rule in self.rules:
            if rule.brand is not None and rule.brand.casefold() != brand.casefold():
                continue
            if rule.brand is None and self._own is not None and brand.casefold() not in self._own:
                continue
            reasons: list[str] = []
            if rule.authors:
                if not who or who not in self._authors[rule.name]:
                    continue
                reasons.append(f"by watched account {author.strip()}")
            if rule.terms:
                terms = said.get(rule.name)
                if not terms:
                    continue
                reasons.append("says " + ", ".join(f'"{t}"' for t in terms))
            found.append((rule, "; ".join(reasons)))
        return found


def flag_mentions(
    db: sqlite_utils.Database, checker: PolicyChecker, mention_ids: Sequence[str], *, now: datetime
) -> list[Flag]:
    """Check these stored mentions against the rules; write the new flags (and a ``flag``
    event each) in one transaction. Returns the flags that were not there before."""
    if not checker.rules or not mention_ids:
        return []
    found: list[Flag] = []
    for i in range(0, len(mention_ids), _CHUNK):
        chunk = list(mention_ids[i : i + _CHUNK])
        marks = ",".join("?" * len(chunk))
        rows = db.query(
            "SELECT m.id, m.brand, p.title, p.text, p.author FROM mentions m "  # noqa: S608
            f"JOIN posts p ON p.rowid = m.post_row WHERE m.id IN ({marks}) ORDER BY m.id",
            chunk,
        )
        for row in rows:
            for rule, reason in checker.check(
                brand=row["brand"],
                title=row["title"] or "",
                text=row["text"] or "",
                author=row["author"] or "",
            ):
                found.append(Flag(row["id"], rule.name, rule.severity, reason))
    if not found:
        return []
    at = to_iso(now)
    written: list[Flag] = []
    with transaction(db):
        for flag in found:
            cur = db.execute(
                "INSERT OR IGNORE INTO mention_flags (mention_id, rule, severity, reason, "
                "flagged_at) VALUES (?, ?, ?, ?, ?)",
                [flag.mention_id, flag.rule, flag.severity, flag.reason, at],
            )
            if cur.rowcount:  # already flagged (a catch-up): no second history line
                db.execute(
                    "INSERT INTO mention_events (mention_id, at, who, action, value)"
                    " VALUES (?, ?, ?, 'flag', ?)",
                    [flag.mention_id, at, FLAGGED_BY, f"{flag.rule} ({flag.severity})"],
                )
                written.append(flag)
    return written


def catch_up(db: sqlite_utils.Database, checker: PolicyChecker, *, now: datetime) -> list[Flag]:
    """Check the mentions stored by a scan that did not finish (see the module docstring)."""
    if not checker.rules:
        return []
    last = db.execute("SELECT MAX(finished) FROM runs").fetchone()[0]
    if last is None:
        ids = [r[0] for r in db.execute("SELECT id FROM mentions ORDER BY id")]
    else:
        ids = [
            r[0]
            for r in db.execute("SELECT id FROM mentions WHERE created > ? ORDER BY id", [last])
        ]
    return flag_mentions(db, checker, ids, now=now)


# ------------------------------------------------------------------------------ reading


def flags_for(
    db: sqlite_utils.Database, mention_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Each mention's flags (rule, severity, reason, flagged_at), most severe first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for i in range(0, len(mention_ids), _CHUNK):
        chunk = list(mention_ids[i : i + _CHUNK])
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            "SELECT mention_id, rule, severity, reason, flagged_at FROM mention_flags "  # noqa: S608
            f"WHERE mention_id IN ({marks})",
            chunk,
        ):
            mid = row.pop("mention_id")
            out.setdefault(mid, []).append(row)
    for flags in out.values():
        flags.sort(key=lambda f: (-SEVERITY_RANK.get(f["severity"], 0), f["rule"]))
    return out


def flagged_between(
    db: sqlite_utils.Database, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Flags of mentions published (else fetched) in [start, end), labelled-irrelevant
    mentions left out: mention_id, brand, rule, severity, reason."""
    # From the flags (CROSS JOIN fixes the order): they are few next to the mentions, and
    # SQLite's own choice walks every post of the period even when nothing was flagged.
    return list(
        db.query(
            "SELECT f.mention_id, m.brand, f.rule, f.severity, f.reason FROM mention_flags f "
            "CROSS JOIN mentions m ON m.id = f.mention_id"
            " CROSS JOIN posts p ON p.rowid = m.post_row "
            "WHERE COALESCE(p.published, p.fetched) >= ? AND COALESCE(p.published, p.fetched) < ?"
            " AND m.status != 'irrelevant' ORDER BY f.rule, f.mention_id",
            [to_iso(start), to_iso(end)],
        )
    )
