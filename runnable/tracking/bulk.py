"""Statements run for many rows at once, each row handed to the driver as a tuple.

SQLAlchemy's general `executemany` path matches parameter names and looks up bind
processors for every value of every row, as much work again as the database's own for a
run store's small rows, and a dataset writes thousands of them. Here a statement is
compiled once per dialect and schema; each row becomes a tuple in the compiled order,
each value through its own column type's bind processor only (the same processors
SQLAlchemy would apply), and the constants the statement carries (its status guard) are
filled in from the compiled statement.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import CursorResult, Insert, Select, Update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

# Where a compiled parameter's value comes from: the row's key (and the processor its
# type has, if any), or a constant of the statement, already processed.
_Slot = tuple[str | None, Callable[[Any], Any] | None, Any]
_COMPILED: dict[tuple[Any, ...], tuple[str, list[_Slot]]] = {}
_JOINED: dict[str, tuple[str, tuple[Any, ...], list[_Slot], tuple[Any, ...]]] = {}


# SQLite binds at most this many parameters in one statement (its default limit).
_SQLITE_MAX_PARAMETERS = 32766
_MAX_ROWS_PER_INSERT = 500


async def insert_many(
    conn: AsyncConnection, stmt: Insert, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert `rows` with `stmt` (an INSERT of one row's parameters).

    On SQLite, as one multi-row INSERT per chunk: sqlite3's executemany lets go of the
    interpreter lock around every row and takes it back, and each hand-over with the
    event loop's thread costs context switches (about twenty a dataset row, measured);
    one statement of many rows is one hand-over. Elsewhere, `execute_many`.
    """
    if not _on_aiosqlite(conn):
        await execute_many(conn, stmt, rows)
        return
    sql, slots = _compiled(conn, stmt)
    head, values = sql.rsplit(" VALUES ", 1)
    for count, flat in _flat_chunks(slots, rows, len(slots)):
        await _sqlite_execute(conn, f"{head} VALUES {', '.join([values] * count)}", flat)


async def update_many(
    conn: AsyncConnection, stmt: Update, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Run `stmt` (an UPDATE of one row's parameters) for each of `rows`; rows changed.

    On SQLite, as one `UPDATE ... FROM (VALUES ...)` per chunk, whose every row parameter
    is read from the VALUES row joined on the WHERE clause (for the reason of
    `insert_many`). Elsewhere, `execute_many`.
    """
    if not _on_aiosqlite(conn):
        return (await execute_many(conn, stmt, rows)).rowcount
    sql, slots = _compiled(conn, stmt)
    template, before, row_slots, after = _joined_update(sql, slots)
    placeholders = "(" + ", ".join(["?"] * len(row_slots)) + ")"
    changed = 0
    for count, flat in _flat_chunks(row_slots, rows, len(slots)):
        values = ", ".join([placeholders] * count)
        changed += await _sqlite_execute(conn, template.format(values), [*before, *flat, *after])
    return changed


def _flat_chunks(
    slots: list[_Slot], rows: Sequence[Mapping[str, Any]], per_row: int
) -> Iterator[tuple[int, list[Any]]]:
    """The rows in chunks one SQLite statement can bind (`per_row` parameters a row, at
    most `_MAX_ROWS_PER_INSERT` rows): each chunk's row count and its values in order."""
    size = max(1, min(_MAX_ROWS_PER_INSERT, _SQLITE_MAX_PARAMETERS // per_row))
    for start in range(0, len(rows), size):
        chunk = _tuples(slots, rows[start : start + size])
        yield len(chunk), [value for row in chunk for value in row]


async def fetch_rows(
    conn: AsyncConnection, stmt: Select[Any], params: Mapping[str, Any]
) -> list[Any]:
    """The rows `stmt` (a SELECT of `params`) returns; on SQLite in one call to its thread."""
    if not _on_aiosqlite(conn):
        return list(await conn.execute(stmt, params))
    sql, slots = _compiled(conn, stmt)
    (values,) = _tuples(slots, [params])
    return list(await _on_driver(conn, "execute_fetchall", sql, values))


# SQLAlchemy's aiosqlite cursor takes three or four calls to the database's thread a
# statement (make the cursor, execute, fetch, close), each a hand-over of the interpreter
# lock with the event loop's thread; the driver connection takes one. Same connection,
# same transaction: SQLAlchemy's commit or rollback ends these statements too.
async def _sqlite_execute(conn: AsyncConnection, sql: str, values: Sequence[Any]) -> int:
    return int((await _on_driver(conn, "execute", sql, values)).rowcount)


async def _on_driver(conn: AsyncConnection, method: str, sql: str, values: Sequence[Any]) -> Any:
    """Call the aiosqlite connection's `method`; its errors raised as SQLAlchemy raises
    them (IntegrityError...), without the values."""
    if not conn.in_transaction():
        await conn.begin()  # else SQLAlchemy's commit, seeing no transaction, would skip it
    driver = (await conn.get_raw_connection()).driver_connection
    try:
        return await getattr(driver, method)(sql, values)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, None, exc, sqlite3.Error, hide_parameters=True) from exc


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
