"""Molecules over real sources: in-memory, SQLite, PostgreSQL and a JSON REST server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from molecules import EntityLoadError, EntityNotFoundError, Store
from molecules.source_molecule import SourceMolecule, create_source_molecule
from runnable.http.serving import serve_in_thread
from runnable.sources import DeletableSource, HttpSource, InMemorySource, SqlSource
from tests.runnable.rest_server import EntityServerState, entity_app

PROMPT = {"name": "greeter", "messages": [{"role": "user", "content": "Hi {{name}}"}]}


@pytest.fixture(scope="module")
def rest_server() -> Iterator[str]:
    with serve_in_thread(entity_app(EntityServerState())) as base_url:
        yield base_url


@pytest.fixture(params=["memory", "sqlite", "postgresql", "http"])
async def source(request: pytest.FixtureRequest) -> AsyncIterator[DeletableSource]:
    kind = request.param
    made: Any
    if kind == "memory":
        made = InMemorySource(name="prompts")
    elif kind == "http":
        made = HttpSource(f"{request.getfixturevalue('rest_server')}/c{uuid.uuid4().hex}")
    else:
        db = request.getfixturevalue(f"{kind}_database")
        made = SqlSource(db.url, "prompts", schema=db.schema)
    try:
        yield made
    finally:
        if kind != "memory":
            await made.close()


async def test_an_entity_loads_from_the_source(source: DeletableSource) -> None:
    await source.save("p1", PROMPT)
    m = create_source_molecule("prompt", source)
    store = Store()
    assert await store.set(m.load, "p1") == {"id": "p1", **PROMPT}
    assert store.get(m.query("p1")).status == "success"


async def test_a_subscriber_sees_the_entity_arrive(source: DeletableSource) -> None:
    await source.save("p1", PROMPT)
    m = create_source_molecule("prompt", source)
    store = Store()
    arrived = asyncio.Event()
    store.sub(m.data("p1"), arrived.set)
    await asyncio.wait_for(arrived.wait(), 5)
    assert store.get(m.data("p1")) == {"id": "p1", **PROMPT}


async def test_a_missing_entity_is_an_error_query_naming_the_source(
    source: DeletableSource,
) -> None:
    m = create_source_molecule("prompt", source)
    store = Store()
    with pytest.raises(EntityNotFoundError):
        await store.set(m.load, "ghost")
    state = store.get(m.query("ghost"))
    assert state.status == "error"
    assert state.message is not None
    assert state.message.startswith("prompt 'ghost': not found in ")
    assert type(source).__name__ in state.message


async def test_a_saved_draft_is_in_the_source(source: DeletableSource) -> None:
    await source.save("p1", PROMPT)
    m = create_source_molecule("prompt", source)
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.update, "p1", {"name": "renamed"})
    await store.set(m.save, "p1")
    assert await source.get("p1") == {"id": "p1", **PROMPT, "name": "renamed"}
    assert await Store().set(m.load, "p1") == {"id": "p1", **PROMPT, "name": "renamed"}


async def test_a_created_entity_is_saved_under_its_new_id(source: DeletableSource) -> None:
    m = create_source_molecule("prompt", source)
    store = Store()
    new_id = store.set(m.create, PROMPT)
    await store.set(m.save, new_id)
    assert await source.get(new_id) == {"id": new_id, **PROMPT}


async def test_saving_a_deleted_entity_deletes_it_in_the_source(source: DeletableSource) -> None:
    await source.save("p1", PROMPT)
    m = create_source_molecule("prompt", source)
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.delete, "p1")
    await store.set(m.save, "p1")
    assert await source.get("p1") is None


async def test_load_all_puts_every_entity_of_the_source_in_the_store(
    source: DeletableSource,
) -> None:
    for n in range(3):
        await source.save(f"p{n}", {**PROMPT, "name": f"prompt {n}"})
    m: SourceMolecule[Any] = create_source_molecule("prompt", source)
    store = Store()
    assert sorted(await store.set(m.load_all)) == ["p0", "p1", "p2"]
    assert store.get(m.data("p2"))["name"] == "prompt 2"
    assert store.get(m.query("p0")).status == "success"


async def test_a_backend_failure_is_an_error_query_with_the_source_message() -> None:
    with serve_in_thread(entity_app(EntityServerState())) as base_url:
        source = HttpSource(f"{base_url}/broken/prompts")
        m = create_source_molecule("prompt", source)
        store = Store()
        with pytest.raises(EntityLoadError):
            await store.set(m.load, "p1")
        await source.close()
    message = store.get(m.query("p1")).message or ""
    assert message.startswith("prompt 'p1': fetch failed: SourceBackendError: ")
    assert "HTTP 500" in message
