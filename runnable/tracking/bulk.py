"""Statements run for many rows at once, each row handed to the driver as a tuple.

SQLAlchemy's general `executemany` path matches parameter names and looks up bind
processors for every value of every row, as much work again as the database's own for a
run store's small rows, and a dataset writes thousands of them. Here a statement is
compiled once per dialect and schema; each row becomes a tuple in the compiled order,
each value through its own column type's bind processor only (the same processors
SQLAlchemy would apply), and the constants the statement carries (its status guard) are
filled in from the compiled statement.

A batch of the run store is a plan (`run_plan`): a generator that yields its statements
(`Op`) and is sent their results, so one piece of code decides what to write and each
database runs it its own way: on SQLite all of it, commit included, in one call to the
database's thread; elsewhere one await a statement.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any, Literal, TypeVar, cast

import attrs
from sqlalchemy import CursorResult, Insert, Update
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

# Where a compiled parameter's value comes from: the row's key (and the processor its
# type has, if any), or a constant of the statement, already processed.
_Slot = tuple[str | None, Callable[[Any], Any] | None, Any]
_COMPILED: dict[tuple[Any, ...], tuple[str, list[_Slot]]] = {}
_JOINED: dict[str, tuple[str, tuple[Any, ...], list[_Slot], tuple[Any, ...]]] = {}
_T = TypeVar("_T")


# SQLite binds at most this many parameters in one statement (its default limit).
_SQLITE_MAX_PARAMETERS = 32766
_MAX_ROWS_PER_INSERT = 500


@attrs.frozen(slots=True)
class Op:
    """One statement of a plan (see `run_plan`), and what it sends back to the plan.

    `insert`: `stmt` (an INSERT of one row's parameters) for each of `values`, the rows;
    sends None. `update`: `stmt` (an UPDATE of one row's parameters) for each row; sends
    the rows changed. `fetch`: `stmt` (a SELECT) with `values` as its parameters; sends
    its rows. `execute`: any statement, through SQLAlchemy; sends its result.
    """

    kind: Literal["insert", "update", "fetch", "execute"]
    stmt: Any
    values: Any


Plan = Generator[Op, Any, _T]
"""Statements to run in order, each chosen knowing the results of those before."""


async def run_plan(conn: AsyncConnection, plan: Plan[_T], *, commit: bool = False) -> _T:
    """Run `plan`'s statements in order, sending it each one's result; what it returns.

    On SQLite (aiosqlite), the statements up to the first `execute` (most plans have
    none) run in one call to the database's thread: every call is a hand-over of the
    interpreter lock and waits for a turn of the event loop, and under a busy loop a
    batch of five calls took up to two seconds where one call takes a turn. The plan's
    own Python between them runs on that thread too. Elsewhere, one await a statement.

    `commit`: the caller commits after the plan (`await conn.commit()`); on SQLite, when
    every statement ran on the database's thread, that commit happens there, in the
    same call (the caller's is then a no-op), and a plan that fails is rolled back there.
    """
    try:
        op = next(plan)
        while True:
            if op.kind != "execute" and _on_aiosqlite(conn):
                done, found = await _on_sqlite_thread(conn, plan, op, commit)
                if done:
                    return cast("_T", found)
                op = found
            op = plan.send(await _run(conn, op))
    except StopIteration as stop:
        return cast("_T", stop.value)
    finally:
        plan.close()


async def insert_many(
    conn: AsyncConnection, stmt: Insert, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert `rows` with `stmt` (an INSERT of one row's parameters).

    On SQLite, as one multi-row INSERT per chunk: sqlite3's executemany lets go of the
    interpreter lock around every row and takes it back, and each hand-over with the
    event loop's thread costs context switches (about twenty a dataset row, measured);
    one statement of many rows is one hand-over. Elsewhere, `execute_many`.
    """
    await run_plan(conn, _one(Op("insert", stmt, rows)))


async def update_many(
    conn: AsyncConnection, stmt: Update, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Run `stmt` (an UPDATE of one row's parameters) for each of `rows`; rows changed.

    On SQLite, as one `UPDATE ... FROM (VALUES ...)` per chunk, whose every row parameter
    is read from the VALUES row joined on the WHERE clause (for the reason of
    `insert_many`). Elsewhere, `execute_many`.
    """
    changed: int = await run_plan(conn, _one(Op("update", stmt, rows)))
    return changed


def _one(op: Op) -> Plan[Any]:
    return (yield op)


async def _run(conn: AsyncConnection, op: Op) -> Any:
    """Run `op` through SQLAlchemy (the driver's executemany for inserts and updates)."""
    if op.kind == "execute":
        return await conn.execute(op.stmt, op.values)
    if op.kind == "fetch":
        return list(await conn.execute(op.stmt, op.values))
    result = await execute_many(conn, op.stmt, op.values)
    return result.rowcount if op.kind == "update" else None


async def _on_sqlite_thread(
    conn: AsyncConnection, plan: Plan[Any], op: Op, commit: bool
) -> tuple[bool, Any]:
    """Run `op` and the plan's next statements up to an `execute` on aiosqlite's thread:
    (True, what the plan returned) or (False, the `execute` left to run here)."""
    # SQLAlchemy's transaction, if it has one, is the caller's to end; if not, either the
    # plan ends its own there (`commit`) or SQLAlchemy is told of it, else its commit,
    # seeing no transaction, would skip it.
    ends_here = commit and not conn.in_transaction()
    if not ends_here and not conn.in_transaction():
        await conn.begin()
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None  # a checked-out connection has its driver's
    compiled = functools.partial(_compiled, conn)
    stop = threading.Event()
    # aiosqlite's `_execute` runs a function on its thread, where its sqlite3 connection
    # (`_conn`) lives: private, but its public methods are each that call and no more.
    # Same connection, same transaction: SQLAlchemy's commit or rollback ends it.
    call = asyncio.ensure_future(
        driver._execute(_run_here, driver._conn, compiled, plan, op, ends_here, stop)
    )
    try:
        done, found = await asyncio.shield(call)
    except asyncio.CancelledError:
        # The thread goes on with the plan: it must end before the plan is closed, and
        # roll back what it wrote rather than commit half a batch.
        stop.set()
        await asyncio.wait((call,))
        if not call.cancelled():
            call.exception()  # retrieved: the cancel is what the caller hears of
        raise
    if not done and not conn.in_transaction():
        await conn.begin()  # the statements so far are in sqlite3's transaction: say so
    return done, found


def _run_here(
    db: sqlite3.Connection,
    compiled: Callable[[Any], tuple[str, list[_Slot]]],
    plan: Plan[Any],
    op: Op,
    ends_here: bool,
    stop: threading.Event,
) -> tuple[bool, Any]:
    """`_on_sqlite_thread`'s work, on the database's thread (until `stop` is set)."""
    try:
        while op.kind != "execute":
            if stop.is_set():
                raise _Stopped()
            result = _run_sqlite(db, compiled, op)
            try:
                op = plan.send(result)
            except StopIteration as stop_iteration:
                if stop.is_set():
                    raise _Stopped() from None
                if ends_here:
                    _commit(db)
                return True, stop_iteration.value
    except BaseException:
        if ends_here:
            db.rollback()
        raise
    return False, op


class _Stopped(Exception):
    """The plan's caller was cancelled while its statements ran: they are rolled back."""


def _commit(db: sqlite3.Connection) -> None:
    try:
        db.commit()
    except sqlite3.Error as exc:
        raise _as_sqlalchemy_error("COMMIT", exc) from exc


def _run_sqlite(
    db: sqlite3.Connection, compiled: Callable[[Any], tuple[str, list[_Slot]]], op: Op
) -> Any:
    sql, slots = compiled(op.stmt)
    if op.kind == "fetch":
        return _execute(db, sql, _flat(slots, [op.values])).fetchall()
    if op.kind == "insert":
        head, row = sql.rsplit(" VALUES ", 1)
        for count, flat in _flat_chunks(slots, op.values, len(slots)):
            _execute(db, f"{head} VALUES {', '.join([row] * count)}", flat)
        return None
    template, before, row_slots, after = _joined_update(sql, slots)
    placeholders = "(" + ", ".join(["?"] * len(row_slots)) + ")"
    changed = 0
    for count, flat in _flat_chunks(row_slots, op.values, len(slots)):
        rows = ", ".join([placeholders] * count)
        changed += _execute(db, template.format(rows), [*before, *flat, *after]).rowcount
    return changed


def _flat_chunks(
    slots: list[_Slot], rows: Sequence[Mapping[str, Any]], per_row: int
) -> Iterator[tuple[int, list[Any]]]:
    """The rows in chunks one SQLite statement can bind (`per_row` parameters a row, at
    most `_MAX_ROWS_PER_INSERT` rows): each chunk's row count and its values in order.

    Every chunk holds a power of two of rows (37 rows: 32, 4, 1), so a statement's text is
    one of a few and sqlite3 finds it parsed in its cache: a statement of a new length is
    parsed anew, and parsing a batch's statements cost more than running them.
    """
    most = max(1, min(_MAX_ROWS_PER_INSERT, _SQLITE_MAX_PARAMETERS // per_row))
    size = 1 << (most.bit_length() - 1)
    start, total = 0, len(rows)
    while start < total:
        left = total - start
        count = size if left >= size else 1 << (left.bit_length() - 1)
        yield count, _flat(slots, rows[start : start + count])
        start += count


def _execute(db: sqlite3.Connection, sql: str, values: Sequence[Any]) -> sqlite3.Cursor:
    """`db.execute`, its errors raised as SQLAlchemy raises them (IntegrityError...),
    without the values."""
    try:
        return db.execute(sql, values)
    except sqlite3.Error as exc:
        raise _as_sqlalchemy_error(sql, exc) from exc


def _as_sqlalchemy_error(sql: str, exc: sqlite3.Error) -> StatementError:
    # What SQLAlchemy would raise (IntegrityError...), without the statement's values.
    return DBAPIError.instance(sql, None, exc, sqlite3.Error, hide_parameters=True)


def _on_aiosqlite(conn: AsyncConnection) -> bool:
    # The paths below speak to aiosqlite's connection and bind SQLite's `?` parameters.
    return conn.dialect.driver == "aiosqlite"


def _joined_update(
    sql: str, slots: list[_Slot]
) -> tuple[str, tuple[Any, ...], list[_Slot], tuple[Any, ...]]:
    """A one-row qmark UPDATE as the template of its joined form (`{}` for the VALUES
    rows), with the constants bound before and after the rows, and the row's slots."""
    found = _JOINED.get(sql)
    if found is None:
        parts = sql.split("?")
        if len(parts) != len(slots) + 1 or " WHERE " not in sql or " FROM " in sql:
            raise ValueError(f"not a one-row UPDATE with a WHERE clause: {sql}")
        row_slots = [slot for slot in slots if slot[0] is not None]
        # SQLite names a VALUES table's columns column1, column2, ...
        rowed = [index for index, slot in enumerate(slots) if slot[0] is not None]
        columns = {index: f"v.column{n}" for n, index in enumerate(rowed, 1)}
        text = parts[0]
        for index in range(len(slots)):
            text += columns.get(index, "?") + parts[index + 1]
        head, where = text.split(" WHERE ", 1)
        cut = head.count("?")
        constants = [slot[2] for slot in slots if slot[0] is None]
        found = _JOINED[sql] = (
            head.replace("{", "{{").replace("}", "}}")
            + " FROM (VALUES {}) AS v WHERE "
            + where.replace("{", "{{").replace("}", "}}"),
            tuple(constants[:cut]),
            row_slots,
            tuple(constants[cut:]),
        )
    return found


async def execute_many(
    conn: AsyncConnection, stmt: ClauseElement, rows: Sequence[Mapping[str, Any]]
) -> CursorResult[Any]:
    """Run `stmt` once for each of `rows` (dicts of its bound parameters) in one call."""
    sql, slots = _compiled(conn, stmt)
    return await conn.exec_driver_sql(sql, _tuples(slots, rows))


def _tuples(slots: list[_Slot], rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Each row's parameters in the compiled order, as the driver takes them."""
    return [
        tuple([
            constant if key is None
            else row[key] if process is None or row[key] is None
            else process(row[key])
            for key, process, constant in slots
        ])
        for row in rows
    ]  # fmt: skip


def _flat(slots: list[_Slot], rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """`_tuples` of `rows` as one list, the rows one after the other (a multi-row statement's)."""
    return [
        constant if key is None
        else row[key] if process is None or row[key] is None
        else process(row[key])
        for row in rows
        for key, process, constant in slots
    ]  # fmt: skip


def _compiled(conn: AsyncConnection, stmt: ClauseElement) -> tuple[str, list[_Slot]]:
    dialect = conn.dialect
    sync = conn.sync_connection
    translate = None if sync is None else sync.get_execution_options().get("schema_translate_map")
    # Statements are module constants (built once), so the object itself is the key.
    key = (stmt, dialect.name, dialect.driver, dialect.paramstyle, repr(translate))
    found = _COMPILED.get(key)
    if found is None:
        compiled = stmt.compile(
            dialect=dialect,
            schema_translate_map=translate,
            render_schema_translate=translate is not None,
        )
        assert isinstance(compiled, SQLCompiler)  # a DML statement's compiler
        names = compiled.positiontup
        if names is None:  # named parameters: no dialect a run store runs on
            raise TypeError(f"{dialect.name} takes named parameters, not positions")
        slots: list[_Slot] = []
        for name in names:
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.required:
                slots.append((bind.key, process, None))
            else:
                value = bind.effective_value
                slots.append((None, None, value if process is None else process(value)))
        found = _COMPILED[key] = (compiled.string, slots)
    return found
