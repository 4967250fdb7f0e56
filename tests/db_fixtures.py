"""Database fixtures: one test body runs on a SQLite file and on the local PostgreSQL.

`database` is parametrised over both; each test gets a fresh SQLite file or a fresh
PostgreSQL schema (made here, dropped after), so tests never see each other's rows and
tables are created by the code under test. Point TEST_POSTGRES_URL elsewhere if needed;
when PostgreSQL cannot be reached its half of the tests is skipped, saying why.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import asyncpg
import attrs
import pytest
from sqlalchemy.engine import make_url

from runnable.tracking import RunStore

__all__ = ["Database", "database", "postgresql_database", "run_store", "sqlite_database"]

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


@attrs.frozen
class Database:
    """Where a test's tables go: a URL, plus a schema of its own on PostgreSQL."""

    dialect: Literal["sqlite", "postgresql"]
    url: str
    schema: str | None = None


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Database:
    """A fresh SQLite file in the test's temporary directory."""
    return Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite'}")


def _run_apart(coro: Coroutine[Any, Any, None]) -> None:
    # Its own thread and loop: a plain fixture may be set up from inside a running loop
    # (an async fixture's getfixturevalue), where the test's loop cannot be re-entered.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


async def _execute(sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def postgresql_database() -> Iterator[Database]:
    """A fresh schema in the local PostgreSQL, dropped with everything in it afterwards."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    try:
        _run_apart(_execute(f'CREATE SCHEMA "{schema}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    try:
        yield Database("postgresql", POSTGRES_URL, schema)
    finally:
        _run_apart(_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Database:
    """The same test on a SQLite file and on a PostgreSQL schema."""
    db: Database = request.getfixturevalue(f"{request.param}_database")
    return db


@pytest.fixture
async def run_store(database: Database) -> AsyncIterator[RunStore]:
    """A RunStore with its tables created, on each database."""
    store = await RunStore.open(database.url, schema=database.schema)
    try:
        yield store
    finally:
        await store.close()
