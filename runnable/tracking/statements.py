"""The SQL of the run store, built once so SQLAlchemy reuses their compiled form.

Every UPDATE of a run or task goes through `update_open`: the guard that keeps a terminal
status final is in the WHERE clause, so it holds even between processes racing to write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Select, Table, Text, Update, bindparam, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from runnable.tracking.models import TERMINAL_STATUSES
from runnable.tracking.tables import ai_runs, ai_tasks

TERMINAL = sorted(status.value for status in TERMINAL_STATUSES)

INSERT_RUN = insert(ai_runs)
INSERT_TASK = insert(ai_tasks)

APPEND_PARTIAL = (
    update(ai_tasks)
    .where(ai_tasks.c.id == bindparam("p_id"), ai_tasks.c.status.not_in(TERMINAL))
    .values(
        partial_text=func.coalesce(ai_tasks.c.partial_text, "") + bindparam("p_text", type_=Text),
        ttft_ms=func.coalesce(ai_tasks.c.ttft_ms, bindparam("p_ttft", type_=Float)),
        updated_at=bindparam("p_now", type_=ai_tasks.c.updated_at.type),
    )
)
"""Appends `p_text` to an open task in the database (no read) and sets its ttft once."""


def is_open(table: Table) -> ColumnElement[bool]:
    """The condition "this row's status is not terminal"."""
    return table.c.status.not_in(TERMINAL)


def update_open(table: Table, record_id: str, values: dict[str, Any]) -> Update:
    """UPDATE one row of `table`, only while its status is not terminal."""
    return update(table).where(table.c.id == record_id, is_open(table)).values(values)


def update_any(table: Table, record_id: str, values: dict[str, Any]) -> Update:
    """UPDATE one row of `table` whatever its status (reopening an ended run or task)."""
    return update(table).where(table.c.id == record_id).values(values)


def interrupt_open(table: Table, cutoff: datetime, values: dict[str, Any]) -> Update:
    """UPDATE every open row of `table` created before `cutoff`."""
    return update(table).where(is_open(table), table.c.created_at < cutoff).values(values)


def run_totals(run_id: str) -> Select[int, Any, Any, Any]:
    """SELECT the number of a run's tasks and the sums of their tokens and cost."""
    return select(
        func.count(ai_tasks.c.id),
        func.sum(ai_tasks.c.tokens_in),
        func.sum(ai_tasks.c.tokens_out),
        func.sum(ai_tasks.c.cost),
    ).where(ai_tasks.c.run_id == run_id)
