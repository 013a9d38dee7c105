"""The read commands aggregate in SQLite: their results equal the same numbers worked
out row by row in Python over every stored mention (random store: several brands and
spellings, labels, statuses, authors, sources, two periods)."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from mentionwatch import rescore
from mentionwatch.analysis.sentiment import label_for
from mentionwatch.configure import parse_config
from mentionwatch.models import Match, RawItem, Sentiment, SourceReport
from mentionwatch.report.digest import build_digest, make_period
from mentionwatch.store import db as store
from mentionwatch.store import migrations
from mentionwatch.webcare import labels
from mentionwatch.webcare.inbox import priority

from .storing import save_run

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG = """\
brands:
  - {name: Acme, keywords: [Acme, "Acme Corp"]}
  - {name: Globex, keywords: [Globex]}
sources: [https://feed.example/a.xml]
inbox: {respond_within: {negative: 3h}}
"""


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = store.open_db(tmp_path / "m.db")
    rng = random.Random(12)
    mentions = []
    for i in range(600):
        at = NOW - timedelta(hours=rng.uniform(0, 24 * 16))
        brand = rng.choice(("Acme", "ACME", "Globex", "Other"))
        terms = rng.choice((["Acme"], ["Acme Corp"], ["Acme", "Acme Corp"], ["Globex"]))
        item = RawItem(
            str(i),
            f"https://n{i % 7}.example/{i}",
            f"post {i}",
            "text",
            author=rng.choice(("ann", "bob", "", "cy", "dee")),
            published=None if i % 50 == 0 else at,
            counters=(("points", rng.randint(0, 500)),) if i % 2 else (),
        )
        score = round(rng.uniform(-1, 1), 3)
        label = label_for(score)
        mentions.append(
            store.NewMention(
                store.post_key(f"src{i % 5}", item),
                item,
                Match(brand, tuple(terms), ()),
                Sentiment(score, label, "t") if i % 9 else Sentiment(0.0, "neutral", "t"),
            )
        )
    for n in range(5):  # five sources, so posts carry different source names
        save_run(database, f"src{n}", mentions[n::5], NOW - timedelta(days=1))
    ids = [r[0] for r in database.execute("SELECT id FROM mentions ORDER BY id")]
    with store.transaction(database):
        for k, mid in enumerate(ids[::4]):
            labels.set_label(database, mid, "irrelevant" if k % 3 else "relevant", who="t", at=NOW)
    database.execute("UPDATE mentions SET status = 'responded' WHERE rowid % 6 = 0")
    yield database
    database.close()


def _rows(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT m.id, m.brand, m.matched, m.status, m.sentiment, m.sentiment_label,"
            " p.source, p.author, p.reach, COALESCE(p.published, p.fetched) AS at, l.label"
            " FROM mentions m JOIN posts p ON p.id = m.post_id"
            " LEFT JOIN labels l ON l.mention_id = m.id"
        )
    )


def test_precision_equals_row_by_row(db: sqlite_utils.Database) -> None:
    expected: dict[str, Counter[tuple[str, str | None]]] = {}
    for r in _rows(db):
        per = expected.setdefault(r["brand"], Counter())
        per[("", r["label"])] += 1
        for term in dict.fromkeys(json.loads(r["matched"])):
            per[(term, r["label"])] += 1
    report = labels.precision_report(db)
    assert sorted(b.brand for b in report) == sorted(expected)
    for b in report:
        want = expected[b.brand]
        got = Counter({("", "relevant"): b.counts.relevant, ("", None): b.counts.unlabelled})
        got[("", "irrelevant")] = b.counts.irrelevant
        for k in b.keywords:
            got[(k.keyword, "relevant")] = k.counts.relevant
            got[(k.keyword, "irrelevant")] = k.counts.irrelevant
            got[(k.keyword, None)] = k.counts.unlabelled
        assert +got == +want
    acme = next(b for b in report if b.brand == "Acme")
    assert acme.counts.labelled > 0
    assert acme.noisiest
    # From the kept counts, or counted over the rows (`--since`): the same report.
    assert labels.precision_report(db, since=NOW - timedelta(days=400)) == report
    for name in ("acme", "Globex"):
        one = labels.precision_report(db, brand=name)
        assert one == [b for b in report if b.brand.casefold() == name.casefold()] != []
        assert labels.precision_report(db, brand=name, since=NOW - timedelta(days=400)) == one


def test_digest_equals_row_by_row(db: sqlite_utils.Database) -> None:
    cfg = parse_config(CONFIG)
    period = make_period("7d", end=NOW)
    start, end = period.start.isoformat()[:19], period.end.isoformat()[:19]
    rows = [
        {**r, "brand": {"acme": "Acme", "globex": "Globex"}.get(r["brand"].casefold())}
        for r in _rows(db)
        if r["status"] != "irrelevant"
    ]
    current = [r for r in rows if r["brand"] and start <= r["at"][:19] < end]
    previous = [r for r in rows if r["brand"] and r["at"][:19] < start]
    digest = build_digest(db, cfg, period, limit=10)
    assert digest.total == len(current) > 0
    for summary in digest.brands:
        mine = [r for r in current if r["brand"] == summary.name]
        assert summary.count == len(mine)
        assert summary.change.previous == sum(
            1
            for r in previous
            if r["brand"] == summary.name
            and r["at"][:19] >= (period.start - period.length).isoformat()[:19]
        )
        split = Counter(r["sentiment_label"] for r in mine)
        assert (summary.sentiment.positive, summary.sentiment.negative) == (
            split["positive"],
            split["negative"],
        )
        scores = [r["sentiment"] for r in mine]
        assert summary.sentiment.average == round(sum(scores) / len(scores), 3)
        assert sum(b.count for b in summary.volume) == len(mine)
        sources = Counter(r["source"] for r in mine)
        assert [(t.name, t.count) for t in summary.top_sources] == sorted(
            sources.items(), key=lambda kv: (-kv[1], kv[0])
        )[:5]
        authors = Counter(r["author"] for r in mine if r["author"].strip())
        assert [(t.name, t.count) for t in summary.top_authors] == sorted(
            authors.items(), key=lambda kv: (-kv[1], kv[0])
        )[:5]

    def at(r: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(r["at"].replace("Z", "+00:00"))

    ranked = sorted(
        current,
        key=lambda r: (
            -priority(r["sentiment"], r["reach"], at(r), NOW),
            -at(r).timestamp(),
            r["id"],
        ),
    )
    assert [m.id for m in digest.mentions.items] == [r["id"] for r in ranked[:10]]
    assert digest.mentions.total == len(current)
    waiting = [r for r in ranked if r["status"] in ("new", "open")]
    late = [
        r
        for r in waiting
        if NOW - at(r) > timedelta(hours=3) and r["sentiment_label"] == "negative"
    ]
    negative = [r for r in waiting if r["sentiment_label"] == "negative" and r not in late]
    assert [m.id for m in digest.needs_answer] == [r["id"] for r in (late + negative)[:5]]
    assert digest.needs_answer[0].overdue_by is not None


def _recount(db: sqlite_utils.Database) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """The roll-ups as migration 006 would build them now, from the mentions."""
    at = "COALESCE(p.published, p.fetched)"
    rows = "FROM mentions m JOIN posts p ON p.id = m.post_id WHERE m.status != 'irrelevant'"
    hours = {
        (h, b, lab): (n, round(s, 6), k, reach, low)
        for h, b, lab, n, s, k, reach, low in db.execute(
            f"SELECT substr({at}, 1, 13), m.brand, COALESCE(m.sentiment_label, 'neutral'),"
            f" count(*), total(m.sentiment), count(m.sentiment), max(COALESCE(p.reach, 0)),"
            f" min(COALESCE(m.sentiment, 0)) {rows} GROUP BY 1, 2, 3"
        )
    }
    days = {
        (kind, d, b, name): n
        for kind, d, b, name, n in db.execute(
            f"SELECT 'source', substr({at}, 1, 10), m.brand, p.source, count(*) {rows}"
            f" GROUP BY 2, 3, 4 UNION ALL"
            f" SELECT 'author', substr({at}, 1, 10), m.brand, p.author, count(*) {rows}"
            f" AND trim(p.author) != '' GROUP BY 2, 3, 4"
        )
    }
    # And by the hour (migration 011).
    days.update(
        {
            (kind + " hour", h, b, name): n
            for kind, h, b, name, n in db.execute(
                f"SELECT 'source', substr({at}, 1, 13), m.brand, p.source, count(*) {rows}"
                f" GROUP BY 2, 3, 4 UNION ALL"
                f" SELECT 'author', substr({at}, 1, 13), m.brand, p.author, count(*) {rows}"
                f" AND trim(p.author) != '' GROUP BY 2, 3, 4"
            )
        }
    )
    return hours, days


def _assert_rollups_right(db: sqlite_utils.Database) -> None:
    hours, days = _recount(db)
    stored = {
        (h, b, lab): (n, round(s, 6), k, reach, low)
        for h, b, lab, n, s, k, reach, low in db.execute("SELECT * FROM mention_hours")
    }
    assert stored.keys() == hours.keys()
    for key, (n, s, k, reach, low) in hours.items():
        got = stored[key]
        assert got[:3] == (n, s, k), key
        # Bounds: never below the largest reach, never above the lowest score.
        assert got[3] >= reach
        assert got[4] <= low
    assert {
        (kind, d, b, name): n for kind, d, b, name, n in db.execute("SELECT * FROM mention_days")
    } | {
        (kind + " hour", h, b, name): n
        for kind, h, b, name, n in db.execute("SELECT * FROM mention_hour_names")
    } == days
    terms = db.execute(
        "SELECT m.brand, m.matched, COALESCE(l.label, ''), count(*)"
        " FROM mentions m LEFT JOIN labels l ON l.mention_id = m.id GROUP BY 1, 2, 3"
    ).fetchall()
    kept = db.execute("SELECT brand, matched, label, n FROM term_labels WHERE n != 0").fetchall()
    assert sorted(kept) == sorted(terms)


def test_rollups_equal_a_recount_after_every_kind_of_change(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    _assert_rollups_right(db)  # after scans, labels (irrelevant) and status changes
    ids = [r[0] for r in db.execute("SELECT id FROM mentions ORDER BY id")]
    with store.transaction(db):
        for mid in ids[::4][:30]:  # relabelled: irrelevant ones come back, and the reverse
            labels.set_label(db, mid, "relevant", who="t", at=NOW)
        for mid in ids[1::7][:30]:
            labels.set_label(db, mid, "irrelevant", who="t", at=NOW)
    _assert_rollups_right(db)
    report = rescore.rescore(db, "vader")  # every score and label may change
    assert report.changed > 0
    _assert_rollups_right(db)
    with store.transaction(db):
        gone = ids[2::9]
        marks = ",".join("?" * len(gone))
        for table, column in (
            ("labels", "mention_id"),
            ("mention_events", "mention_id"),
            ("mentions", "id"),
        ):
            db.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", gone)
    _assert_rollups_right(db)
    # A store from before the roll-ups gets them filled by the migration.
    assert db.execute("SELECT count(*) FROM mention_hours").fetchone()[0] > 0


def test_migration_backfills_the_rollups(db: sqlite_utils.Database) -> None:
    db.execute("DELETE FROM mention_hours")
    db.execute("DELETE FROM mention_days")
    db.execute("DELETE FROM term_labels")
    db.execute("DELETE FROM mention_hour_names")
    migrations.backfill_rollups(db)
    migrations.backfill_term_labels(db)
    migrations.backfill_hour_names(db)
    _assert_rollups_right(db)


# An end inside an hour (and a second): every bucket, period and trend boundary then
# cuts an hour, whose rows the digest reads one by one next to the roll-up's whole hours.
@pytest.mark.parametrize(
    "end",
    [NOW, NOW + timedelta(minutes=17, seconds=23, microseconds=400_000)],
)
@pytest.mark.parametrize("since", ["24h", "3d", "10d", "90d"])
def test_digest_buckets_and_trends_equal_row_by_row(
    db: sqlite_utils.Database, since: str, end: datetime
) -> None:
    cfg = parse_config(CONFIG)
    period = make_period(since, end=end)
    canonical = {"acme": "Acme", "globex": "Globex"}
    rows = [
        {**r, "brand": canonical.get(r["brand"].casefold())}
        for r in _rows(db)
        if r["status"] != "irrelevant" and r["brand"].casefold() in canonical
    ]

    def ts(r: dict[str, Any]) -> float:
        return datetime.fromisoformat(r["at"].replace("Z", "+00:00")).timestamp()

    lo, hi = int(period.start.timestamp()), int(period.end.timestamp())
    digest = build_digest(db, cfg, period, limit=10)
    size = period.bucket_size.total_seconds()
    for summary in digest.brands:
        mine = [r for r in rows if r["brand"] == summary.name and lo <= ts(r) < hi]
        assert summary.count == len(mine)
        # Buckets are whole hours / days from bucket_origin, the first one cut by the start.
        origin = period.bucket_origin
        assert summary.volume[0].start == origin
        want = Counter(int((ts(r) - origin.timestamp()) // size) for r in mine)
        assert max(want, default=0) < len(summary.volume)
        assert [b.count for b in summary.volume] == [want[i] for i in range(len(summary.volume))]
        prev = int(period.previous_start.timestamp())
        assert summary.change.previous == sum(
            1 for r in rows if r["brand"] == summary.name and prev <= ts(r) < lo
        )
        sources = Counter(r["source"] for r in mine)
        assert [(t.name, t.count) for t in summary.top_sources] == sorted(
            sources.items(), key=lambda kv: (-kv[1], kv[0])
        )[:5]
        authors = Counter(r["author"] for r in mine if r["author"].strip())
        assert [(t.name, t.count) for t in summary.top_authors] == sorted(
            authors.items(), key=lambda kv: (-kv[1], kv[0])
        )[:5]
    seconds = int(period.length.total_seconds())
    origin = int((period.end - period.length * len(digest.trends[0].points)).timestamp())
    for trend in digest.trends:
        for k, point in enumerate(trend.points):
            mine = [
                r
                for r in rows
                if r["brand"] == trend.name
                and origin + k * seconds <= ts(r) < min(origin + (k + 1) * seconds, hi)
            ]
            assert point.count == len(mine)
            negative = sum(r["sentiment_label"] == "negative" for r in mine)
            assert point.negative_share == (round(negative / len(mine), 4) if mine else None)


def test_the_sql_ranking_lists_what_the_newest_first_walk_lists(
    db: sqlite_utils.Database,
) -> None:
    cfg = parse_config(CONFIG)
    end = NOW + timedelta(minutes=5)
    for since in ("24h", "7d", "16d"):
        period = make_period(since, end=end)
        walked = build_digest(db, cfg, period, limit=7)
        by_sql = build_digest(db, cfg, period, limit=7, walk_budget=1)
        assert [m.id for m in walked.mentions.items] == [m.id for m in by_sql.mentions.items]
        assert [m.id for m in walked.needs_answer] == [m.id for m in by_sql.needs_answer]
        assert walked.needs_answer


def test_the_walk_reads_mentions_of_unknown_priority_first(db: sqlite_utils.Database) -> None:
    """Keys left out or marked unknown (a score changed behind the writer's back) cost
    the digest's walk time, never a different list."""
    db.execute("UPDATE mentions SET sentiment = -sentiment WHERE rowid % 7 = 0")
    db.execute("UPDATE mentions SET priority_key = NULL WHERE rowid % 11 = 0")
    assert db.execute("SELECT count(*) FROM mentions WHERE priority_key IS NULL").fetchone()[0]
    cfg = parse_config(CONFIG)
    end = NOW + timedelta(minutes=5)
    for since in ("24h", "7d"):
        period = make_period(since, end=end)
        by_sql = build_digest(db, cfg, period, limit=7, walk_budget=1)
        # And the very mentions that rank first: only reading them first finds them.
        ranked = [m.id for m in by_sql.mentions.items[::2] + by_sql.needs_answer[::2]]
        db.execute(
            f"UPDATE mentions SET priority_key = NULL WHERE id IN ({','.join('?' * len(ranked))})",
            ranked,
        )
        walked = build_digest(db, cfg, period, limit=7)
        assert [m.id for m in walked.mentions.items] == [m.id for m in by_sql.mentions.items]
        assert [m.id for m in walked.needs_answer] == [m.id for m in by_sql.needs_answer]


def test_counting_new_mentions_starts_from_them(db: sqlite_utils.Database) -> None:
    # The writer's roll-up statements must read the new ids and look each mention up,
    # never walk the stored mentions: SQLite preferred an index on mentions to the temp
    # table it had no statistics for, and a scan into a 1M store took 17x as long.
    db.execute("ANALYZE")  # statistics make a scan of mentions look even cheaper
    db.execute("CREATE TEMP TABLE IF NOT EXISTS new_mentions (id TEXT PRIMARY KEY)")
    for sql in migrations.NEW_MENTION_COUNTS:
        select = sql[sql.index("SELECT") : sql.index("ON CONFLICT")]
        plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {select}")]
        assert plan[0].startswith("SCAN n"), plan
        assert not any(step.startswith(("SCAN m", "SCAN p")) for step in plan), plan


def test_rollups_count_a_new_mention_of_a_post_stored_before(db: sqlite_utils.Database) -> None:
    # A later run finds another brand in a post already stored, and its own copy of the
    # post says otherwise (another source, author, time, reach): the post keeps what it
    # was stored with, so the roll-ups must count the new mention under those values —
    # the writer's in-memory counts cannot, the store can. Also a post new in this run
    # (counted in memory) next to it, in one group commit.
    old = db.execute(
        "SELECT p.id, p.url FROM posts p JOIN mentions m ON m.post_id = p.id"
        " WHERE m.brand = 'Globex' AND p.author != '' LIMIT 1"
    ).fetchone()
    item = RawItem(
        "x1",
        old[1],
        "Acme too",
        "Acme and Globex",
        author="zed",
        published=NOW - timedelta(days=40),
        counters=(("points", 9999),),
    )
    fresh = RawItem(
        "x2",
        "https://fresh.example/1",
        "Acme new",
        "Acme",
        author="  ",
        published=NOW - timedelta(hours=3),
    )
    runs = [
        store.SourceRun(
            "late",
            "rss",
            [
                store.NewMention(
                    store.post_key("late", it),
                    it,
                    Match(brand, ("Acme",), ()),
                    Sentiment(0.5, "positive", "t"),
                )
                for it, brand in ((item, "Acme"), (fresh, "Acme"))
            ],
            None,
            SourceReport("late", "rss", "ok"),
        )
    ]
    assert store.post_key("late", item) == old[0]  # the same post, by its URL
    (new,) = store.save_source_runs(db, runs, fetched=NOW)
    assert len(new) == 2
    _assert_rollups_right(db)
