"""Molecules over versioned sources: saves carry the version they were made on.

The issue's story, in one process with two stores: B's settings-only save must not
silently overwrite A's message edit.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from molecules import ConflictError, Store, create_molecule, follow_changes
from molecules.source_molecule import SourceMolecule, create_source_molecule
from runnable.http.serving import serve_in_thread
from runnable.sources import HttpSource, InMemorySource, SqlSource, Versioned, VersionedSource
from tests.runnable.rest_server import EntityServerState, entity_app

PROMPT = {"name": "greeter", "message": "Hi", "temperature": 0.1}


@pytest.fixture(scope="module")
def rest_server() -> Iterator[str]:
    with serve_in_thread(entity_app(EntityServerState())) as base_url:
        yield base_url


@pytest.fixture(params=["memory", "sqlite", "postgresql", "http"])
async def source(request: pytest.FixtureRequest) -> AsyncIterator[VersionedSource]:
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


async def two_stores(source: VersionedSource) -> tuple[SourceMolecule[Any], Store, Store]:
    await source.save("p1", PROMPT)
    m = create_source_molecule("prompt", source)
    a, b = Store(), Store()
    await a.set(m.load, "p1")
    await b.set(m.load, "p1")
    return m, a, b


async def test_the_server_version_follows_loads_and_saves(source: VersionedSource) -> None:
    m, a, _ = await two_stores(source)
    assert a.get(m.server_version("p1")) == 1
    a.set(m.update, "p1", {"message": "Hello"})
    await a.set(m.save, "p1")
    assert a.get(m.server_version("p1")) == 2
    a.set(m.update, "p1", {"message": "Hello again"})
    await a.set(m.save, "p1")  # its own newer version: no conflict with itself
    assert await source.get_versioned("p1") == Versioned(
        {"id": "p1", **PROMPT, "message": "Hello again"}, 3
    )


async def test_a_save_on_an_older_version_conflicts_keeps_the_draft_and_writes_nothing(
    source: VersionedSource,
) -> None:
    m, a, b = await two_stores(source)
    a.set(m.update, "p1", {"message": "Hello"})
    await a.set(m.save, "p1")
    b.set(m.update, "p1", {"temperature": 0.9})
    with pytest.raises(ConflictError, match="'p1'"):
        await b.set(m.save, "p1")
    assert b.get(m.draft("p1")) == {"temperature": 0.9}
    assert b.get(m.is_dirty("p1")) is True
    assert await source.get("p1") == {"id": "p1", **PROMPT, "message": "Hello"}


async def test_reloading_after_a_conflict_keeps_both_edits(source: VersionedSource) -> None:
    m, a, b = await two_stores(source)
    a.set(m.update, "p1", {"message": "Hello"})
    await a.set(m.save, "p1")
    b.set(m.update, "p1", {"temperature": 0.9})
    with pytest.raises(ConflictError):
        await b.set(m.save, "p1")
    await b.set(m.refresh, "p1")
    assert b.get(m.data("p1")) == {"id": "p1", **PROMPT, "message": "Hello", "temperature": 0.9}
    await b.set(m.save, "p1")
    assert await source.get_versioned("p1") == Versioned(
        {"id": "p1", **PROMPT, "message": "Hello", "temperature": 0.9}, 3
    )


async def test_load_all_records_each_version(source: VersionedSource) -> None:
    if isinstance(source, HttpSource):
        pytest.skip("a REST list carries no ETags")
    await source.save("p1", PROMPT)
    await source.save("p1", PROMPT, version=1)
    m = create_source_molecule("prompt", source)
    store = Store()
    assert await store.set(m.load_all) == ["p1"]
    assert store.get(m.server_version("p1")) == 2


class CountingSource(InMemorySource):
    """An in-memory source that counts its fetches."""

    fetches = 0

    async def get_versioned(self, id: str) -> Versioned | None:
        self.fetches += 1
        return await super().get_versioned(id)


async def test_a_change_to_an_entity_the_store_never_loaded_fetches_nothing() -> None:
    source = CountingSource({"p1": PROMPT})
    m = create_source_molecule("prompt", source)
    store = Store()
    store.set(m.server_changed, "p1", 2)
    assert source.fetches == 0


async def test_a_change_to_the_version_already_held_fetches_nothing() -> None:
    source = CountingSource({"p1": PROMPT})
    m = create_source_molecule("prompt", source)
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.server_changed, "p1", 1)
    assert source.fetches == 1


async def test_a_change_to_a_newer_version_refreshes_and_keeps_the_draft() -> None:
    source = CountingSource({"p1": PROMPT})
    m = create_source_molecule("prompt", source)
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.update, "p1", {"temperature": 0.9})
    new_version = await source.save("p1", {**PROMPT, "message": "Hello"}, version=1)
    store.set(m.server_changed, "p1", new_version)
    await store.set(m.load, "p1")  # waits for the refresh in flight
    assert store.get(m.server_version("p1")) == 2
    assert store.get(m.data("p1")) == {"id": "p1", **PROMPT, "message": "Hello", "temperature": 0.9}


async def test_a_molecule_over_plain_fetch_and_save_passes_no_version() -> None:
    saved: list[tuple[str, dict[str, Any]]] = []
    m = create_molecule("prompt", lambda key: dict(PROMPT), save=lambda k, d: saved.append((k, d)))
    store = Store()
    store.set(m.load, "p1")
    store.set(m.update, "p1", {"message": "Hello"})
    await store.set(m.save, "p1")
    assert saved == [("p1", {**PROMPT, "message": "Hello"})]
    assert store.get(m.server_version("p1")) is None


async def test_following_a_source_without_a_change_feed_is_refused() -> None:
    m = create_source_molecule("prompt", InMemorySource())
    with pytest.raises(TypeError, match="announces no changes"):
        async with follow_changes(Store(), m):
            pass


async def test_following_sqlite_is_refused_naming_postgresql(tmp_path: Any) -> None:
    source = SqlSource(tmp_path / "db.sqlite")
    try:
        with pytest.raises(TypeError, match="PostgreSQL"):
            async with follow_changes(Store(), create_source_molecule("prompt", source)):
                pass
    finally:
        await source.close()


async def test_refreshing_what_is_loaded_fetches_only_the_entities_this_store_holds() -> None:
    source = CountingSource({"p1": PROMPT, "p2": PROMPT})
    m = create_source_molecule("prompt", source)
    other = Store()
    await other.set(m.load, "p2")  # loaded elsewhere: not this store's business
    store = Store()
    await store.set(m.load, "p1")
    await source.save("p1", {**PROMPT, "message": "missed"}, version=1)
    fetched = source.fetches
    store.set(m.refresh_loaded)
    await store.set(m.load, "p1")
    assert source.fetches == fetched + 1
    assert store.get(m.data("p1")) == {"id": "p1", **PROMPT, "message": "missed"}
