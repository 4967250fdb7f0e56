"""SqlSource: entities as JSON documents in a SQL table (SQLAlchemy 2 async)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from runnable.errors import ConflictError
from runnable.sources.base import (
    EntityData,
    Versioned,
    check_entity_id,
    check_expected_version,
    entity_document,
)
from runnable.sources.changes import (
    CHANGE_CHANNEL,
    EntityChange,
    FeedConnection,
    OnChange,
    change_payload,
    read_change,
)
from runnable.sources.database import SqlBacked, SqlDatabase, SqlTarget, upsert
from runnable.sources.errors import InvalidEntityError, SourceBackendError
from runnable.sources.sqltypes import JsonDocument, UtcDateTime, utc_now

ENTITY_METADATA = MetaData()
"""Metadata of every entity table (for migrations: `ENTITY_METADATA.create_all`)."""

ENTITY_TABLES = ("prompts", "prompt_builtins", "prompt_actions")
"""The entity tables the project ships; SqlSource accepts any other valid table name too."""

_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

_log = logging.getLogger(__name__)


def entity_table(name: str) -> Table:
    """Return the table `name` (id, name, data JSON, version, created_at, updated_at), once."""
    if not isinstance(name, str) or not _TABLE_NAME.fullmatch(name):
        raise InvalidEntityError(
            "SqlSource", None, f"table name {name!r} must be a SQL identifier ([A-Za-z_][\\w]*)"
        )
    existing = ENTITY_METADATA.tables.get(name)
    if existing is not None:
        return existing
    return Table(
        name,
        ENTITY_METADATA,
        Column("id", String, primary_key=True),
        Column("name", String, nullable=True),
        Column("data", JsonDocument, nullable=False),
        # A default on the server too, so `ALTER TABLE ... ADD COLUMN` migrates old rows.
        Column("version", Integer, nullable=False, server_default="1"),
        Column("created_at", UtcDateTime, nullable=False, index=True),
        Column("updated_at", UtcDateTime, nullable=False),
    )


for _name in ENTITY_TABLES:
    entity_table(_name)


class SqlSource(SqlBacked):
    """A `Source` over one SQL table; `id` is the key and `data` the whole JSON document.

    `SqlSource("sqlite:///app.db", "prompts")` or `SqlSource(engine, "prompt_actions")`.
    The table is created on first use unless `create_tables=False` (tables you migrate).
    Saves are versioned (see `runnable.sources.base`); on PostgreSQL each committed write
    is announced to `listen`ers in every process (see `runnable.sources.changes`).
    """

    def __init__(
        self,
        target: SqlTarget,
        table: str = "prompts",
        *,
        schema: str | None = None,
        create_tables: bool = True,
    ) -> None:
        self.table = entity_table(table)
        self._db = SqlDatabase(target, [self.table], schema=schema, create_tables=create_tables)
        self._label = f"SqlSource({table} @ {self._db.label})"

    def __repr__(self) -> str:
        return self._label

    def _backend_error(self, reason: str, key: str | None) -> Exception:
        return SourceBackendError(self._label, key, reason)

    async def get(self, id: str) -> EntityData | None:
        """Return the entity's document, or None."""
        found = await self.get_versioned(id)
        return None if found is None else found.data

    async def get_versioned(self, id: str) -> Versioned | None:
        """Return the entity's document and version, or None."""
        entity_id = check_entity_id(self._label, id)
        table = self.table
        stmt = select(table.c.data, table.c.version).where(table.c.id == entity_id)
        async with self._connection(entity_id) as conn:
            row = (await conn.execute(stmt)).one_or_none()
        return None if row is None else Versioned({**row[0], "id": entity_id}, row[1])

    async def save(self, id: str, data: Mapping[str, Any], *, version: int | None = None) -> int:
        """Insert or replace the entity (it keeps its `created_at`); the new version.

        With `version`, the row is replaced only while it is still at `version`, in one
        statement, so of two concurrent saves on one version exactly one wins; the other
        raises ConflictError and writes nothing.
        """
        document = entity_document(self._label, id, data)
        entity_id = document["id"]
        expected = check_expected_version(self._label, entity_id, version)
        name = document.get("name")
        table = self.table
        changes: dict[str, Any] = {
            "name": name if isinstance(name, str) else None,
            "data": document,
            "updated_at": utc_now(),
        }
        async with self._connection(entity_id) as conn:
            if expected is None:
                values = {"id": entity_id, "created_at": changes["updated_at"], **changes}
                await upsert(
                    conn, table, values, ["id"], {**changes, "version": table.c.version + 1}
                )
            else:
                stmt = (
                    update(table)
                    .where(table.c.id == entity_id, table.c.version == expected)
                    .values(**changes, version=table.c.version + 1)
                )
                if (await conn.execute(stmt)).rowcount != 1:
                    current = await self._version_in(conn, entity_id)
                    await conn.rollback()
                    raise ConflictError(self._label, entity_id, expected, current)
            new_version = await self._version_in(conn, entity_id)
            assert new_version is not None  # written in this transaction
            await self._announce(conn, EntityChange(entity_id, new_version))
            await conn.commit()
        return new_version

    async def list_versioned(self) -> list[Versioned]:
        """Return every entity with its version, oldest first."""
        table = self.table
        stmt = select(table.c.id, table.c.data, table.c.version).order_by(
            table.c.created_at, table.c.id
        )
        async with self._connection() as conn:
            rows = (await conn.execute(stmt)).all()
        return [Versioned({**data, "id": entity_id}, v) for entity_id, data, v in rows]

    async def list(self) -> list[EntityData]:
        """Return every entity, oldest first."""
        return [found.data for found in await self.list_versioned()]

    async def delete(self, id: str) -> None:
        """Remove the entity if it exists."""
        entity_id = check_entity_id(self._label, id)
        async with self._connection(entity_id) as conn:
            result = await conn.execute(delete(self.table).where(self.table.c.id == entity_id))
            if result.rowcount:
                await self._announce(conn, EntityChange(entity_id, None))
            await conn.commit()

    @property
    def announces_changes(self) -> bool:
        """True on PostgreSQL, where writes are announced and `listen` works."""
        return self._db.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def listen(
        self, on_change: OnChange, *, on_gap: Callable[[], object] | None = None
    ) -> AsyncIterator[None]:
        """While entered, call `on_change(EntityChange)` for every write committed to this table.

        PostgreSQL only (LISTEN on one connection held meanwhile, in this event loop);
        other databases raise SourceBackendError. Writes from this process are heard too.
        A lost connection is opened again; `on_gap()` is then called, since writes made
        meanwhile were not heard.
        """
        if not self.announces_changes:
            dialect = self._db.engine.dialect.name
            raise SourceBackendError(
                self._label, None, f"a change feed needs PostgreSQL, not {dialect}"
            )
        schema, table = self._db.schema, self.table.name

        def deliver(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            change = read_change(payload, schema, table)
            if change is None:
                return
            try:
                on_change(change)
            except Exception:
                _log.exception("a change listener of %s failed", self._label)

        async def connect() -> AsyncConnection:
            return await (await self._db.ready()).connect()

        feed = FeedConnection(connect, deliver, self._label, on_gap=on_gap)
        try:
            await feed.open()
        except (SQLAlchemyError, OSError) as exc:
            raise SourceBackendError(self._label, None, self._db.describe(exc)) from exc
        # Failures of the caller's own code while listening pass through as they are.
        try:
            yield
        finally:
            await feed.close()

    async def _version_in(self, conn: AsyncConnection, entity_id: str) -> int | None:
        stmt = select(self.table.c.version).where(self.table.c.id == entity_id)
        version: int | None = (await conn.execute(stmt)).scalar_one_or_none()
        return version

    async def _announce(self, conn: AsyncConnection, change: EntityChange) -> None:
        # Sent at commit and dropped on rollback: listeners hear only what was written.
        if conn.dialect.name == "postgresql":
            payload = change_payload(self._db.schema, self.table.name, change)
            await conn.execute(select(func.pg_notify(CHANGE_CHANNEL, payload)))
