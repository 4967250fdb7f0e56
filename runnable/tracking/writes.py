"""WriteQueue: the run store's writes, committed in batches, one transaction per batch.

The one place where run-store writes are batched. Writes are queued in call order and a
single background task commits what has gathered: while one batch is in the database,
the next one fills, so a busy store makes few, large transactions and an idle one writes
each record at once. Within a batch, writes to the same record are folded into one row
(a task added and finished in the same batch is one INSERT), every statement shape is
sent once as an `executemany`, and the result each caller would have had from writing
alone (True, False when the record had ended, not found) is worked out from the
statuses read at the start of the batch. The guard that keeps a terminal status final
stays in every UPDATE's WHERE clause, so it holds against other processes too.

A batch that breaks a constraint (a duplicate id, a task of a missing run) is rolled
back and its writes retried one by one, so only the bad write fails. A caller's future
is resolved once its batch is committed: awaiting a write still means it is on disk.

Backpressure: at most `max_pending` writes wait; `await queue.room()` returns once there
is room again (the store's awaited methods call it before queuing).

Write-behind: a write queued with `behind=True` is one nobody waits for (the runner's
recorder makes them). While only such writes are queued, the worker waits up to `linger`
seconds for more before it commits, so a steady trickle of them (a dataset's rows) shares
one transaction per `linger` instead of one per trickle. Any other write, `hurry()`,
`flush()` or a full batch ends the wait at once; a process killed meanwhile loses at
most the last `linger` seconds of write-behind records.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal

import attrs
from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from runnable.redaction import to_record_json
from runnable.tracking.errors import RunNotFoundError, TaskNotFoundError, TrackingBackendError
from runnable.tracking.statements import APPEND_PARTIAL, TERMINAL, is_open
from runnable.tracking.tables import ai_runs, ai_tasks

WriteKind = Literal["insert", "update", "append", "finish", "reopen"]
Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

MAX_BATCH = 500
"""Writes per transaction at most (keeps each `IN (...)` and statement small)."""
MAX_PENDING = 10_000
"""Writes that may wait at most before `room()` makes callers wait."""
LINGER = 0.1
"""Seconds write-behind writes wait for company before they are committed, at most."""


@attrs.define(slots=True, eq=False)
class Write:
    """One queued write: `values` is a full row (insert), column values (update, finish,
    reopen), or {"text", "ttft", "now"} (append); `totals` is a finish's (stats,
    latency_ms); `row` the row a reopen inserts when there is nothing to reopen."""

    kind: WriteKind
    table: Table
    id: str
    values: dict[str, Any]
    future: asyncio.Future[bool]
    totals: tuple[dict[str, Any], float | None] | None = None
    row: dict[str, Any] | None = None
    behind: bool = False


@attrs.define(slots=True, eq=False)
class _Record:
    """What a batch knows of one record while it folds the batch's writes into it."""

    status: str
    row: dict[str, Any] | None = None  # inserted in this batch: later writes fold in here
    reopen: dict[str, Any] | None = None  # written whatever the status, before the changes
    changes: dict[str, Any] | None = None
    text: list[str] = attrs.field(factory=list)
    ttft: float | None = None
    appended_at: Any = None
    totals: tuple[dict[str, Any], float | None] | None = None


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
        self._worker: asyncio.Task[None] | None = None
        self._room = asyncio.Event()
        self._room.set()
        self._settled = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.batches = 0
        """How many transactions were committed (for benchmarks)."""
        self.submitted = 0
        """How many writes were queued (for benchmarks)."""

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

        Inside `behind()`, nobody waits for it: it may wait up to `linger` s for company.
        """
        behind = self._behind > 0
        loop = asyncio.get_running_loop()
        write = Write(kind, table, record_id, values, loop.create_future(), totals, row, behind)
        self._queue.append(write)
        self.submitted += 1
        if len(self._queue) >= self.max_pending:
            self._room.clear()
        if self._worker is None or self._worker.done() or self._worker.get_loop() is not loop:
            self._nudge = None
            self._worker = loop.create_task(self._run())
        if not behind:
            self._urgent += 1
            self._poke()
        elif len(self._queue) >= self.max_batch:
            self._poke()
        return write.future

    def behind(self) -> _Behind:
        """A block whose writes are write-behind (see the module)."""
        return self._behind_block

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
        done = asyncio.get_running_loop().create_future()
        self._waiters.append((self.submitted, done))
        self._poke()
        await done

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
        self._taken += len(batch)
        return batch

    async def _session(self) -> None:
        """Commit batches on one connection while writes keep coming (one checkout, not
        one per batch); a batch that fails ends the session and is settled on its own."""
        batch: list[Write] | None = self._take()
        try:
            async with self._connect() as conn:
                while batch is not None:
                    outcomes = await _apply(conn, batch)
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
                _settle(write.future, outcome)
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
        if len(batch) > 1 and isinstance(exc.__cause__ or exc, IntegrityError | _Raced):
            for write in batch:  # find the bad write: the others still go through
                await self._commit(write)
            return
        for write in batch:
            told = exc.about(write.id) if isinstance(exc, TrackingBackendError) else exc
            _settle(write.future, told)

    async def _commit(self, write: Write) -> None:
        """Commit one write in a transaction of its own."""
        try:
            async with self._connect() as conn:
                outcomes = await _apply(conn, [write])
                await conn.commit()
        except Exception as exc:
            await self._failed([write], exc)
            return
        _settle(write.future, outcomes[0])


class _Behind:
    """The `with` block of `WriteQueue.behind()` (one object per queue: it runs per event)."""

    __slots__ = ("_queue",)

    def __init__(self, queue: WriteQueue) -> None:
        self._queue = queue

    def __enter__(self) -> None:
        self._queue._behind += 1

    def __exit__(self, *_: object) -> None:
        self._queue._behind -= 1


def _settle(future: asyncio.Future[bool], outcome: bool | BaseException) -> None:
    if future.done():  # its caller was cancelled; the write itself went on
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class _Raced(Exception):
    """Another process ended a record between this batch's read and its write."""


async def _apply(conn: AsyncConnection, batch: list[Write]) -> list[bool | BaseException]:
    """Fold `batch` into as few statements as possible and run them; each write's outcome.

    The outcomes rest on the statuses read first. PostgreSQL locks those rows until the
    commit (FOR UPDATE); on SQLite the counts of changed rows are checked instead, and a
    difference (another process wrote in between) raises `_Raced`, or for a batch of one
    write makes its outcome False (its guarded UPDATE changed nothing).
    """
    records = await _statuses(conn, batch)
    inserted: dict[str, list[dict[str, Any]]] = {"ai_runs": [], "ai_tasks": []}
    outcomes = [_fold(write, records, inserted) for write in batch]
    for table in (ai_runs, ai_tasks):
        if inserted[table.name]:
            await conn.execute(insert(table), inserted[table.name])
    changed = expected = 0
    for key, record in records.items():
        if record.reopen is not None:  # at most one: a reopen starts its batch
            stmt = update(_TABLES[key[0]]).where(_TABLES[key[0]].c.id == key[1])
            changed += (await conn.execute(stmt.values(record.reopen))).rowcount
            expected += 1
    appends = [
        {"p_id": key[1], "p_text": "".join(r.text), "p_ttft": r.ttft, "p_now": r.appended_at}
        for key, r in records.items()
        if r.text
    ]
    expected += len(appends)
    if appends:
        changed += (await conn.execute(APPEND_PARTIAL, appends)).rowcount
    changes, count = await _update(conn, ai_tasks, records)
    changed, expected = changed + changes, expected + count
    finishing = {key[1]: r for key, r in records.items() if r.totals is not None}
    if finishing:
        await _add_totals(conn, finishing)
    changes, count = await _update(conn, ai_runs, records)
    changed, expected = changed + changes, expected + count
    if conn.dialect.supports_sane_multi_rowcount and changed != expected:
        if len(batch) > 1:
            raise _Raced()
        return [False]
    return outcomes


async def _statuses(conn: AsyncConnection, batch: list[Write]) -> dict[tuple[str, str], _Record]:
    """The status of every record a write changes that this batch does not insert first."""
    wanted: dict[str, set[str]] = {"ai_runs": set(), "ai_tasks": set()}
    inserted: set[tuple[str, str]] = set()
    for write in batch:
        key = (write.table.name, write.id)
        if write.kind == "insert":
            inserted.add(key)
        elif key not in inserted:
            wanted[write.table.name].add(write.id)
    records: dict[tuple[str, str], _Record] = {}
    for table in (ai_runs, ai_tasks):
        ids = wanted[table.name]
        if ids:
            rows = await conn.execute(_STATUS[table.name], {"ids": sorted(ids)})
            for record_id, status in rows:
                records[(table.name, record_id)] = _Record(status)
    return records


def _fold(
    write: Write, records: dict[tuple[str, str], _Record], inserted: dict[str, list[Any]]
) -> bool | BaseException:
    """Apply `write` to what the batch knows; the outcome its caller gets."""
    key = (write.table.name, write.id)
    values = write.values
    if write.kind == "insert":
        row = dict(values)
        records[key] = _Record(row["status"], row=row)
        inserted[write.table.name].append(row)
        return True
    record = records.get(key)
    if write.kind == "reopen":
        if record is None and write.row is not None:
            return _fold(attrs.evolve(write, kind="insert", values=write.row), records, inserted)
        if record is not None:
            record.status = values["status"]
            record.reopen = values
            return True
    if record is None:
        return RunNotFoundError(write.id) if write.table is ai_runs else TaskNotFoundError(write.id)
    if record.status in TERMINAL:
        return False
    if write.kind == "append":
        _fold_append(record, values)
        return True
    record.status = values.get("status", record.status)
    if write.kind == "finish":
        record.totals = write.totals
    elif record.row is not None:
        record.row.update(values)
        return True
    if "partial_text" in values:
        record.text.clear()  # replaced: text appended earlier in the batch is gone
    record.changes = {**(record.changes or {}), **values}
    return True


def _fold_append(record: _Record, values: dict[str, Any]) -> None:
    text, ttft, now = values["text"], values["ttft"], values["now"]
    if record.row is not None:
        row = record.row
        row["partial_text"] = (row["partial_text"] or "") + text
        if row["ttft_ms"] is None:
            row["ttft_ms"] = ttft
        row["updated_at"] = now
        return
    if record.changes is not None and "partial_text" in record.changes:
        record.changes["partial_text"] += text  # after a replacement in the same batch
        text = ""
    record.text.append(text)
    record.ttft = record.ttft if record.ttft is not None else ttft
    record.appended_at = now


async def _add_totals(conn: AsyncConnection, finishing: dict[str, _Record]) -> None:
    """Put each finishing run's stats (its tasks' count, tokens and cost) in its changes."""
    found = {
        run_id: (tasks, tokens_in, tokens_out, cost)
        for run_id, tasks, tokens_in, tokens_out, cost in await conn.execute(
            _TOTALS, {"ids": list(finishing)}
        )
    }
    for run_id, record in finishing.items():
        assert record.totals is not None and record.changes is not None
        extra, latency_ms = record.totals
        tasks, tokens_in, tokens_out, cost = found.get(run_id, (0, 0, 0, 0.0))
        summary: dict[str, Any] = {
            "tasks": tasks,
            "tokens_in": int(tokens_in or 0),
            "tokens_out": int(tokens_out or 0),
            "cost": float(cost or 0.0),
        }
        if latency_ms is not None:
            summary["latency_ms"] = latency_ms
        summary.update(extra)
        record.changes["stats"] = to_record_json(summary)


async def _update(
    conn: AsyncConnection, table: Table, records: dict[tuple[str, str], _Record]
) -> tuple[int, int]:
    """One `executemany` for every change to `table`, each row guarded by `is_open`.

    The statement sets every column any of the changes sets, each to COALESCE(the new
    value, the old one): a change that leaves a column out (None is never stored by a
    change) keeps it. Returns (rows changed, rows meant to change).
    """
    changes = [
        (record_id, record.changes)
        for (name, record_id), record in records.items()
        if name == table.name and record.changes
    ]
    if not changes:
        return 0, 0
    columns = tuple(sorted({column for _, values in changes for column in values}))
    rows = [
        {"w_id": record_id, **{f"v_{c}": values.get(c) for c in columns}}
        for record_id, values in changes
    ]
    result = await conn.execute(_update_statement(table, columns), rows)
    return result.rowcount, len(rows)


_UPDATES: dict[tuple[str, tuple[str, ...]], Any] = {}


def _update_statement(table: Table, columns: tuple[str, ...]) -> Any:
    # Built once per set of columns, so SQLAlchemy's compiled-statement cache is hit.
    key = (table.name, columns)
    stmt = _UPDATES.get(key)
    if stmt is None:
        values = {
            c: func.coalesce(bindparam(f"v_{c}", type_=table.c[c].type), table.c[c])
            for c in columns
        }
        stmt = _UPDATES[key] = (
            update(table).where(table.c.id == bindparam("w_id"), is_open(table)).values(values)
        )
    return stmt


_TABLES = {table.name: table for table in (ai_runs, ai_tasks)}
# Locked in id order (PostgreSQL; SQLite ignores FOR UPDATE), so two processes'
# batches never wait on each other in a cycle.
_STATUS = {
    table.name: select(table.c.id, table.c.status)
    .where(table.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(table.c.id)
    .with_for_update()
    for table in (ai_runs, ai_tasks)
}
_TOTALS = (
    select(
        ai_tasks.c.run_id,
        func.count(ai_tasks.c.id),
        func.sum(ai_tasks.c.tokens_in),
        func.sum(ai_tasks.c.tokens_out),
        func.sum(ai_tasks.c.cost),
    )
    .where(ai_tasks.c.run_id.in_(bindparam("ids", expanding=True)))
    .group_by(ai_tasks.c.run_id)
)
