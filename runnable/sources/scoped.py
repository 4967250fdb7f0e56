"""ScopedVariableSource: variables kept per user, org or project in SQL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

from sqlalchemy import Column, MetaData, String, Table, delete, insert, select

from runnable.sources.base import check_entity_id, json_copy
from runnable.sources.database import SqlBacked, SqlDatabase, SqlTarget, upsert
from runnable.sources.errors import InvalidEntityError, SourceBackendError
from runnable.sources.sqltypes import JsonDocument, UtcDateTime, utc_now

Scope = Literal["user", "org", "project"]
SCOPES: tuple[Scope, ...] = get_args(Scope)

SCOPED_METADATA = MetaData()
"""Metadata of the `user_variables`, `org_variables` and `project_variables` tables."""


def _scope_table(scope: Scope) -> Table:
    return Table(
        f"{scope}_variables",
        SCOPED_METADATA,
        Column(f"{scope}_id", String, primary_key=True),
        Column("name", String, primary_key=True),
        Column("value", JsonDocument, nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    )


SCOPE_TABLES: dict[Scope, Table] = {scope: _scope_table(scope) for scope in SCOPES}


class ScopedVariableSource(SqlBacked):
    """Variables of one scope kind, keyed by (scope id, name), e.g. a project's variables.

    `ScopedVariableSource(url, "project")` reads and writes `project_variables`; its
    `get_scope(project_id)` is the `scoped.project` layer of variable resolution.
    """

    def __init__(
        self,
        target: SqlTarget,
        scope: Scope,
        *,
        schema: str | None = None,
        create_tables: bool = True,
    ) -> None:
        if scope not in SCOPE_TABLES:
            raise InvalidEntityError(
                "ScopedVariableSource", None, f"scope {scope!r} is not one of {', '.join(SCOPES)}"
            )
        self.scope: Scope = scope
        self.table = SCOPE_TABLES[scope]
        self._key = self.table.c[f"{scope}_id"]
        self._db = SqlDatabase(target, [self.table], schema=schema, create_tables=create_tables)
        self._label = f"ScopedVariableSource({self.table.name} @ {self._db.label})"

    def __repr__(self) -> str:
        return self._label

    def _backend_error(self, reason: str, key: str | None) -> Exception:
        return SourceBackendError(self._label, key, reason)

    async def get_scope(self, scope_id: str) -> dict[str, Any]:
        """Return every variable of the scope as {name: value} ({} when it has none)."""
        scope_id = check_entity_id(self._label, scope_id)
        table = self.table
        stmt = select(table.c.name, table.c.value).where(self._key == scope_id)
        async with self._connection(scope_id) as conn:
            rows = (await conn.execute(stmt.order_by(table.c.name))).all()
        return {name: value for name, value in rows}

    async def set_variable(self, scope_id: str, name: str, value: Any) -> None:
        """Create or replace one variable of the scope."""
        row = self._row(check_entity_id(self._label, scope_id), name, value)
        changes = {"value": row["value"], "updated_at": row["updated_at"]}
        async with self._connection(scope_id) as conn:
            await upsert(conn, self.table, row, [self._key.name, "name"], changes)
            await conn.commit()

    async def set_scope(self, scope_id: str, variables: Mapping[str, Any]) -> None:
        """Replace all the scope's variables with `variables`, in one transaction."""
        scope_id = check_entity_id(self._label, scope_id)
        rows = [self._row(scope_id, name, value) for name, value in variables.items()]
        async with self._connection(scope_id) as conn:
            await conn.execute(delete(self.table).where(self._key == scope_id))
            if rows:
                await conn.execute(insert(self.table), rows)
            await conn.commit()

    async def delete_variable(self, scope_id: str, name: str) -> None:
        """Remove one variable of the scope if it exists."""
        scope_id = check_entity_id(self._label, scope_id)
        stmt = delete(self.table).where(self._key == scope_id, self.table.c.name == name)
        async with self._connection(scope_id) as conn:
            await conn.execute(stmt)
            await conn.commit()

    async def list_scopes(self) -> list[str]:
        """Return the ids of every scope that has at least one variable, sorted."""
        stmt = select(self._key).distinct().order_by(self._key)
        async with self._connection() as conn:
            return list((await conn.execute(stmt)).scalars())

    def _row(self, scope_id: str, name: object, value: Any) -> dict[str, Any]:
        if not isinstance(name, str) or not name:
            raise InvalidEntityError(
                self._label, scope_id, f"a variable name must be a non-empty str, got {name!r}"
            )
        now = utc_now()
        return {
            self._key.name: scope_id,
            "name": name,
            "value": json_copy(self._label, scope_id, value, f"variable {name!r}"),
            "created_at": now,
            "updated_at": now,
        }
