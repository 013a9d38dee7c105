"""Scoring a scan's mentions in batches: each distinct job once, on every core.

Scoring is the costliest step of a scan where most posts are mentions, and the scan's
own process is busy fetching, parsing, matching and writing. So once a scan has shown
that it has enough to score, every batch goes to a process pool, and the scan's process
never loads an engine at all (the language identifier alone is ~90 MB).

Until then batches are *held*: a scan with a few dozen mentions is scored in-process
when it has finished fetching (starting workers costs about a second each), a scan
with many goes to the pool from its first batches. Held batches are bounded in number:
when they reach the bound, the rate so far and the sources still to come decide
between starting the pool and scoring them here, so a scan of thousands of quiet
sources still stores as it goes.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..models import Sentiment, Span
from .sentiment import analyze_mention

# Everything a mention's score depends on: title, text, the brand's spans (into title +
# "\n" + text), the source's language. Equal jobs (a post syndicated word for word) are
# scored once; which other brands are configured is deliberately not part of it.
Job = tuple[str, str, tuple[Span, ...], str | None]

# Jobs a scan must have asked for before it starts workers: fewer are scored in-process
# faster than workers start (a fresh interpreter each, loading the engine).
POOL_AFTER = 400
# Batches (one per source) held while undecided, before they are scored in-process: a
# scan of many sources with few mentions each stores as it goes, not all at the end.
HOLD_BATCHES = 16
MAX_WORKERS = 4
# Once pooled, batches are sent together: when this many jobs wait, or this long after
# the first of them. One send per source would cost a pipe write and a thread wake-up
# each, which in a scan of thousands of small sources is the scan's own time.
SEND_JOBS = 512
SEND_DELAY = 0.05  # seconds


def score_jobs(jobs: Sequence[Job], engine: str) -> list[Sentiment]:
    """Sentiment of each job through ``analyze_mention``: the same call as ``sentiment
    --target`` and ``rescore``, so all three agree.

    A module-level function of plain values in a module that imports little, so a
    worker process runs it cheaply: the engine loads in the worker and never crosses a
    process boundary."""
    return [
        analyze_mention(title, text, spans, engine=engine, lang=lang)
        for title, text, spans, lang in jobs
    ]


_Waiting = tuple[list[Job], "asyncio.Future[list[Sentiment]]"]


class Scorer:
    """Scores batches of jobs for one scan; close it to stop the workers.

    ``score`` awaits the batch's sentiments. While undecided (fewer than ``pool_after``
    jobs seen) batches wait, at most ``hold`` of them; once pooled they wait to be sent
    together (``SEND_JOBS``, ``SEND_DELAY``). The owner calls ``drain`` once nothing
    more is being fetched: what waits is scored (or sent) at once, and so is any later
    batch."""

    def __init__(
        self,
        engine: str,
        *,
        workers: int | None = None,
        pool_after: int = POOL_AFTER,
        hold: int = HOLD_BATCHES,
        batches_left: Callable[[], int] | None = None,
    ) -> None:
        self.engine = engine
        # One core stays with the scan's own process (fetching, parsing, matching and
        # writing is a core's work on a dense scan); one core alone scores in-process.
        if workers is None:
            workers = min((os.cpu_count() or 1) - 1, MAX_WORKERS)
        self.workers = max(0, workers)
        self.pool_after = pool_after
        self.hold = max(1, hold)
        # How many more batches the owner expects (sources still being fetched): with
        # it, reaching ``hold`` starts the pool when the rest will plainly need it,
        # instead of loading the engine here for a scan that is merely sparse.
        self.batches_left = batches_left or (lambda: 0)
        self.batches = 0
        self.seen = 0  # distinct jobs asked for so far: decides whether to pool
        self.in_process = 0  # jobs scored here rather than in a worker
        self.sends = 0  # batches of batches sent to the pool
        self._pool: ProcessPoolExecutor | None = None
        self._draining = False  # no more batches worth waiting for
        self._waiting: list[_Waiting] = []
        self._waiting_jobs = 0
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[list[Sentiment]]] = set()

    @property
    def pooled(self) -> bool:
        return self._pool is not None

    async def score(self, jobs: Sequence[Job]) -> dict[Job, Sentiment]:
        unique = list(dict.fromkeys(jobs))
        self.seen += len(unique)
        self.batches += 1
        if not unique:
            return {}
        if self.workers == 0:
            return dict(zip(unique, self._here(unique), strict=True))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Sentiment]] = loop.create_future()
        self._waiting.append((unique, future))
        self._waiting_jobs += len(unique)
        if self._pool is None and (
            self.seen >= self.pool_after
            or (len(self._waiting) >= self.hold and self._expected() >= self.pool_after)
        ):
            self._start_pool()
        if self._pool is not None:
            if self._draining or self._waiting_jobs >= SEND_JOBS:
                self._send()
            elif self._timer is None:
                self._timer = loop.call_later(SEND_DELAY, self._send)
        elif self._draining or len(self._waiting) >= self.hold:
            self._score_here()
        return dict(zip(unique, await future, strict=True))

    def drain(self) -> None:
        """No more batches are worth waiting for (the scan has fetched everything):
        score or send the waiting ones now, and any later one at once."""
        self._draining = True
        if self._pool is not None:
            self._send()
        else:
            self._score_here()

    def close(self) -> None:
        """Stop the workers; a batch still waiting is cancelled, not scored."""
        for _, future in self._take():
            future.cancel()
        for task in self._sending:
            task.cancel()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True, cancel_futures=True)

    def _expected(self) -> float:
        """Jobs this scan will have asked for, at the rate seen so far."""
        return self.seen + self.batches_left() * self.seen / self.batches

    def _take(self) -> list[_Waiting]:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self._waiting, self._waiting_jobs = self._waiting, [], 0
        return waiting

    def _here(self, jobs: list[Job]) -> list[Sentiment]:
        self.in_process += len(jobs)
        return score_jobs(jobs, self.engine)

    def _score_here(self) -> None:
        for jobs, future in self._take():
            if not future.done():  # cancelled with its scan
                future.set_result(self._here(jobs))

    def _start_pool(self) -> None:
        # spawn, not fork: forking a process whose event loop runs resolver threads
        # can copy a held lock into the child.
        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn")
        )

    def _send(self) -> None:
        waiting = [(jobs, f) for jobs, f in self._take() if not f.done()]
        if not waiting:
            return
        self.sends += 1
        jobs = [j for batch, _ in waiting for j in batch]
        task = asyncio.get_running_loop().create_task(self._pooled(jobs))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        task.add_done_callback(functools.partial(_settle, waiting))

    async def _pooled(self, jobs: list[Job]) -> list[Sentiment]:
        loop = asyncio.get_running_loop()
        pool = self._pool
        if pool is None:  # the pool broke while this batch waited
            return self._here(jobs)
        # One chunk per worker, so a single large source still uses every core.
        size = -(-len(jobs) // self.workers)
        chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
        try:
            parts = await asyncio.gather(
                *(loop.run_in_executor(pool, score_jobs, c, self.engine) for c in chunks)
            )
        except (BrokenProcessPool, OSError):
            # A worker died (killed, out of memory) or none could start: score here
            # from now on rather than lose the run.
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            self.workers = 0
            return self._here(jobs)
        return [s for part in parts for s in part]


def _settle(waiting: list[_Waiting], task: asyncio.Task[list[Sentiment]]) -> None:
    """Hand each waiting batch its share of a send's results, in order."""
    if task.cancelled():
        for _, future in waiting:
            future.cancel()
        return
    if (exc := task.exception()) is not None:
        for _, future in waiting:
            if not future.done():
                future.set_exception(exc)
        return
    results, at = task.result(), 0
    for jobs, future in waiting:
        if not future.done():
            future.set_result(results[at : at + len(jobs)])
        at += len(jobs)
