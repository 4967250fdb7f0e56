"""Rows handed to the driver as tuples store exactly what SQLAlchemy's own path stores.

Against real SQLite and PostgreSQL (the `run_store` fixture runs each test on both; on
PostgreSQL the tables live in a schema of their own, so the statements are translated).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Text, bindparam, cast, insert, select, update

from runnable.tracking import RunStore
from runnable.tracking.bulk import execute_many
from runnable.tracking.statements import is_open
from runnable.tracking.tables import ai_runs

NOW = datetime(2026, 12, 7, 16, 30, 1, 250, tzinfo=UTC)


def run_row(run_id: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(column.name for column in ai_runs.columns)
    row.update({"id": run_id, "status": "running", "created_at": NOW, "updated_at": NOW})
    row.update(values)
    return row


async def stored(store: RunStore, ids: list[str]) -> list[tuple[Any, ...]]:
    """The rows as the database holds them (as text: how they sort and compare there)."""
    columns = [cast(column, Text) for column in ai_runs.columns if column.name != "id"]
    async with store.engine.connect() as conn:
        query = select(*columns).where(ai_runs.c.id.in_(ids)).order_by(ai_runs.c.id)
        return [tuple(row) for row in await conn.execute(query)]


async def test_inserted_rows_are_stored_as_sqlalchemys_own_inserts_store_them(
    run_store: RunStore,
) -> None:
    values = {
        "name": "ünïcode ✓",
        "inputs": '{"a": [1, 2.5, null]}',
        "stats": "{}",
        "error": None,
        # Not in UTC: the column's processor must convert it, as SQLAlchemy's path does.
        "finished_at": (NOW + timedelta(seconds=3)).astimezone(timezone(timedelta(hours=1))),
    }
    async with run_store.engine.connect() as conn:
        await execute_many(conn, insert(ai_runs), [run_row("ours", **values)])
        await conn.execute(insert(ai_runs), [run_row("theirs", **values)])
        await conn.commit()
    ours, theirs = await stored(run_store, ["ours", "theirs"])
    assert ours == theirs
    record = await run_store.get_run("ours")
    assert record is not None and record.inputs == {"a": [1, 2.5, None]}  # JSON once


async def test_guarded_updates_count_what_they_changed_and_skip_ended_rows(
    run_store: RunStore,
) -> None:
    async with run_store.engine.connect() as conn:
        await execute_many(
            conn, insert(ai_runs), [run_row("open"), run_row("ended", status="success")]
        )
        # The guard's statuses are constants of the statement, not values of the rows.
        guarded = (
            update(ai_runs)
            .where(ai_runs.c.id == bindparam("w_id"), is_open(ai_runs))
            .values(name=bindparam("w_name"))
        )
        rows = [{"w_id": "open", "w_name": "renamed"}, {"w_id": "ended", "w_name": "renamed"}]
        result = await execute_many(conn, guarded, rows)
        await conn.commit()
    if run_store.engine.dialect.supports_sane_multi_rowcount:
        assert result.rowcount == 1
    open_run, ended = await run_store.get_run("open"), await run_store.get_run("ended")
    assert open_run is not None and ended is not None
    assert (open_run.name, ended.name) == ("renamed", None)
