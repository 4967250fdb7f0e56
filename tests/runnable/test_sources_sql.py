"""SqlSource and ScopedVariableSource specifics, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from runnable.sources import (
    InvalidEntityError,
    ScopedVariableSource,
    SourceBackendError,
    SqlSource,
    entity_table,
)
from tests.db_fixtures import Database


def sql_source(database: Database, table: str = "prompts") -> SqlSource:
    return SqlSource(database.url, table, schema=database.schema)


def scoped_source(database: Database, scope: str) -> ScopedVariableSource:
    return ScopedVariableSource(database.url, scope, schema=database.schema)  # type: ignore[arg-type]


async def test_each_entity_table_keeps_its_own_entities(database: Database) -> None:
    prompts, builtins, actions = (
        sql_source(database, table) for table in ("prompts", "prompt_builtins", "prompt_actions")
    )
    try:
        await prompts.save("same-id", {"name": "a prompt"})
        await actions.save("same-id", {"name": "an action", "prompt_ref": "same-id"})
        assert await prompts.get("same-id") == {"id": "same-id", "name": "a prompt"}
        assert await builtins.get("same-id") is None
        assert (await actions.get("same-id") or {})["name"] == "an action"
    finally:
        for source in (prompts, builtins, actions):
            await source.close()


async def test_row_keeps_name_and_created_at_and_moves_updated_at(database: Database) -> None:
    source = sql_source(database)
    table = entity_table("prompts")
    stmt = select(table.c.name, table.c.created_at, table.c.updated_at)
    try:
        await source.save("p1", {"name": "first"})
        async with source.engine.connect() as conn:
            name, created, updated = (await conn.execute(stmt)).one()
        await source.save("p1", {"name": "second"})
        async with source.engine.connect() as conn:
            name2, created2, updated2 = (await conn.execute(stmt)).one()
    finally:
        await source.close()
    assert (name, name2) == ("first", "second")
    assert created2 == created
    assert updated2 > updated
    assert created.tzinfo is not None


async def test_a_borrowed_engine_stays_open_after_close(database: Database) -> None:
    engine = create_async_engine(database.url)
    try:
        source = SqlSource(engine, schema=database.schema)
        await source.save("p1", {"name": "x"})
        await source.close()
        again = SqlSource(engine, schema=database.schema)
        assert await again.get("p1") == {"id": "p1", "name": "x"}
    finally:
        await engine.dispose()


async def test_a_missing_table_without_create_tables_names_source_and_id(
    database: Database,
) -> None:
    source = SqlSource(database.url, "prompt_builtins", schema=database.schema, create_tables=False)
    try:
        with pytest.raises(SourceBackendError) as caught:
            await source.get("b1")
    finally:
        await source.close()
    assert caught.value.source.startswith("SqlSource(prompt_builtins @ ")
    assert caught.value.entity_id == "b1"
    assert "prompt_builtins" in str(caught.value)


async def test_unreachable_database_error_names_source_and_id_but_not_password() -> None:
    source = SqlSource("postgresql://app:s3cret-pw@127.0.0.1:1/test", "prompts")
    with pytest.raises(SourceBackendError) as caught:
        await source.get("p1")
    message = str(caught.value)
    assert "SqlSource(prompts @ postgresql+asyncpg://app:***@127.0.0.1:1/test)" in message
    assert "'p1'" in message
    assert "s3cret-pw" not in message
    await source.close()


async def test_a_plain_path_and_a_driverless_url_open_sqlite_files(tmp_path: Path) -> None:
    by_path = SqlSource(tmp_path / "nested" / "entities.sqlite")
    by_url = SqlSource(f"sqlite:///{tmp_path / 'nested' / 'entities.sqlite'}")
    try:
        await by_path.save("p1", {"name": "x"})
        assert await by_url.get("p1") == {"id": "p1", "name": "x"}
    finally:
        await by_path.close()
        await by_url.close()


async def test_memory_target_keeps_entities_for_the_source_s_life() -> None:
    async with SqlSource(":memory:", "prompt_actions") as source:
        await source.save("a1", {"prompt_ref": "p1"})
        assert await source.get("a1") == {"id": "a1", "prompt_ref": "p1"}
        assert source.engine.url.database == ":memory:"


@pytest.mark.parametrize("bad", ["prompts; drop table x", "1prompts", "", "a" * 64])
def test_a_table_name_that_is_not_an_identifier_is_refused(bad: str) -> None:
    with pytest.raises(InvalidEntityError, match="SQL identifier"):
        SqlSource("sqlite:///unused.sqlite", bad)


async def test_a_scope_without_variables_is_empty(database: Database) -> None:
    async with scoped_source(database, "project") as source:
        assert await source.get_scope("proj-1") == {}


async def test_variables_are_kept_per_scope_id(database: Database) -> None:
    async with scoped_source(database, "user") as source:
        await source.set_variable("u1", "tone", "friendly")
        await source.set_variable("u1", "limits", {"words": 100})
        await source.set_variable("u2", "tone", "formal")
        assert await source.get_scope("u1") == {"limits": {"words": 100}, "tone": "friendly"}
        assert await source.get_scope("u2") == {"tone": "formal"}


async def test_set_variable_replaces_the_value(database: Database) -> None:
    async with scoped_source(database, "org") as source:
        await source.set_variable("o1", "tone", "friendly")
        await source.set_variable("o1", "tone", None)
        assert await source.get_scope("o1") == {"tone": None}


async def test_scope_kinds_have_separate_tables(database: Database) -> None:
    async with scoped_source(database, "user") as users, scoped_source(database, "org") as orgs:
        await users.set_variable("x", "tone", "user tone")
        await orgs.set_variable("x", "tone", "org tone")
        assert await users.get_scope("x") == {"tone": "user tone"}
        assert await orgs.get_scope("x") == {"tone": "org tone"}
        assert users.table.name == "user_variables"
        assert orgs.table.name == "org_variables"


async def test_set_scope_replaces_every_variable_of_the_scope(database: Database) -> None:
    async with scoped_source(database, "project") as source:
        await source.set_scope("p1", {"a": 1, "b": 2})
        await source.set_scope("p1", {"b": 3, "c": [4]})
        await source.set_variable("p2", "a", "untouched")
        assert await source.get_scope("p1") == {"b": 3, "c": [4]}
        assert await source.get_scope("p2") == {"a": "untouched"}


async def test_delete_variable_and_list_scopes(database: Database) -> None:
    async with scoped_source(database, "project") as source:
        await source.set_scope("p2", {"a": 1})
        await source.set_scope("p1", {"a": 1, "b": 2})
        await source.delete_variable("p2", "a")
        await source.delete_variable("p1", "missing")
        assert await source.list_scopes() == ["p1"]
        assert await source.get_scope("p1") == {"a": 1, "b": 2}


async def test_a_variable_that_is_not_json_is_refused_naming_it(database: Database) -> None:
    async with scoped_source(database, "user") as source:
        with pytest.raises(InvalidEntityError, match=r"'u1'.*variable 'when'"):
            await source.set_variable("u1", "when", object())


def test_an_unknown_scope_is_refused() -> None:
    with pytest.raises(InvalidEntityError, match="scope 'team' is not one of user, org, project"):
        ScopedVariableSource("sqlite:///unused.sqlite", "team")  # type: ignore[arg-type]
