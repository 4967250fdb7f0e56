"""Rows handed to the driver as tuples store exactly what SQLAlchemy's own path stores.

Against real SQLite and PostgreSQL (the `run_store` fixture runs each test on both; on
PostgreSQL the tables live in a schema of their own, so the statements are translated).
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Text, bindparam, cast, func, insert, select, update
from sqlalchemy.exc import CompileError, IntegrityError

from runnable.tracking import RunStore
from runnable.tracking.bulk import (
    Op,
    Plan,
    _flat_chunks,
    execute_many,
    insert_many,
    run_plan,
    update_many,
)
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


async def test_a_joined_update_stores_what_one_update_a_row_stores(run_store: RunStore) -> None:
    # update_many sends SQLite one UPDATE ... FROM (VALUES ...) for all rows: every
    # column's value must come out as executemany's would, None keeping the old value,
    # constants before the WHERE (the coalesce's '') and after it (the guard) in place.
    later = NOW + timedelta(minutes=5)
    appended = (
        update(ai_runs)
        .where(ai_runs.c.id == bindparam("w_id"), is_open(ai_runs))
        .values(
            name=func.coalesce(ai_runs.c.name, "") + bindparam("w_name", type_=Text),
            stats=func.coalesce(bindparam("w_stats", type_=ai_runs.c.stats.type), ai_runs.c.stats),
            updated_at=bindparam("w_now", type_=ai_runs.c.updated_at.type),
        )
    )
    changes = [
        {"name": " ✓ one", "stats": '{"cost": 0.5}', "now": later},
        {"name": "two", "stats": None, "now": later.astimezone(timezone(timedelta(hours=-3)))},
        {"name": "", "stats": '{"q": "it\'s"}', "now": later},
        {"name": "ended", "stats": '{"x": 1}', "now": later},
    ]
    async with run_store.engine.connect() as conn:
        for side in ("ours", "theirs"):
            await execute_many(
                conn,
                insert(ai_runs),
                [run_row(f"{side}{n}", name=None if n else "start") for n in range(3)]
                + [run_row(f"{side}3", status="error")],
            )
        rows = [
            {"w_id": f"{{}}{n}", "w_name": c["name"], "w_stats": c["stats"], "w_now": c["now"]}
            for n, c in enumerate(changes)
        ]
        ours = await update_many(
            conn, appended, [{**r, "w_id": r["w_id"].format("ours")} for r in rows]
        )
        theirs = await conn.execute(
            appended, [{**r, "w_id": r["w_id"].format("theirs")} for r in rows]
        )
        await conn.commit()
    if run_store.engine.dialect.supports_sane_multi_rowcount:
        assert ours == theirs.rowcount == 3
    found = await stored(run_store, [f"{side}{n}" for side in ("ours", "theirs") for n in range(4)])
    assert found[:4] == found[4:]
    assert found[0][0] == "start ✓ one" and found[3][0] is None  # the ended run kept its name


async def test_a_joined_update_of_more_rows_than_one_statement_takes_changes_them_all(
    run_store: RunStore,
) -> None:
    count = 1_234  # eight statements on SQLite (256 rows at most, a power of two each)
    guarded = (
        update(ai_runs)
        .where(ai_runs.c.id == bindparam("w_id"), is_open(ai_runs))
        .values(name=bindparam("w_name"))
    )
    async with run_store.engine.connect() as conn:
        await insert_many(conn, insert(ai_runs), [run_row(f"r{n:04}") for n in range(count)])
        rows = [{"w_id": f"r{n:04}", "w_name": f"name {n}"} for n in range(count)]
        changed = await update_many(conn, guarded, rows)
        await conn.commit()
    if run_store.engine.dialect.supports_sane_multi_rowcount:
        assert changed == count
    runs = await run_store.list_runs(limit=count)
    assert sorted(run.name or "" for run in runs) == sorted(f"name {n}" for n in range(count))


@given(rows=st.integers(0, 3_000), per_row=st.integers(1, 300))
def test_sqlite_statements_take_rows_in_powers_of_two_so_their_texts_repeat(
    rows: int, per_row: int
) -> None:
    slots: list[Any] = [(None, None, n) for n in range(per_row)]  # constants: no row keys
    chunks = list(_flat_chunks(slots, [{}] * rows, per_row))
    counts = [count for count, _ in chunks]
    assert sum(counts) == rows
    assert all(count & (count - 1) == 0 for count in counts)  # each a power of two
    assert all(count * per_row <= 32_766 and count <= 500 for count in counts)  # SQLite's limit
    assert counts == sorted(counts, reverse=True)
    rest = counts[counts.count(counts[0]) :] if counts else []
    assert len(rest) == len(set(rest))  # after the full chunks, one of each size at most
    assert [len(flat) for _, flat in chunks] == [count * per_row for count in counts]


async def test_an_update_the_joined_form_cannot_take_is_refused_by_name(
    run_store: RunStore,
) -> None:
    unguarded = update(ai_runs).values(name=bindparam("w_name"))  # no WHERE to join on
    async with run_store.engine.connect() as conn:
        if run_store.engine.dialect.paramstyle != "qmark":
            return  # executemany takes any statement
        with pytest.raises(ValueError, match="not a one-row UPDATE with a WHERE clause"):
            await update_many(conn, unguarded, [{"w_name": "x"}])


async def test_a_failed_bulk_insert_raises_sqlalchemys_error_without_the_rows_values(
    run_store: RunStore,
) -> None:
    secret = "sk-do-not-log-0123456789"
    async with run_store.engine.connect() as conn:
        await insert_many(conn, insert(ai_runs), [run_row("twice")])
        with pytest.raises(IntegrityError) as caught:  # the same id again
            await insert_many(conn, insert(ai_runs), [run_row("twice", name=secret)])
        await conn.rollback()
    assert secret not in str(caught.value)
    assert await run_store.get_run("twice") is None  # rolled back with the first


def _plan_with_sqlalchemy_between(calls: list[Any]) -> Plan[tuple[int, int]]:
    yield Op("insert", insert(ai_runs), [run_row("p1"), run_row("p2")])
    named = update(ai_runs).where(ai_runs.c.id == "p1").values(name="through sqlalchemy")
    calls.append((yield Op("execute", named, None)).rowcount)
    guarded = (
        update(ai_runs)
        .where(ai_runs.c.id == bindparam("w_id"), is_open(ai_runs))
        .values(status=bindparam("w_status"))
    )
    changed: int = yield Op("update", guarded, [{"w_id": "p1", "w_status": "success"}])
    return changed, len(calls)


async def test_a_plan_sends_each_statement_its_result_and_commits_once_with_sqlalchemy_between(
    run_store: RunStore,
) -> None:
    calls: list[Any] = []
    async with run_store.engine.connect() as conn:
        result = await run_plan(conn, _plan_with_sqlalchemy_between(calls), commit=True)
        await conn.commit()
    assert result == (1, 1) and calls == [1]
    p1, p2 = await run_store.get_run("p1"), await run_store.get_run("p2")
    assert p1 is not None and p1.name == "through sqlalchemy" and p1.status == "success"
    assert p2 is not None and p2.status == "running"


async def test_a_batch_and_its_commit_are_one_call_to_the_sqlite_thread(
    run_store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    if run_store.engine.dialect.name != "sqlite":
        pytest.skip("one call to the database's thread: SQLite's aiosqlite only")
    import aiosqlite

    run = await run_store.create_run()
    calls: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    # Statuses read, a task inserted, text appended, the run updated, then committed.
    writes = [
        run_store.queue_task(run.id, id="t1"),
        run_store.queue_append("t1", "Hello"),
        run_store.queue_run_update(run.id, name="renamed"),
        run_store.queue_finish_run(
            run.id, "success", stats={"tasks": 1, "tokens_in": 0, "tokens_out": 0, "cost": 0.0}
        ),
    ]
    assert await asyncio.gather(*writes) == [True, True, True, True]
    monkeypatch.undo()
    # The pool's reset of a connection it gets back (a rollback) is SQLAlchemy's own, once
    # a checkout; the batch itself, statements and commit, is one call.
    assert [name for name in calls if name != "rollback"] == ["_run_here"]
    stored_run = await run_store.get_run(run.id)
    assert stored_run is not None and (stored_run.name, stored_run.status) == ("renamed", "success")
    [task] = await run_store.list_tasks(run.id)
    assert task.partial_text == "Hello"


async def test_a_plan_failing_on_the_sqlite_thread_leaves_nothing_of_itself(
    run_store: RunStore,
) -> None:
    def plan() -> Plan[None]:
        yield Op("insert", insert(ai_runs), [run_row("first")])
        yield Op("insert", insert(ai_runs), [run_row("first")])  # the same id again

    async with run_store.engine.connect() as conn:
        with pytest.raises(IntegrityError):
            await run_plan(conn, plan(), commit=True)
        await conn.rollback()
        await insert_many(conn, insert(ai_runs), [run_row("after")])  # still usable
        await conn.commit()
    assert await run_store.get_run("first") is None
    assert await run_store.get_run("after") is not None


async def test_a_plan_cancelled_while_its_thread_runs_writes_nothing_and_ends_cleanly(
    run_store: RunStore,
) -> None:
    if run_store.engine.dialect.name != "sqlite":
        pytest.skip("the database's thread: SQLite's aiosqlite only")
    running = threading.Event()

    def plan() -> Plan[None]:
        yield Op("insert", insert(ai_runs), [run_row("before")])
        running.set()
        time.sleep(0.3)  # on the database's thread, while the caller is cancelled
        yield Op("insert", insert(ai_runs), [run_row("after")])

    async with run_store.engine.connect() as conn:
        task = asyncio.ensure_future(run_plan(conn, plan(), commit=True))
        await asyncio.to_thread(running.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await conn.rollback()
    assert await run_store.get_run("before") is None
    assert await run_store.get_run("after") is None


async def test_sqlalchemy_is_told_of_the_transaction_a_plan_left_open_for_its_own_statement(
    run_store: RunStore,
) -> None:
    def plan() -> Plan[None]:
        yield Op("insert", insert(ai_runs), [run_row("left")])
        # Fails as SQLAlchemy compiles it, before it would begin a transaction itself.
        yield Op("execute", update(ai_runs).values(no_such_column=1), None)

    async with run_store.engine.connect() as conn:
        with pytest.raises(CompileError):
            await run_plan(conn, plan(), commit=True)
        await conn.rollback()  # must take the insert with it
        await insert_many(conn, insert(ai_runs), [run_row("next")])
        await conn.commit()
    assert await run_store.get_run("left") is None
    assert await run_store.get_run("next") is not None
