"""RunReads: reading runs and tasks back from `ai_runs` and `ai_tasks`.

The read half of the run store; `RunStore` (`runnable.tracking.store`) adds the writes.
Reads go straight to the database: they see every committed write, this process's or
another's, and never wait for this store's write queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, func, select

from runnable.sources.database import SqlBacked
from runnable.tracking.errors import RunNotFoundError, TaskNotFoundError, TrackingBackendError
from runnable.tracking.models import RunRecord, RunStatus, TaskRecord
from runnable.tracking.payloads import ref_text, status_value
from runnable.tracking.tables import ai_runs, ai_tasks


class RunReads(SqlBacked):
    """The reads of a run store: runs and tasks by id, runs listed, filtered and counted."""

    url: str

    def _backend_error(self, reason: str, key: str | None) -> Exception:
        return TrackingBackendError(self.url, key, reason)

    async def get_run(self, run_id: str) -> RunRecord | None:
        """Return the run, or None."""
        async with self._connection(run_id) as conn:
            row = (await conn.execute(select(ai_runs).where(ai_runs.c.id == run_id))).first()
        return None if row is None else RunRecord.model_validate(_present(row._mapping))

    async def list_runs(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        runnable_ref: object = None,
        status: RunStatus | str | None = None,
        parent_run_id: str | None = None,
    ) -> list[RunRecord]:
        """Return runs, newest first, optionally filtered (see `count_runs` for the total)."""
        stmt = _filtered(select(ai_runs), runnable_ref, status, parent_run_id)
        stmt = stmt.order_by(ai_runs.c.created_at.desc(), ai_runs.c.id.desc())
        async with self._connection() as conn:
            rows = (await conn.execute(stmt.limit(limit).offset(offset))).all()
        return [RunRecord.model_validate(_present(row._mapping)) for row in rows]

    async def count_runs(
        self,
        *,
        runnable_ref: object = None,
        status: RunStatus | str | None = None,
        parent_run_id: str | None = None,
    ) -> int:
        """How many runs `list_runs` with the same filters would page through."""
        stmt = _filtered(
            select(func.count()).select_from(ai_runs), runnable_ref, status, parent_run_id
        )
        async with self._connection() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """Return the task, or None."""
        async with self._connection(task_id) as conn:
            row = (await conn.execute(select(ai_tasks).where(ai_tasks.c.id == task_id))).first()
        return None if row is None else TaskRecord.model_validate(_present(row._mapping))

    async def list_tasks(self, run_id: str) -> list[TaskRecord]:
        """Return a run's tasks in the order they were added."""
        stmt = (
            select(ai_tasks)
            .where(ai_tasks.c.run_id == run_id)
            .order_by(ai_tasks.c.created_at, ai_tasks.c.id)
        )
        async with self._connection(run_id) as conn:
            rows = (await conn.execute(stmt)).all()
        return [TaskRecord.model_validate(_present(row._mapping)) for row in rows]

    async def _require(self, table: Table, record_id: str) -> None:
        """Raise RunNotFoundError or TaskNotFoundError when no row of `table` has `record_id`."""
        async with self._connection(record_id) as conn:
            found = await conn.scalar(select(table.c.id).where(table.c.id == record_id))
        if found is None:
            raise RunNotFoundError(record_id) if table is ai_runs else TaskNotFoundError(record_id)


def _present(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    # NULL columns fall back to the record's defaults ({} for inputs, [] for messages...).
    return {key: value for key, value in mapping.items() if value is not None}


def _filtered(stmt: Any, runnable_ref: object, status: object, parent_run_id: str | None) -> Any:
    if status is not None:
        stmt = stmt.where(ai_runs.c.status == status_value(status).value)  # type: ignore[arg-type]
    if runnable_ref is not None:
        stmt = stmt.where(ai_runs.c.runnable_ref == ref_text(runnable_ref))
    if parent_run_id is not None:
        stmt = stmt.where(ai_runs.c.parent_run_id == parent_run_id)
    return stmt
