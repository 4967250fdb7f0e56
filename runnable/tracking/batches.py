"""Folding a batch of run-store writes into as few statements as possible.

The SQL half of the write queue (`runnable.tracking.writes` decides when a batch is
committed; this module what it sends). Within a batch, writes to the same record are
folded into one row (a task added and finished in the same batch is one INSERT), every
statement shape is sent once as an `executemany`, and the result each caller would have
had from writing alone (True, False when the record had ended, not found) is worked out
from the statuses read at the start of the batch. The guard that keeps a terminal status
final stays in every UPDATE's WHERE clause, so it holds against other processes too.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, Literal

import attrs
from sqlalchemy import Table, Text, Update, bindparam, column, func, insert, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from runnable.redaction import to_record_json_text
from runnable.tracking.bulk import Op, Plan, run_plan
from runnable.tracking.errors import RunNotFoundError, TaskNotFoundError
from runnable.tracking.models import TERMINAL_STATUSES
from runnable.tracking.statements import APPEND_PARTIAL, is_open
from runnable.tracking.tables import ai_runs, ai_tasks

WriteKind = Literal["insert", "update", "append", "finish", "reopen"]


class Write(asyncio.Future[bool]):
    """One queued write, and the future of its outcome (one object, not two: a busy store
    holds thousands of them, and each is one more for the garbage collector to count).

    `values` is a full row (insert), column values (update, finish, reopen), or {"text",
    "ttft", "now"} (append); `totals` is a finish's (stats, latency_ms); `row` the row a
    reopen inserts when there is nothing to reopen. Its result: True once committed,
    False when its record had ended, or the exception that kept it out.
    """

    __slots__ = ("behind", "id", "kind", "on_failure", "row", "table", "totals", "values")

    def __init__(
        self,
        kind: WriteKind,
        table: Table,
        id: str,
        values: dict[str, Any],
        totals: tuple[dict[str, Any], float | None] | None = None,
        row: dict[str, Any] | None = None,
        behind: bool = False,
        *,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(loop=loop)
        self.kind = kind
        self.table = table
        self.id = id
        self.values = values
        self.totals = totals
        self.row = row
        self.behind = behind
        self.on_failure: Callable[[BaseException], None] | None = None  # told if it fails


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


@attrs.define(slots=True, eq=False)
class _Inserted:
    """The rows a batch inserts, by table, and where each record's row is in them.

    A row is the queued write's own dict until a later write of the batch changes it
    (then a copy: a batch that fails is folded again, one write at a time), and such a
    record gets its `_Record` only then: most rows of a batch are inserted untouched.
    """

    rows: dict[str, list[dict[str, Any]]] = attrs.field(
        factory=lambda: {"ai_runs": [], "ai_tasks": []}
    )
    at: dict[tuple[str, str], int] = attrs.field(factory=dict)

    def add(self, key: tuple[str, str], row: dict[str, Any]) -> None:
        rows = self.rows[key[0]]
        self.at[key] = len(rows)
        rows.append(row)

    def record(self, key: tuple[str, str]) -> _Record | None:
        """The `_Record` of a row this batch inserts (its row copied), None if it inserts none."""
        at = self.at.pop(key, None)
        if at is None:
            return None
        rows = self.rows[key[0]]
        row = rows[at] = dict(rows[at])
        return _Record(row["status"], row=row)


class RacedWriteError(Exception):
    """Another process ended a record between this batch's read and its write."""


async def apply_batch(conn: AsyncConnection, batch: list[Write]) -> list[bool | BaseException]:
    """Fold `batch` into as few statements as possible and run them; each write's outcome.

    The outcomes rest on the statuses read first. PostgreSQL locks those rows until the
    commit (FOR UPDATE); on SQLite the counts of changed rows are checked instead, and a
    difference (another process wrote in between) raises `RacedWriteError`, or for a batch of one
    write makes its outcome False (its guarded UPDATE changed nothing). The statements
    are a plan (`runnable.tracking.bulk.run_plan`): on SQLite one call to its thread,
    which commits too; the caller commits after it (`await conn.commit()`) all the same.
    """
    return await run_plan(conn, _plan(batch, conn.dialect), commit=True)


def _plan(batch: list[Write], dialect: Dialect) -> Plan[list[bool | BaseException]]:
    records = yield from _statuses(batch, dialect.name == "sqlite")
    inserted = _Inserted()
    outcomes = [_fold(write, records, inserted) for write in batch]
    for table in (ai_runs, ai_tasks):
        if inserted.rows[table.name]:
            yield Op("insert", _INSERT[table.name], inserted.rows[table.name])
    changed = expected = 0
    for key, record in records.items():
        if record.reopen is not None:  # at most one: a reopen starts its batch
            stmt = update(_TABLES[key[0]]).where(_TABLES[key[0]].c.id == key[1])
            changed += (yield Op("execute", stmt.values(record.reopen), None)).rowcount
            expected += 1
    appends = [
        {"p_id": key[1], "p_text": "".join(r.text), "p_ttft": r.ttft, "p_now": r.appended_at}
        for key, r in records.items()
        if r.text
    ]
    expected += len(appends)
    if appends:
        changed += yield Op("update", APPEND_PARTIAL, appends)
    changes, count = yield from _update(ai_tasks, records)
    changed, expected = changed + changes, expected + count
    finishing = {key[1]: r for key, r in records.items() if r.totals is not None}
    if finishing:
        yield from _add_totals(finishing)
    changes, count = yield from _update(ai_runs, records)
    changed, expected = changed + changes, expected + count
    if dialect.supports_sane_multi_rowcount and changed != expected:
        if len(batch) > 1:
            raise RacedWriteError()
        return [False]
    return outcomes


def _statuses(batch: list[Write], sqlite: bool) -> Plan[dict[tuple[str, str], _Record]]:
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
        if not ids:
            continue
        if sqlite:
            ids_json = json.dumps(sorted(ids))
            found = yield Op("fetch", _STATUS_ONE_ROW[table.name], {"ids": ids_json})
            rows = json.loads(found[0][0] or "{}").items()
        else:
            rows = yield Op("fetch", _STATUS[table.name], {"ids": sorted(ids)})
        for record_id, status in rows:
            records[(table.name, record_id)] = _Record(status)
    return records


def _fold(
    write: Write, records: dict[tuple[str, str], _Record], inserted: _Inserted
) -> bool | BaseException:
    """Apply `write` to what the batch knows; the outcome its caller gets."""
    key = (write.table.name, write.id)
    values = write.values
    if write.kind == "insert":
        records.pop(key, None)  # what was read of it before (it cannot be inserted, then)
        inserted.add(key, values)
        return True
    record = records.get(key)
    if record is None:
        record = inserted.record(key)
        if record is not None:
            records[key] = record
    if write.kind == "reopen":
        if record is None and write.row is not None:  # nothing to reopen: its row instead
            inserted.add(key, write.row)
            return True
        if record is not None:
            record.status = values["status"]
            record.reopen = values
            return True
    if record is None:
        return RunNotFoundError(write.id) if write.table is ai_runs else TaskNotFoundError(write.id)
    if record.status in TERMINAL_STATUSES:
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


_COUNTED = frozenset({"tasks", "tokens_in", "tokens_out", "cost"})


def _add_totals(finishing: dict[str, _Record]) -> Plan[None]:
    """Put each finishing run's stats (its tasks' count, tokens and cost) in its changes.

    The tasks are counted in the database unless the caller's stats, which win, already
    give all four (the runner's recorder counts them from the events it writes).
    """
    uncounted = [
        run_id
        for run_id, record in finishing.items()
        if record.totals is not None and not record.totals[0].keys() >= _COUNTED
    ]
    counted = (yield Op("execute", _TOTALS, {"ids": uncounted})) if uncounted else ()
    found = {
        run_id: (tasks, tokens_in, tokens_out, cost)
        for run_id, tasks, tokens_in, tokens_out, cost in counted
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
        record.changes["stats"] = to_record_json_text(summary)


def _update(table: Table, records: dict[tuple[str, str], _Record]) -> Plan[tuple[int, int]]:
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
    changed: int = yield Op("update", _update_statement(table, columns), rows)
    return changed, len(rows)


_UPDATES: dict[tuple[str, tuple[str, ...]], Update] = {}


def _update_statement(table: Table, columns: tuple[str, ...]) -> Update:
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
_INSERT = {table.name: insert(table) for table in (ai_runs, ai_tasks)}
# Locked in id order (PostgreSQL; SQLite ignores FOR UPDATE), so two processes'
# batches never wait on each other in a cycle.
_STATUS = {
    table.name: select(table.c.id, table.c.status)
    .where(table.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(table.c.id)
    .with_for_update()
    for table in (ai_runs, ai_tasks)
}
# SQLite's statuses as one row of JSON: sqlite3 lets go of the interpreter lock around
# every row it steps to, and each hand-over with the event loop's thread costs context
# switches (about three a dataset row, measured with getrusage); one row is one hand-over.
# An object of id -> status, which reads back as one dict (not a list a record). The ids
# go as one JSON array (`json_each`), so the statement is the same whatever their number
# and is compiled once.
_STATUS_ONE_ROW = {
    table.name: select(func.json_group_object(table.c.id, table.c.status)).where(
        table.c.id.in_(
            select(column("value")).select_from(func.json_each(bindparam("ids", type_=Text)))
        )
    )
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
