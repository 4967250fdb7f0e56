"""Tables an earlier release created gain the new columns on open; their rows are kept."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData, Table, insert
from sqlalchemy.ext.asyncio import create_async_engine

from runnable.sources import SqlSource
from runnable.sources.sql import entity_table
from runnable.tracking import RunStore
from runnable.tracking.tables import ai_runs, ai_tasks
from tests.db_fixtures import Database

# What this release added: a task names its runnable; an entity has a version.
ADDED = {"ai_tasks": {"runnable_ref"}, "prompts": {"version"}}


def _as_before(table: Table, metadata: MetaData, schema: str | None) -> Table:
    dropped = ADDED.get(table.name, set())
    columns = [c._copy() for c in table.columns if c.name not in dropped]
    return Table(table.name, metadata, *columns, schema=schema)


async def test_an_older_database_opens_with_the_new_columns_and_keeps_its_rows(
    database: Database,
) -> None:
    metadata = MetaData()
    old = [_as_before(t, metadata, database.schema) for t in (ai_runs, ai_tasks)]
    prompts = _as_before(entity_table("prompts"), metadata, database.schema)
    engine = create_async_engine(database.url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all, tables=[*old, prompts])
        now = datetime.now(UTC)
        row = {"id": "p1", "data": {"name": "kept"}, "created_at": now, "updated_at": now}
        await conn.execute(
            insert(prompts).values(**{k: v for k, v in row.items() if k in prompts.c})
        )
    await engine.dispose()

    store = await RunStore.open(database.url, schema=database.schema)
    run = await store.create_run(name="after the upgrade")
    task = await store.add_task(run.id, node_id="n", runnable_ref="prompt:p1")
    stored = await store.get_task(task.id)
    await store.close()
    assert stored is not None and stored.runnable_ref == "prompt:p1"

    source = SqlSource(database.url, "prompts", schema=database.schema)
    try:
        assert (await source.get("p1") or {}).get("name") == "kept"
        await source.save("p1", {"name": "saved"})
        assert (await source.get("p1") or {}).get("name") == "saved"
    finally:
        await source.close()
