"""The store: SQLite through sqlite-utils.

One job: the database. ``db`` is the only place that opens and migrates it and holds
the reads and writes every command shares; ``migrations`` is the append-only schema
history; ``locking`` keeps to one writer at a time.

May import: ``models``, ``errors`` and the top-level utilities. Never config,
sources, analysis or anything above.
"""
