"""SqlDatabase: one async engine and the tables it owns, for SQL sources and the run store.

A target is a SQLAlchemy URL, a plain file path (a SQLite file), or an `AsyncEngine` that
the caller owns. Drivers are filled in (`sqlite` -> aiosqlite, `postgresql` -> asyncpg) so
users can write the URL they know. Errors are described without the connection password.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Table, event, insert, inspect, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.schema import CreateSchema

SqlTarget = str | URL | os.PathLike[str] | AsyncEngine

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
_MAX_ERROR_CHARS = 500


def database_url(target: str | URL | os.PathLike[str]) -> URL:
    """Return the async SQLAlchemy URL for `target` (a URL, or a path to a SQLite file)."""
    if target == ":memory:":
        return URL.create("sqlite+aiosqlite", database=":memory:")
    if isinstance(target, os.PathLike) or (isinstance(target, str) and "://" not in target):
        path = Path(os.fspath(target)).expanduser()
        if not path.name:
            raise ValueError(f"{target!r} is neither a database URL nor a SQLite file path")
        return URL.create("sqlite+aiosqlite", database=str(path.resolve()))
    url = make_url(target)
    return url.set(drivername=_ASYNC_DRIVERS.get(url.drivername, url.drivername))


def _sqlite_tuner(durable: bool) -> Callable[[Any, Any], None]:
    # WAL lets readers run beside the one writer. busy_timeout waits for the writer instead
    # of failing at once with "database is locked". synchronous=NORMAL skips the fsync per
    # commit: committed rows survive a killed process, only a power cut may lose the last.
    synchronous = "FULL" if durable else "NORMAL"

    def tune(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return tune


def _make_engine(url: URL, durable: bool) -> AsyncEngine:
    # The rows' values stay out of SQLAlchemy's errors and logs: records may hold what a
    # user typed, and nothing of a record belongs in a log line.
    options: dict[str, Any] = {"hide_parameters": True}
    if not durable and url.get_driver_name() == "asyncpg":
        # The same trade as SQLite's NORMAL: commits return before the WAL is flushed, so a
        # crash of the server (never of this process) may lose the last fraction of a second.
        options["connect_args"] = {"server_settings": {"synchronous_commit": "off"}}
    engine = create_async_engine(url, **options)
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_tuner(durable))
    return engine


class SqlDatabase:
    """One engine (made from a URL, or borrowed) and the tables it creates on first use.

    `durable=False` lets commits skip the disk flush (SQLite synchronous=NORMAL, PostgreSQL
    synchronous_commit=off) when this object makes the engine; a borrowed engine is as is.
    """

    __slots__ = ("_created", "_lock", "_owned", "_password", "_tables", "engine", "label")

    def __init__(
        self,
        target: SqlTarget,
        tables: Sequence[Table],
        *,
        schema: str | None = None,
        create_tables: bool = True,
        durable: bool = True,
    ) -> None:
        if isinstance(target, AsyncEngine):
            engine, self._owned = target, False
        else:
            engine, self._owned = _make_engine(database_url(target), durable), True
        if schema is not None:
            # Unqualified tables land in `schema`: one code path for every dialect.
            engine = engine.execution_options(schema_translate_map={None: schema})
        self.engine: AsyncEngine = engine
        self.label: str = engine.url.render_as_string(hide_password=True)
        self._password = engine.url.password
        self._tables = tuple(tables)
        self._created = not create_tables
        self._lock = asyncio.Lock()

    @property
    def schema(self) -> str | None:
        """The schema the tables live in, or None for the connection's default."""
        translate = self.engine.get_execution_options().get("schema_translate_map") or {}
        schema: str | None = translate.get(None)
        return schema

    async def ready(self) -> AsyncEngine:
        """Return the engine, creating the tables first if this is the first use."""
        if not self._created:
            await self.create_tables()
        return self.engine

    async def create_tables(self) -> None:
        """Create the schema (PostgreSQL) and any missing table; safe to call again."""
        async with self._lock:
            if self._created:
                return
            url = self.engine.url
            if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            async with self.engine.begin() as conn:
                schema = self.schema
                if schema is not None and conn.dialect.name == "postgresql":
                    await conn.execute(CreateSchema(schema, if_not_exists=True))
                metadata = self._tables[0].metadata
                await conn.run_sync(metadata.create_all, tables=list(self._tables))
                await conn.run_sync(_add_missing_columns, list(self._tables), schema)
            self._created = True

    def describe(self, exc: BaseException) -> str:
        """Describe a database failure in one line, without the connection password."""
        cause = getattr(exc, "orig", None) or exc
        text = f"{type(cause).__name__}: {cause}".strip().splitlines()[0]
        if self._password:
            text = text.replace(self._password, "***")
        return text[:_MAX_ERROR_CHARS]

    async def dispose(self) -> None:
        """Close the engine's connections if this object made the engine."""
        if self._owned:
            await self.engine.dispose()


async def upsert(
    conn: AsyncConnection,
    table: Table,
    values: Mapping[str, Any],
    keys: Sequence[str],
    changes: Mapping[str, Any],
) -> None:
    """Insert `values`, or apply `changes` to the row whose `keys` columns match."""
    if conn.dialect.name in ("sqlite", "postgresql"):
        dialect_insert = sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert
        stmt = dialect_insert(table).values(dict(values))
        index = [table.c[key] for key in keys]
        await conn.execute(stmt.on_conflict_do_update(index_elements=index, set_=dict(changes)))
        return
    # Other dialects: update first, insert when nothing matched.
    match = [table.c[key] == values[key] for key in keys]
    result = await conn.execute(update(table).where(*match).values(dict(changes)))
    if result.rowcount == 0:
        await conn.execute(insert(table).values(dict(values)))


class SqlBacked:
    """Lifecycle shared by every object that owns a SqlDatabase: init, close, `async with`.

    Subclasses set `_db` and say which error a backend failure becomes.
    """

    _db: SqlDatabase

    @property
    def engine(self) -> AsyncEngine:
        """The engine this object writes through (schema translation applied)."""
        return self._db.engine

    def _backend_error(self, reason: str, key: str | None) -> Exception:
        """Return the error to raise when the database fails while handling `key`."""
        raise NotImplementedError

    @asynccontextmanager
    async def _connection(self, key: str | None = None) -> AsyncIterator[AsyncConnection]:
        """Yield a connection (tables ready); database failures become `_backend_error`."""
        try:
            engine = await self._db.ready()
            async with engine.connect() as conn:
                yield conn
        except (SQLAlchemyError, OSError) as exc:
            raise self._backend_error(self._db.describe(exc), key) from exc

    async def init(self) -> None:
        """Create the tables if they are missing (otherwise done on first use)."""
        async with self._connection():
            pass

    async def close(self) -> None:
        """Release the engine if this object made it."""
        await self._db.dispose()

    async def __aenter__(self) -> Self:
        await self.init()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _add_missing_columns(conn: Connection, tables: list[Table], schema: str | None) -> None:
    """Add the columns a newer release gave a table to one an older release created.

    Only columns that may be added in place are (nullable, or with a server default):
    a file made by an earlier version keeps working, its rows untouched.
    """
    inspector = inspect(conn)
    preparer = conn.dialect.identifier_preparer
    for table in tables:
        where = table.schema or schema
        present = {c["name"] for c in inspector.get_columns(table.name, schema=where)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable and column.server_default is None:
                continue  # cannot be added to rows that exist; create_all's table has it
            kind = column.type.compile(dialect=conn.dialect)
            default = ""
            if column.server_default is not None:
                default = f" DEFAULT {column.server_default.arg}"  # type: ignore[attr-defined]
                if not column.nullable:
                    default += " NOT NULL"
            name = preparer.quote(table.name)
            if where is not None:
                name = f"{preparer.quote_schema(where)}.{name}"
            conn.execute(
                text(f"ALTER TABLE {name} ADD COLUMN {preparer.quote(column.name)} {kind}{default}")
            )
