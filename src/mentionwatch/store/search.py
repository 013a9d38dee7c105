"""The newest mentions whose post matches a full-text query, without building every match.

SQLite's own plan lists every post the query matches, then sorts them by time: for a
word in half the posts, that is half the store to show 50. Here the posts are read
newest first (the posts_at index) and each chunk is checked against the full-text index
(a lookup per post: ~35 us on this kind of machine, against ~4 us a match for the whole
match set), until the first ``limit`` mentions are settled. A rare word would need many
posts checked for each one found, so once the matches seen so far say that the whole
match set is cheaper (first from the share of the latest posts that match, then from
what the walk found), the caller's SQL plan runs instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlite_utils

# What one post checked by the walk costs against one match built by the whole-set plan.
CHECK_COST = 9.0
FIRST_CHUNK = 64
PROBE = 2000  # latest posts whose matches estimate how many posts a query matches
LARGEST_CHUNK = 2048

# The mentions of these posts (p.rowid), newest first, at most ``limit``; each row has
# its time as ``at``.
Page = Callable[[Sequence[int]], list[dict[str, Any]]]


def newest_matches(
    db: sqlite_utils.Database,
    match: str,
    posts_where: str,
    posts_params: Sequence[Any],
    page: Page,
    limit: int,
) -> list[dict[str, Any]] | None:
    """The first ``limit`` rows of ``page`` over every post matching ``match`` among the
    posts ``posts_where`` (over ``p``) allows, or None when the whole match set is the
    cheaper way (the caller then runs its own plan). Raises sqlite3 errors of a bad query."""
    if limit <= 0:
        return []
    posts = db.execute("SELECT max(rowid) FROM posts").fetchone()[0] or 0
    # The share of the latest posts written that match: a rowid range is one cheap pass
    # over the index, where checking posts one by one costs a lookup each (phrases most).
    recent = db.execute(
        "SELECT count(*) FROM posts_fts WHERE posts_fts MATCH ? AND rowid > ?",
        [match, posts - PROBE],
    ).fetchone()[0]
    share = (recent + 1) / (min(PROBE, posts) + 2)
    if limit / share * CHECK_COST > share * posts:
        return None
    newest = (
        "SELECT p.rowid, COALESCE(p.published, p.fetched) FROM posts p"  # noqa: S608 -- ours
        f" WHERE {posts_where} ORDER BY COALESCE(p.published, p.fetched) DESC"
    )
    cursor = db.execute(newest, list(posts_params))
    matched: list[int] = []
    checked = hits = 0
    size = FIRST_CHUNK
    try:
        while True:
            chunk = cursor.fetchmany(size)
            if not chunk:
                return page(matched)  # every allowed post was checked
            rowids = [r[0] for r in chunk]
            found = db.execute(
                "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?"
                " AND rowid IN (SELECT value FROM json_each(?))",
                [match, json.dumps(rowids)],
            ).fetchall()
            matched += [r[0] for r in found]
            checked += len(chunk)
            hits += len(found)
            rows = page(matched)
            # Settled once the limit-th row is newer than every post not yet checked
            # (a post as old as the last one checked may still hold a mention ranked
            # before it by id).
            if len(rows) >= limit and rows[limit - 1]["at"] > chunk[-1][1]:
                return rows[:limit]
            # Posts still to check for the rest, against building the whole match set
            # (its size estimated from the share of posts matched so far).
            share = (hits + 1) / (checked + 2)
            shown = max(len(rows), 1) / checked  # rows found per post checked
            walk = (limit - len(rows)) / shown * CHECK_COST
            if walk > share * posts:
                return None
            size = min(2 * size, LARGEST_CHUNK)
    finally:
        cursor.close()
