"""Two server workers over one PostgreSQL database: conflicts are 409s, saves reach watchers.

Each worker is its own app, bridge, store and SqlSource, served by uvicorn in its own
thread and event loop, as `uvicorn --workers 2` would run them. With the lifespan on,
the workers follow the change feed; with it off, a worker has not heard of the other's
save when it saves (the race the feed narrows but cannot close).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from bridge import create_default_bridge
from bridge.server import create_app
from molecules import Store
from runnable.http.serving import serve_in_thread
from runnable.sources import SqlSource
from tests.db_fixtures import Database

GREETER: dict[str, Any] = {
    "name": "greeter",
    "messages": [{"role": "user", "content": "Hi {{name}}"}],
    "settings": {"model": "gpt-4o-mini", "temperature": 0.1},
}


def worker_app(database: Database) -> Any:
    """One worker: its own source, bridge and store over the shared database."""
    source = SqlSource(database.url, "prompts", schema=database.schema)
    return create_app(create_default_bridge({"prompt": source}), Store(), ping=0)


@pytest.fixture(params=["on"])
def workers(
    postgresql_database: Database, request: pytest.FixtureRequest
) -> Iterator[tuple[str, str]]:
    lifespan = request.param
    with ExitStack() as stack:
        urls = [
            stack.enter_context(serve_in_thread(worker_app(postgresql_database), lifespan=lifespan))
            for _ in range(2)
        ]
        yield urls[0], urls[1]


@pytest.fixture
async def seeded(postgresql_database: Database) -> AsyncIterator[SqlSource]:
    source = SqlSource(postgresql_database.url, "prompts", schema=postgresql_database.schema)
    await source.save("p1", GREETER)
    try:
        yield source
    finally:
        await source.close()


@pytest.mark.parametrize("workers", ["off"], indirect=True)
async def test_a_save_on_an_older_version_answers_409_naming_both_versions(
    seeded: SqlSource, workers: tuple[str, str]
) -> None:
    a, b = workers
    async with httpx.AsyncClient(timeout=5) as http:
        assert (await http.get(f"{a}/runnables/prompt:p1")).status_code == 200
        assert (await http.get(f"{b}/runnables/prompt:p1")).status_code == 200
        messages = [{"role": "user", "content": "Hello {{name}}"}]
        await http.patch(f"{a}/runnables/prompt:p1", json={"messages": messages})
        assert (await http.post(f"{a}/runnables/prompt:p1/save")).status_code == 200
        settings = {**GREETER["settings"], "temperature": 0.9}
        await http.patch(f"{b}/runnables/prompt:p1", json={"settings": settings})
        refused = await http.post(f"{b}/runnables/prompt:p1/save")
        after = await http.get(f"{b}/runnables/prompt:p1")
    assert refused.status_code == 409
    body = refused.json()
    assert (body["entity_id"], body["expected_version"], body["current_version"]) == ("p1", 1, 2)
    assert "'p1'" in body["detail"]
    assert "SqlSource" not in body["detail"] and "127.0.0.1" not in body["detail"]
    stored = await seeded.get("p1")
    assert stored is not None  # B's save wrote nothing
    assert [m["content"] for m in stored["messages"]] == ["Hello {{name}}"]
    assert stored["settings"]["temperature"] == 0.1
    assert after.json()["is_dirty"] is True  # B keeps its draft


async def test_a_save_through_one_worker_reaches_a_watcher_of_the_other(
    seeded: SqlSource, workers: tuple[str, str]
) -> None:
    a, b = workers
    async with httpx.AsyncClient(timeout=5) as http:
        path = f"{b}/runnables/prompt:p1/watch?selectors=entity"
        async with aconnect_sse(http, "GET", path) as source:
            events = source.aiter_sse()
            first = await asyncio.wait_for(anext(events), 5)
            assert first.json()["name"] == "greeter"
            await http.patch(f"{a}/runnables/prompt:p1", json={"name": "renamed"})
            assert (await http.post(f"{a}/runnables/prompt:p1/save")).status_code == 200
            changed = await asyncio.wait_for(anext(events), 1.0)
    assert changed.json()["name"] == "renamed"


async def test_a_worker_that_heard_the_save_keeps_its_draft_and_saves_both_edits(
    seeded: SqlSource, workers: tuple[str, str]
) -> None:
    a, b = workers
    async with httpx.AsyncClient(timeout=5) as http:
        settings = {**GREETER["settings"], "temperature": 0.9}
        await http.patch(f"{b}/runnables/prompt:p1", json={"settings": settings})
        path = f"{b}/runnables/prompt:p1/watch?selectors=entity"
        async with aconnect_sse(http, "GET", path) as source:
            events = source.aiter_sse()
            await asyncio.wait_for(anext(events), 5)
            await http.patch(f"{a}/runnables/prompt:p1", json={"name": "renamed"})
            assert (await http.post(f"{a}/runnables/prompt:p1/save")).status_code == 200
            heard = await asyncio.wait_for(anext(events), 1.0)
        assert heard.json()["name"] == "renamed"
        assert heard.json()["settings"]["temperature"] == 0.9  # B's draft, kept
        assert (await http.post(f"{b}/runnables/prompt:p1/save")).status_code == 200
    stored = await seeded.get_versioned("p1")
    assert stored is not None and stored.version == 3
    assert (stored.data["name"], stored.data["settings"]["temperature"]) == ("renamed", 0.9)
