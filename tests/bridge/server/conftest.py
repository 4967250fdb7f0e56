"""Fixtures: the playground server (uvicorn on 127.0.0.1, its own loop and SQLite file)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse

from bridge.serve import ServeOptions, playground_in_thread
from bridge.serve.front import worker_for

TIMEOUT = 10.0


@pytest.fixture(scope="module")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A playground on the echo model (fast) and a fresh SQLite file; its base URL."""
    db = tmp_path_factory.mktemp("playground") / "playground.sqlite"
    options = ServeOptions(port=0, db=str(db), echo_delay=0.005)
    with playground_in_thread(options) as url:
        yield url


@pytest.fixture
async def client(playground: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the playground (the default session)."""
    async with httpx.AsyncClient(base_url=playground, timeout=TIMEOUT) as http:
        yield http


def session_client(url: str, session: str) -> httpx.AsyncClient:
    """A client whose requests name `session` with the X-Session header."""
    return httpx.AsyncClient(base_url=url, timeout=TIMEOUT, headers={"X-Session": session})


async def start_run(client: httpx.AsyncClient, ref: str, inputs: dict[str, Any]) -> str:
    """Start a run of `ref` server-side; its run id."""
    answer = await client.post(f"/runnables/{ref}/runs", json={"inputs": inputs})
    assert answer.status_code == 201, answer.text
    run_id: str = answer.json()["run_id"]
    return run_id


async def read_events(
    client: httpx.AsyncClient,
    run_id: str,
    *,
    last_event_id: str | None = None,
    limit: int | None = None,
) -> list[ServerSentEvent]:
    """The events of a run's stream (up to `limit` of them, else to the end)."""
    headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
    found: list[ServerSentEvent] = []
    async with aconnect_sse(client, "GET", f"/runs/{run_id}/events", headers=headers) as source:
        async for event in source.aiter_sse():
            found.append(event)
            if event.event == "done" or (limit is not None and len(found) >= limit):
                break
    return found


def data(event: ServerSentEvent) -> Any:
    """The JSON data of an event."""
    return json.loads(event.data)


def text_of(events: list[ServerSentEvent]) -> str:
    """The streamed text of a run's chunk events, joined."""
    return "".join(data(e)["text"] for e in events if e.event == "chunk")


def words(count: int) -> str:
    """A text of `count` numbered words (an echo reply of `count` chunks and more)."""
    return " ".join(f"w{i}" for i in range(count))


def session_for(worker: int, workers: int = 2, prefix: str = "s") -> str:
    """A session id that `serve --workers` sends to `worker` (of `workers`)."""
    return next(
        f"{prefix}{i}" for i in range(10_000) if worker_for(f"{prefix}{i}", workers) == worker
    )


def tmp_db(tmp_path: Path) -> str:
    """A SQLite file path in `tmp_path`."""
    return str(tmp_path / "playground.sqlite")
