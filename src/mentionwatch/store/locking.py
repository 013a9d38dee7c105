"""One writer at a time: a lock file beside the database, so overlapping cron runs
neither corrupt anything nor send a digest twice."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import MentionwatchError, StoreError


class LockedError(MentionwatchError):
    """Another mentionwatch process holds the lock."""


@contextmanager
def hold(db_path: Path, what: str, *, wait: float = 0.0) -> Iterator[None]:
    """Hold ``<db>.lock`` for ``what`` (scan, digest...), waiting up to ``wait`` seconds.

    flock is released by the kernel when the process dies, so a killed run never
    leaves a stale lock behind.
    """
    if str(db_path) == ":memory:":
        yield
        return
    lock_path = db_path.with_name(db_path.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        where = exc.filename or lock_path
        hint = " (is the folder read-only?)" if isinstance(exc, PermissionError) else ""
        raise StoreError(f"{where}: cannot create the lock file: {reason}{hint}") from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                    raise LockedError(
                        f"another mentionwatch run is using {db_path} ({holder or 'unknown'}); "
                        f"not starting this {what}"
                        + (f" after waiting {wait:g}s" if wait else " (use --wait SECONDS)")
                    ) from None
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what}, pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
