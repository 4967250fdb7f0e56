"""What writing a run or a task shares: the write queue, timestamps, new rows, updates.

`RunStore` (runs, `store.py`) and `TaskWrites` (tasks, `tasks.py`) build on this; the
store sets these attributes up when it is made.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table

from runnable.ids import new_id
from runnable.sources.sqltypes import utc_now
from runnable.tracking.models import TERMINAL_STATUSES, RunStatus
from runnable.tracking.payloads import column_values, new_row
from runnable.tracking.reads import RunReads
from runnable.tracking.writes import WriteQueue

_RUNNING = RunStatus.RUNNING.value


class RecordWrites(RunReads):
    """The write machinery of a run store (see `RunStore`)."""

    url: str
    _writes: WriteQueue
    _last_now: datetime
    # Monotonic start of runs and tasks created here, to time them when they finish.
    _started: dict[str, float]

    def _now(self) -> datetime:
        # Strictly increasing, so records made by this store sort in the order they were made.
        now = utc_now()
        if now <= self._last_now:
            now = self._last_now + timedelta(microseconds=1)
        self._last_now = now
        return now

    def _queue_update(
        self, table: Table, record_id: str, fields: Mapping[str, Any]
    ) -> asyncio.Future[bool]:
        values = column_values(fields)
        now = self._now()
        values["updated_at"] = now
        if values.get("status") in TERMINAL_STATUSES:
            values["finished_at"] = now
        return self._writes.submit("update", table, record_id, values)

    def _new(self, table: Table, fields: Mapping[str, Any]) -> dict[str, Any]:
        row = new_row(table, self._now(), fields)
        if row["status"] is None:  # not given: a new record is running
            row["status"] = _RUNNING
        if not row["id"]:
            row["id"] = new_id()
        self._started[row["id"]] = time.monotonic()
        return row
