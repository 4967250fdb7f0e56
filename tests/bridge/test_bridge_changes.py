"""A bridge's store follows its sources' change feeds (PostgreSQL) and reports conflicts."""

from __future__ import annotations

import asyncio

from bridge import ConflictError, create_default_bridge, follow_bridge_changes
from molecules import Store
from runnable.sources import SqlSource
from tests.db_fixtures import Database

PROMPT = {"name": "greeter", "messages": [{"role": "user", "content": "Hi {{name}}"}]}


async def test_a_bridge_store_refreshes_a_prompt_saved_elsewhere(
    postgresql_database: Database,
) -> None:
    db = postgresql_database
    source = SqlSource(db.url, "prompts", schema=db.schema)
    elsewhere = SqlSource(db.url, "prompts", schema=db.schema)
    bridge = create_default_bridge({"prompt": source})
    store = Store()
    try:
        await elsewhere.save("p1", PROMPT)
        await bridge.load("prompt:p1", store=store)
        async with follow_bridge_changes(bridge, store) as kinds:
            assert kinds == ["prompt"]
            changed = asyncio.Event()
            store.sub(bridge.selectors.data("prompt:p1"), changed.set)
            await elsewhere.save("p1", {**PROMPT, "name": "renamed"}, version=1)
            await asyncio.wait_for(changed.wait(), 1.0)
        data = store.get(bridge.selectors.data("prompt:p1"))
        assert data is not None and data.name == "renamed"
    finally:
        await source.close()
        await elsewhere.close()


async def test_a_bridge_over_in_memory_sources_follows_no_kind() -> None:
    async with follow_bridge_changes(create_default_bridge(), Store()) as kinds:
        assert kinds == []


def test_bridge_molecules_and_runnable_export_one_conflict_error() -> None:
    import molecules
    import runnable

    assert ConflictError is runnable.ConflictError is molecules.ConflictError
    assert issubclass(ConflictError, runnable.RunnableError)


async def test_every_store_of_a_function_of_stores_refreshes_even_one_made_later(
    postgresql_database: Database,
) -> None:
    db = postgresql_database
    source = SqlSource(db.url, "prompts", schema=db.schema)
    elsewhere = SqlSource(db.url, "prompts", schema=db.schema)
    bridge = create_default_bridge({"prompt": source})
    stores = [Store()]
    data = bridge.selectors.data("prompt:p1")
    try:
        await elsewhere.save("p1", PROMPT)
        await bridge.load("prompt:p1", store=stores[0])
        async with follow_bridge_changes(bridge, lambda: stores):
            stores.append(Store())  # a session made after the feed started
            await bridge.load("prompt:p1", store=stores[1])
            changed = [asyncio.Event(), asyncio.Event()]
            for store, event in zip(stores, changed, strict=True):
                store.sub(data, event.set)
            await elsewhere.save("p1", {**PROMPT, "name": "renamed"}, version=1)
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in changed)), 1.0)
        assert [store.get(data).name for store in stores] == ["renamed", "renamed"]
    finally:
        await source.close()
        await elsewhere.close()
