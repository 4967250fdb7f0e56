"""SqlSource: entities as JSON documents in a SQL table (SQLAlchemy 2 async)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, delete, select

from runnable.sources.base import EntityData, check_entity_id, entity_document
from runnable.sources.database import SqlBacked, SqlDatabase, SqlTarget, upsert
from runnable.sources.errors import InvalidEntityError, SourceBackendError
from runnable.sources.sqltypes import JsonDocument, UtcDateTime, utc_now

ENTITY_METADATA = MetaData()
"""Metadata of every entity table (for migrations: `ENTITY_METADATA.create_all`)."""

ENTITY_TABLES = ("prompts", "prompt_builtins", "prompt_actions")
"""The entity tables the project ships; SqlSource accepts any other valid table name too."""

_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def entity_table(name: str) -> Table:
    """Return the table `name` (id, name, data JSON, created_at, updated_at), defining it once."""
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
        Column("created_at", UtcDateTime, nullable=False, index=True),
        Column("updated_at", UtcDateTime, nullable=False),
    )


for _name in ENTITY_TABLES:
    entity_table(_name)


class SqlSource(SqlBacked):
    """A `Source` over one SQL table; `id` is the key and `data` the whole JSON document.

    `SqlSource("sqlite:///app.db", "prompts")` or `SqlSource(engine, "prompt_actions")`.
    The table is created on first use unless `create_tables=False` (tables you migrate).
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
        entity_id = check_entity_id(self._label, id)
        stmt = select(self.table.c.data).where(self.table.c.id == entity_id)
        async with self._connection(entity_id) as conn:
            data = (await conn.execute(stmt)).scalar_one_or_none()
        return None if data is None else {**data, "id": entity_id}

    async def save(self, id: str, data: Mapping[str, Any]) -> None:
        """Insert or replace the entity (it keeps its `created_at`)."""
        document = entity_document(self._label, id, data)
        name = document.get("name")
        now = utc_now()
        changes: dict[str, Any] = {
            "name": name if isinstance(name, str) else None,
            "data": document,
            "updated_at": now,
        }
        values = {"id": document["id"], "created_at": now, **changes}
        async with self._connection(document["id"]) as conn:
            await upsert(conn, self.table, values, ["id"], changes)
            await conn.commit()

    async def list(self) -> list[EntityData]:
        """Return every entity, oldest first."""
        table = self.table
        stmt = select(table.c.id, table.c.data).order_by(table.c.created_at, table.c.id)
        async with self._connection() as conn:
            rows = (await conn.execute(stmt)).all()
        return [{**data, "id": entity_id} for entity_id, data in rows]

    async def delete(self, id: str) -> None:
        """Remove the entity if it exists."""
        entity_id = check_entity_id(self._label, id)
        async with self._connection(entity_id) as conn:
            await conn.execute(delete(self.table).where(self.table.c.id == entity_id))
            await conn.commit()
