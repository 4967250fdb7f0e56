"""The SQL of the run store, built once so SQLAlchemy reuses their compiled form.

Every UPDATE of a run or task is guarded by `is_open`: the guard that keeps a terminal
status final is in the WHERE clause, so it holds even between processes racing to write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Table, Text, Update, and_, bindparam, func, update
from sqlalchemy.sql.elements import ColumnElement

from runnable.tracking.models import TERMINAL_STATUSES
from runnable.tracking.tables import ai_tasks

TERMINAL = sorted(status.value for status in TERMINAL_STATUSES)


def is_open(table: Table) -> ColumnElement[bool]:
    """The condition "this row's status is not terminal".

    One plain comparison per status, not an expanding `NOT IN`: the guarded statements
    are sent as executemany, which cannot expand a list.
    """
    return and_(*(table.c.status != status for status in TERMINAL))


APPEND_PARTIAL = (
    update(ai_tasks)
    .where(ai_tasks.c.id == bindparam("p_id"), is_open(ai_tasks))
    .values(
        partial_text=func.coalesce(ai_tasks.c.partial_text, "") + bindparam("p_text", type_=Text),
        ttft_ms=func.coalesce(ai_tasks.c.ttft_ms, bindparam("p_ttft", type_=Float)),
        updated_at=bindparam("p_now", type_=ai_tasks.c.updated_at.type),
    )
)
"""Appends `p_text` to an open task in the database (no read) and sets its ttft once."""


def interrupt_open(table: Table, cutoff: datetime, values: dict[str, Any]) -> Update:
    """UPDATE every open row of `table` created before `cutoff`."""
    return update(table).where(is_open(table), table.c.created_at < cutoff).values(values)
