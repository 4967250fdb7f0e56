"""Hostile request bodies against `bridge.server.create_app` on 127.0.0.1.

Each is refused whole with a 4xx and a JSON `{"detail": ...}`, nothing it carries is
applied, and a watch open on the runnable keeps going.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from httpx_sse import aconnect_sse

from tests.security.bridge_server import (
    TIMEOUT,
    AppSlot,
    BridgeServer,
    dumps,
    entity,
    fresh_bridge_server,
    serve_slot,
)
from tests.security.hostile import HOSTILE, JSON
from tests.servers.fixtures import ChatServer

ROUTES = [
    ("PATCH", "/runnables/prompt:p1"),
    ("POST", "/runnables/prompt:p1/execute"),
    ("POST", "/runnables/prompt:p1/stream"),
    ("POST", "/runnables/prompt:p1/save"),
    ("POST", "/runnables/prompt:p1/discard"),
    ("POST", "/chains/run"),
]


@pytest.fixture(scope="module")
def slot() -> Iterator[tuple[str, AppSlot]]:
    yield from serve_slot()


@pytest.fixture
def server(slot: tuple[str, AppSlot], chat_server: ChatServer) -> BridgeServer:
    return fresh_bridge_server(*slot, chat_server.base_url)


@pytest.fixture
async def client(server: BridgeServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        yield http


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
@pytest.mark.parametrize(("name", "body", "content_type"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_a_hostile_body_is_refused_with_a_4xx_json_detail(
    client: httpx.AsyncClient, method: str, path: str, name: str, body: bytes, content_type: str
) -> None:
    response = await client.request(
        method, path, content=body, headers={"content-type": content_type}
    )
    assert 400 <= response.status_code < 500, (name, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith(JSON)
    assert isinstance(response.json()["detail"], str)


async def test_a_refused_patch_changes_nothing(server: BridgeServer) -> None:
    before = entity(server.url)
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        for _, body, content_type in HOSTILE:
            response = await http.patch(
                "/runnables/prompt:p1", content=body, headers={"content-type": content_type}
            )
            assert response.status_code >= 400
    assert entity(server.url) == before
    assert before[1] is False


async def test_an_open_watch_outlives_every_hostile_patch(
    server: BridgeServer, client: httpx.AsyncClient
) -> None:
    path = "/runnables/prompt:p1/watch?selectors=entity"
    async with aconnect_sse(client, "GET", path) as source:
        events = source.aiter_sse()
        async with asyncio.timeout(TIMEOUT):
            first = await anext(events)
        assert first.event == "entity" and first.json()["name"] == "greeter"
        async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as other:
            for _, body, content_type in HOSTILE:
                await other.patch(
                    "/runnables/prompt:p1", content=body, headers={"content-type": content_type}
                )
            applied = await other.patch("/runnables/prompt:p1", json={"name": "after"})
            assert applied.status_code == 200
        async with asyncio.timeout(TIMEOUT):
            event = await anext(events)
        assert event.event == "entity" and event.json()["name"] == "after"


async def test_nan_in_a_patch_is_refused_not_nulled(client: httpx.AsyncClient) -> None:
    response = await client.patch(
        "/runnables/prompt:p1",
        content=dumps({"variable_defaults": {"name": float("nan")}}),
        headers={"content-type": JSON},
    )
    assert response.status_code == 400
    assert "not a finite number" in response.json()["detail"]
    body = (await client.get("/runnables/prompt:p1")).json()
    assert body["entity"]["variable_defaults"] == {}


async def test_an_empty_body_is_no_body_where_none_is_needed(client: httpx.AsyncClient) -> None:
    assert (await client.post("/runnables/prompt:p1/discard")).status_code == 200
    assert (await client.post("/runnables/prompt:p1/discard", content=b"")).status_code == 200
