"""WriteQueue: the run store's writes, committed in batches, one transaction per batch.

The one place where run-store writes are batched. Writes are queued in call order and a
single background task commits what has gathered: while one batch is in the database,
the next one fills, so a busy store makes few, large transactions and an idle one writes
each record at once; consecutive batches share one connection. What a batch sends (its
writes folded into a few `executemany` statements) is `runnable.tracking.batches`.

A batch that breaks a constraint (a duplicate id, a task of a missing run) is rolled
back and its writes retried one by one, so only the bad write fails. A caller's future
is resolved once its batch is committed: awaiting a write still means it is on disk.

Backpressure: at most `max_pending` writes wait; `await queue.room()` returns once there
is room again (the store's awaited methods call it before queuing).

Write-behind: a write queued inside `with queue.behind():` is one nobody waits for (the
runner's recorder makes them). While only such writes are queued, the worker waits up
to `linger` seconds for more before it commits, so a steady trickle of them (a dataset's
rows) shares one transaction per `linger` instead of one per trickle. Any other write, `hurry()`,
`flush()` or a full batch ends the wait at once; a process killed meanwhile loses at
most the last `linger` seconds of write-behind records. The block's `on_failure` is told
of each of its writes that fails (no callback per write). A write-behind update of a
record whose insert is still queued, with nothing else queued for that record in
between, is folded into that insert at once (a node that starts and ends within a batch
is one queued write) and shares its future.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from runnable.tracking.batches import RacedWriteError, Write, WriteKind, apply_batch
from runnable.tracking.errors import TrackingBackendError
from runnable.tracking.models import TERMINAL_STATUSES

Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

MAX_BATCH = 500
"""Writes per transaction at most (keeps each `IN (...)` and statement small)."""
MAX_PENDING = 10_000
"""Writes that may wait at most before `room()` makes callers wait."""
LINGER = 0.1
"""Seconds write-behind writes wait for company before they are committed, at most."""


class WriteQueue:
    """Queues writes and commits them in batches on one background task (see the module)."""

    def __init__(
        self,
        connect: Connect,
        *,
        max_batch: int = MAX_BATCH,
        max_pending: int = MAX_PENDING,
        linger: float = LINGER,
    ) -> None:
        self._connect = connect
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.linger = linger
        self._urgent = 0  # queued writes that are not write-behind
        self._behind = 0  # depth of `behind()` blocks
        self._behind_block = _Behind(self)
        self._taken = 0  # writes taken into batches so far
        self._hurry_to = 0  # writes queued before the last `hurry()`: committed at once
        self._nudge: asyncio.Future[None] | None = None  # the lingering worker's wait
        self._queue: collections.deque[Write] = collections.deque()
        # Inserts still queued that a write-behind update may fold into, by record.
        self._open_inserts: dict[tuple[str, str], Write] = {}
        self._on_failure: Callable[[BaseException], None] | None = None  # the behind block's
        self._worker: asyncio.Task[None] | None = None
        self._room = asyncio.Event()
        self._room.set()
        self._settled = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.batches = 0
        """How many transactions were committed (for benchmarks)."""
        self.submitted = 0
        """How many writes were queued (for benchmarks)."""
        self.folded = 0
        """How many write-behind updates were folded into a queued insert (for benchmarks)."""

    @property
    def pending(self) -> int:
        """Writes queued and not yet committed."""
        return len(self._queue)

    def submit(
        self,
        kind: WriteKind,
        table: Table,
        record_id: str,
        values: dict[str, Any],
        totals: tuple[dict[str, Any], float | None] | None = None,
        row: dict[str, Any] | None = None,
    ) -> asyncio.Future[bool]:
        """Queue a write; its future resolves once it is committed (never waits itself).

        Inside `behind()`, nobody waits for it: it may wait up to `linger` s for company,
        or be folded into its record's queued insert (see the module).
        """
        behind = self._behind > 0
        key = (table.name, record_id)
        open_insert = self._open_inserts.get(key)
        if open_insert is not None:
            if (
                behind
                and kind == "update"
                and open_insert.values["status"] not in TERMINAL_STATUSES
            ):
                open_insert.values.update(values)  # what `apply_batch` would fold it into
                self.folded += 1
                return open_insert
            del self._open_inserts[key]  # later updates must not pass this write
        loop = asyncio.get_running_loop()
        write = Write(kind, table, record_id, values, totals, row, behind, loop=loop)
        if behind:
            write.on_failure = self._on_failure
            if kind == "insert" and open_insert is None:
                self._open_inserts[key] = write
        self._queue.append(write)
        self.submitted += 1
        if len(self._queue) >= self.max_pending:
            self._room.clear()
        self._ensure_worker(loop)
        if not behind:
            self._urgent += 1
            self._poke()
        elif len(self._queue) >= self.max_batch:
            self._poke()
        return write

    def _ensure_worker(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the worker unless it runs (on this loop): the first write starts it, and
        a flush starts it again if it was cancelled with writes still queued."""
        worker = self._worker
        if worker is None or worker.done() or worker.get_loop() is not loop:
            self._nudge = None
            self._worker = loop.create_task(self._run())

    def behind(self, on_failure: Callable[[BaseException], None] | None = None) -> _Behind:
        """A block whose writes are write-behind (see the module); `on_failure` is told
        of each of them that fails."""
        block = self._behind_block
        block.on_failure = on_failure
        return block

    def hurry(self) -> None:
        """Commit what is queued now, without waiting for more write-behind writes."""
        if self._queue:
            self._hurry_to = self.submitted
            self._poke()

    def _poke(self) -> None:
        if self._nudge is not None and not self._nudge.done():
            self._nudge.set_result(None)

    def _due(self) -> bool:
        """Whether the worker should commit now rather than wait for more writes."""
        return bool(
            self._urgent
            or self._hurry_to > self._taken
            or self._waiters
            or len(self._queue) >= self.max_batch
            or self.linger <= 0
        )

    async def _linger(self) -> None:
        """Wait up to `linger` s for a reason to commit (see the module)."""
        if self._due():
            return
        loop = asyncio.get_running_loop()
        self._nudge = loop.create_future()
        timer = loop.call_later(self.linger, self.hurry)
        try:
            await self._nudge
        finally:
            timer.cancel()
            self._nudge = None

    async def room(self) -> None:
        """Return once fewer than `max_pending` writes wait."""
        while not self._room.is_set():
            await self._room.wait()

    async def flush(self) -> None:
        """Return once every write queued so far is committed (or has failed)."""
        if self._settled >= self.submitted:
            return
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._waiters.append((self.submitted, done))
        if self._queue:
            self._ensure_worker(loop)
        self._poke()
        await done

    async def close(self) -> None:
        """Commit what is queued, then wait for the worker to let go of its connection
        (a batch is settled before its connection is released)."""
        await self.flush()
        worker = self._worker
        if worker is not None and not worker.done() and worker is not asyncio.current_task():
            self.hurry()
            await asyncio.wait([worker])  # never cancels the worker

    async def _run(self) -> None:
        try:
            while self._queue:
                await self._linger()
                await self._session()
        finally:
            self._worker = None

    def _take(self) -> list[Write]:
        batch = [self._queue.popleft()]
        # A reopen starts a batch: it comes before every other write to its record.
        while self._queue and len(batch) < self.max_batch and self._queue[0].kind != "reopen":
            batch.append(self._queue.popleft())
        self._urgent -= sum(1 for write in batch if not write.behind)
        if self._open_inserts:
            for write in batch:
                if write.kind == "insert":
                    self._open_inserts.pop((write.table.name, write.id), None)
        self._taken += len(batch)
        return batch

    async def _session(self) -> None:
        """Commit batches on one connection while writes keep coming (one checkout, not
        one per batch); a batch that fails ends the session and is settled on its own."""
        batch: list[Write] | None = self._take()
        try:
            async with self._connect() as conn:
                while batch is not None:
                    outcomes = await apply_batch(conn, batch)
                    await conn.commit()
                    done, batch = batch, None
                    self._settled_batch(done, outcomes)
                    batch = self._take() if self._queue and self._due() else None
        except Exception as exc:
            if batch is not None:  # else releasing the connection failed, nothing is lost
                await self._failed(batch, exc)
        finally:
            if batch is not None:
                self._settled_batch(batch, None)

    def _settled_batch(
        self, batch: list[Write], outcomes: list[bool | BaseException] | None
    ) -> None:
        if outcomes is not None:
            for write, outcome in zip(batch, outcomes, strict=True):
                _settle(write, outcome)
        else:  # the worker was cancelled mid-batch: whoever waits must not wait forever
            for write in batch:
                write.cancel()  # a no-op for those `_failed` settled
        self._settled += len(batch)
        self.batches += 1
        self._wake()

    def _wake(self) -> None:
        if len(self._queue) < self.max_pending:
            self._room.set()
        still = []
        for target, waiter in self._waiters:
            if target > self._settled:
                still.append((target, waiter))
            elif not waiter.done():
                waiter.set_result(None)
        self._waiters = still

    async def _failed(self, batch: list[Write], exc: Exception) -> None:
        """Settle the writes of a batch that failed with `exc`."""
        if len(batch) > 1 and isinstance(exc.__cause__ or exc, IntegrityError | RacedWriteError):
            for write in batch:  # find the bad write: the others still go through
                await self._commit(write)
            return
        for write in batch:
            told = exc.about(write.id) if isinstance(exc, TrackingBackendError) else exc
            _settle(write, told)

    async def _commit(self, write: Write) -> None:
        """Commit one write in a transaction of its own."""
        try:
            async with self._connect() as conn:
                outcomes = await apply_batch(conn, [write])
                await conn.commit()
        except Exception as exc:
            await self._failed([write], exc)
            return
        _settle(write, outcomes[0])


class _Behind:
    """The `with` block of `WriteQueue.behind()` (one object per queue: it runs per event)."""

    __slots__ = ("_outer", "_queue", "on_failure")

    def __init__(self, queue: WriteQueue) -> None:
        self._queue = queue
        self._outer: list[Callable[[BaseException], None] | None] = []
        self.on_failure: Callable[[BaseException], None] | None = None

    def __enter__(self) -> None:
        queue = self._queue
        queue._behind += 1
        self._outer.append(queue._on_failure)
        queue._on_failure = self.on_failure

    def __exit__(self, *_: object) -> None:
        queue = self._queue
        queue._behind -= 1
        queue._on_failure = self._outer.pop()


def _settle(write: Write, outcome: bool | BaseException) -> None:
    if isinstance(outcome, BaseException) and write.on_failure is not None:
        write.on_failure(outcome)
        if not write.done():
            write.set_exception(outcome)
            write.exception()  # told already: not "never retrieved" when nobody awaits it
        return
    if write.done():  # its caller was cancelled; the write itself went on
        return
    if isinstance(outcome, BaseException):
        write.set_exception(outcome)
    else:
        write.set_result(outcome)
