"""Writing mentions through the store's own writer, as a scan does, for tests that need
a filled store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlite_utils

from mentionwatch.models import Match, RawItem, Sentiment, SourceReport
from mentionwatch.store import db as store


def save_mentions(
    db: sqlite_utils.Database,
    source: str,
    found: Iterable[tuple[RawItem, str, Sentiment]],
    fetched: datetime,
) -> list[str]:
    """Store one run of the RSS source ``source``: each (item, brand, sentiment) a
    mention of the brand, matched by its name. Returns the new mention ids."""
    mentions = [
        store.NewMention(store.post_key(source, item), item, Match(brand, (brand,), ()), scored)
        for item, brand, scored in found
    ]
    return save_run(db, source, mentions, fetched)


def save_run(
    db: sqlite_utils.Database,
    source: str,
    mentions: Sequence[store.NewMention],
    fetched: datetime,
) -> list[str]:
    """Store one successful run of the RSS source ``source`` that found ``mentions``.
    Returns the new mention ids."""
    return store.save_source_run(
        db,
        source=source,
        source_type="rss",
        mentions=mentions,
        state=None,
        report=SourceReport(source, "rss", "ok"),
        fetched=fetched,
    )
