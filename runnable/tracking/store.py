"""RunStore: runs and their tasks in SQL, written as they happen (tasks: `tasks.py`,
reads: `reads.py`).

Writes go through one queue (`runnable.tracking.writes`) that commits what has gathered
in one transaction per batch; an awaited write returns once its batch is committed, so a
crash loses at most the text not yet flushed, and a run is on disk before its first
model call. A terminal status is final: every UPDATE carries `status NOT IN (terminal)`
in its WHERE clause, so a late write from a cancelled stream can never overwrite
`cancelled` or `interrupted`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from sqlalchemy import delete

from runnable.sources.database import SqlDatabase, SqlTarget
from runnable.sources.sqltypes import utc_now
from runnable.tracking.models import Interrupted, RunRecord, RunStatus
from runnable.tracking.payloads import column_values, parsed_row, terminal_status
from runnable.tracking.statements import interrupt_open
from runnable.tracking.tables import ai_runs, ai_tasks
from runnable.tracking.tasks import TaskWrites
from runnable.tracking.writes import LINGER, MAX_PENDING, WriteQueue

DEFAULT_PATH = "runs.sqlite"
"""The SQLite file (in the working directory) used when no URL is given."""


class RunStore(TaskWrites):
    """Runs (`ai_runs`) and their tasks (`ai_tasks`) in SQLite or PostgreSQL.

    `RunStore()` writes to `runs.sqlite` in the working directory; give a path, a URL
    (`postgresql://user@host/db`) or an `AsyncEngine` to go elsewhere. Tables are created on
    first use (or by `await store.init()`), in `schema` when one is given.

    Every awaited write is committed before it returns, so it survives this process being
    killed; concurrent writes share transactions (one per batch). The `queue_*` methods
    queue a write without waiting (the runner's recorder uses them, inside
    `write_behind()`: such writes may wait up to `linger` seconds to share a transaction,
    so a process killed meanwhile loses at most that much of them). At most
    `max_pending` writes wait: past that, awaited writes (and `room()`) wait for the
    queue to drain, never dropping a record. `close()` commits what is queued.

    By default commits do not wait for the disk flush (many times the write rate); a power
    cut or a database-server crash may then lose the last fraction of a second of records.
    `durable=True` waits for the flush on every commit.
    """

    def __init__(
        self,
        url: SqlTarget | None = None,
        *,
        schema: str | None = None,
        create_tables: bool = True,
        durable: bool = False,
        max_pending: int = MAX_PENDING,
        linger: float = LINGER,
    ) -> None:
        target = Path(DEFAULT_PATH) if url is None else url
        self._db = SqlDatabase(
            target,
            [ai_runs, ai_tasks],
            schema=schema,
            create_tables=create_tables,
            durable=durable,
        )
        self.url: str = self._db.label
        """The database URL, password hidden."""
        self.opened_at: datetime = utc_now()
        self._last_now = self.opened_at
        self._started = {}
        self._writes = WriteQueue(self._connection, max_pending=max_pending, linger=linger)

    @classmethod
    async def open(
        cls,
        url: SqlTarget | None = None,
        *,
        schema: str | None = None,
        create_tables: bool = True,
        durable: bool = False,
        recover: bool = False,
        linger: float = LINGER,
    ) -> Self:
        """Make a store and create its tables (see the class for the other arguments).

        `recover=True` marks the runs and tasks that an earlier process left unfinished
        as `interrupted` (see `mark_interrupted`): pass it where this process owns the
        database (a SQLite file of its own, a single writer at start-up). It is off by
        default because another live process's runs would be ended too.
        """
        store = cls(url, schema=schema, create_tables=create_tables, durable=durable, linger=linger)
        await store.init()
        if recover:
            await store.mark_interrupted()
        return store

    def __repr__(self) -> str:
        return f"RunStore({self.url})"

    # Runs

    async def create_run(
        self,
        *,
        name: str | None = None,
        runnable_ref: object = None,
        inputs: Mapping[str, Any] | None = None,
        messages: Sequence[Any] | None = None,
        variables: object = None,
        settings: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        status: RunStatus | str = RunStatus.RUNNING,
        id: str | None = None,
    ) -> RunRecord:
        """Write a new run and return it; call it before the first model call."""
        await self._writes.room()
        fields = {
            "id": id,
            "name": name,
            "runnable_ref": runnable_ref,
            "status": status,
            "inputs": inputs,
            "messages": messages,
            "variables": variables,
            "settings": settings,
            "parent_run_id": parent_run_id,
        }
        row = self._new(ai_runs, fields)
        await self._writes.submit("insert", ai_runs, row["id"], row)
        return RunRecord.model_validate(parsed_row(row))

    def queue_run(self, **fields: Any) -> asyncio.Future[bool]:
        """Queue a new run (the arguments of `create_run`) without waiting for it.

        The future resolves once the row is committed. The caller applies backpressure
        (`await store.room()`) at a point of its choosing; see `room`.
        """
        row = self._new(ai_runs, fields)
        return self._writes.submit("insert", ai_runs, row["id"], row)

    async def update_run(
        self,
        run_id: str,
        *,
        name: str | None = None,
        status: RunStatus | str | None = None,
        messages: Sequence[Any] | None = None,
        variables: object = None,
        settings: Mapping[str, Any] | None = None,
        stats: Mapping[str, Any] | None = None,
    ) -> bool:
        """Change the given fields of a run that has not ended; False if it has ended."""
        await self._writes.room()
        fields = {
            "name": name,
            "status": status,
            "messages": messages,
            "variables": variables,
            "settings": settings,
            "stats": stats,
        }
        return await self.queue_run_update(run_id, **fields)

    def queue_run_update(self, run_id: str, **fields: Any) -> asyncio.Future[bool]:
        """Queue `update_run` (None meaning not given) without waiting for it."""
        return self._queue_update(ai_runs, run_id, fields)

    def queue_start_run(self, run_id: str) -> asyncio.Future[bool]:
        """Queue the start of a run written ahead as `pending`: `running`, timed from now."""
        self._started[run_id] = time.monotonic()
        return self._queue_update(ai_runs, run_id, {"status": RunStatus.RUNNING})

    async def finish_run(
        self,
        run_id: str,
        status: RunStatus | str,
        *,
        error: object = None,
        stats: Mapping[str, Any] | None = None,
        messages: Sequence[Any] | None = None,
    ) -> bool:
        """End a run; its stats total its tasks' tokens and cost. False if already ended.

        `stats` adds to (and overrides) the computed totals: tasks, tokens_in, tokens_out,
        cost, and latency_ms when the run was created by this store.
        """
        await self._writes.room()
        return await self.queue_finish_run(
            run_id, status, error=error, stats=stats, messages=messages
        )

    def queue_finish_run(
        self,
        run_id: str,
        status: RunStatus | str,
        *,
        error: object = None,
        stats: Mapping[str, Any] | None = None,
        messages: Sequence[Any] | None = None,
    ) -> asyncio.Future[bool]:
        """Queue the end of a run (see `finish_run`) without waiting for it."""
        final = terminal_status(status)
        values = column_values({"status": final, "error": error, "messages": messages})
        now = self._now()
        values.update(updated_at=now, finished_at=now)
        started = self._started.pop(run_id, None)
        latency_ms = None if started is None else (time.monotonic() - started) * 1000.0
        extra = dict(stats or {})
        return self._writes.submit("finish", ai_runs, run_id, values, (extra, latency_ms))

    async def reopen_run(self, run_id: str) -> None:
        """Make an ended run `running` again, to run part of it once more in place.

        The one deliberate exception to "a terminal status is final": a flow's step or
        action re-run inside its earlier run (`bridge.run_step(..., run=...)`). Its error
        and end time are cleared; `RunNotFoundError` if there is no such run.
        """
        await self._writes.room()
        await self.queue_reopen_run(run_id)

    def queue_reopen_run(self, run_id: str) -> asyncio.Future[bool]:
        """Queue `reopen_run` without waiting for it."""
        values = {"status": RunStatus.RUNNING.value, "error": None, "finished_at": None}
        self._started[run_id] = time.monotonic()
        return self._writes.submit("reopen", ai_runs, run_id, {**values, "updated_at": self._now()})

    async def delete_run(self, run_id: str) -> bool:
        """Delete a run and its tasks; False if there was no such run."""
        await self._writes.flush()
        async with self._connection(run_id) as conn:
            await conn.execute(delete(ai_tasks).where(ai_tasks.c.run_id == run_id))
            result = await conn.execute(delete(ai_runs).where(ai_runs.c.id == run_id))
            await conn.commit()
        self._started.pop(run_id, None)
        return bool(result.rowcount)

    # Recovery

    async def mark_interrupted(self, *, before: datetime | None = None) -> Interrupted:
        """End as `interrupted` every run and task not ended and created before `before`.

        `before` defaults to when this store was made, so calling it at start-up ends what
        an earlier (crashed) process left running, never what this store is running.
        """
        await self._writes.flush()
        cutoff = before or self.opened_at
        now = self._now()
        ended = {"status": RunStatus.INTERRUPTED.value, "updated_at": now, "finished_at": now}
        async with self._connection() as conn:
            tasks = await conn.execute(interrupt_open(ai_tasks, cutoff, ended))
            runs = await conn.execute(interrupt_open(ai_runs, cutoff, ended))
            await conn.commit()
        return Interrupted(runs=runs.rowcount, tasks=tasks.rowcount)

    # Shared

    def write_behind(
        self, on_failure: Callable[[BaseException], None] | None = None
    ) -> AbstractContextManager[None]:
        """A block whose `queue_*` writes nobody waits for: while only such writes are
        queued, the store waits up to `linger` s for more before it commits, so they share
        transactions. Awaited writes, `hurry()` and `flush()` commit at once.
        `on_failure` is told of each write of the block that fails."""
        return self._writes.behind(on_failure)

    def hurry(self) -> None:
        """Commit what is queued now (someone waits for a write-behind record)."""
        self._writes.hurry()

    async def room(self) -> None:
        """Return once the write queue has room (at most `max_pending` writes wait).

        Every awaited write waits for room before it queues; `queue_*` callers (the
        runner's recorder) call this where they can wait, e.g. before a node's call.
        """
        await self._writes.room()

    @property
    def transactions(self) -> int:
        """How many write transactions (batches) this store has committed."""
        return self._writes.batches

    @property
    def writes(self) -> int:
        """How many writes (a new run or task, a change, appended text) were queued."""
        return self._writes.submitted + self._writes.folded

    async def flush(self) -> None:
        """Return once every write queued so far is committed."""
        await self._writes.flush()

    async def close(self) -> None:
        """Commit what is queued, then release the engine if this store made it."""
        await self._writes.close()
        await super().close()
