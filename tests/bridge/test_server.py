"""The ASGI/SSE server of the bridge, served by uvicorn on 127.0.0.1 and called over HTTP."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse

from bridge import RunnableBridge, RunnableData, create_default_bridge
from bridge.demo.run import DEMO_CHAIN
from bridge.demo.services import app_service, evaluator_service
from bridge.server import create_app
from molecules import Store
from runnable.chain import Chain, Node
from runnable.http.serving import serve_in_thread
from runnable.runner import RunCompleted
from runnable.sources import InMemorySource

SECRET = "sk-test-0123456789abcdef"
GREETER: dict[str, Any] = {
    "name": "greeter",
    "messages": [{"role": "user", "content": "Hi {{name}}"}],
    "settings": {"model": "gpt-4o-mini"},
}
TIMEOUT = 5.0


@attrs.define
class Executions:
    """What the prompt executor of the test bridge was asked, seen from the test's thread."""

    started: threading.Event = attrs.Factory(threading.Event)
    cancelled: threading.Event = attrs.Factory(threading.Event)


def prompt_executor(seen: Executions) -> Callable[..., AsyncIterator[str]]:
    """Streams "Hi", the name, "!"; `p-fail` fails after one chunk, `p-broken` before any,
    `p-slow` waits until cancelled."""

    async def execute(runnable: RunnableData, inputs: Mapping[str, Any]) -> AsyncIterator[str]:
        seen.started.set()
        if runnable.id == "p-broken":
            raise RuntimeError("the model is not there")
        if runnable.id == "p-slow":
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                seen.cancelled.set()
                raise
        for chunk in ("Hi ", str(inputs.get("name", "")), "!"):
            await asyncio.sleep(0)
            yield chunk
            if runnable.id == "p-fail":
                raise RuntimeError(f"the model went away (Authorization: Bearer {SECRET})")

    return execute


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[str, str]]:
    with serve_in_thread(app_service()) as app_url, serve_in_thread(evaluator_service()) as ev:
        yield app_url, ev


class AppSlot:
    """An ASGI app that hands every request to the app of the current test.

    One uvicorn server serves the whole module; each test puts a fresh app (its own
    bridge and store) in the slot, so tests share no state and no server start-up.
    """

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, AppSlot]]:
    slot = AppSlot()
    with serve_in_thread(slot) as url:
        yield url, slot


@attrs.frozen
class Served:
    """A running server: its URL, the bridge and store behind it, what its executor saw."""

    url: str
    bridge: RunnableBridge
    store: Store
    prompts: InMemorySource
    executions: Executions
    run_events: list[Any]


@pytest.fixture
def served(services: tuple[str, str], server: tuple[str, AppSlot]) -> Served:
    app_url, evaluators_url = services
    prompts = InMemorySource(
        {
            "p1": GREETER,
            "p-fail": GREETER,
            "p-slow": GREETER,
            "p-broken": GREETER,
            "p-secret": {**GREETER, "settings": {"model": "m", "api_key": SECRET}},
        }
    )
    executions = Executions()
    bridge = create_default_bridge(
        {
            "prompt": prompts,
            "app_revision": InMemorySource({"capitals-v1": {"uri": app_url}}),
            "evaluator_revision": InMemorySource(
                {
                    "exact": {"evaluator_key": "exact_match"},
                    "similarity": {"uri": f"{evaluators_url}/similarity"},
                }
            ),
        },
        executors={"prompt": prompt_executor(executions)},
    )
    store = Store()
    run_events: list[Any] = []
    url, slot = server
    slot.app = create_app(bridge, store, chain_options={"on_event": run_events.append})
    return Served(url, bridge, store, prompts, executions, run_events)


@pytest.fixture
async def client(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url, timeout=TIMEOUT) as http:
        yield http


@asynccontextmanager
async def sse(
    client: httpx.AsyncClient, method: str, path: str, **kwargs: Any
) -> AsyncIterator[AsyncIterator[ServerSentEvent]]:
    async with aconnect_sse(client, method, path, **kwargs) as source:
        assert source.response.status_code == 200, await source.response.aread()
        yield source.aiter_sse()


async def take(events: AsyncIterator[ServerSentEvent], count: int) -> list[ServerSentEvent]:
    async with asyncio.timeout(TIMEOUT):
        return [await anext(events) for _ in range(count)]


async def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def keys(ports: list[dict[str, Any]]) -> list[str]:
    return [port["key"] for port in ports]


# -- GET /runnables/{ref} ---------------------------------------------------------------


async def test_get_loads_the_runnable_and_returns_every_selector(client: httpx.AsyncClient) -> None:
    response = await client.get("/runnables/prompt:p1")
    assert response.status_code == 200
    body = response.json()
    assert (body["ref"], body["kind"], body["id"]) == ("prompt:p1", "prompt", "p1")
    assert body["data"]["name"] == "greeter"
    assert body["query"]["status"] == "success"
    assert body["is_dirty"] is False
    assert keys(body["input_ports"]) == ["name"]
    assert keys(body["output_ports"]) == ["output"]
    assert body["configuration"]["settings"] == {"model": "gpt-4o-mini"}
    assert body["schemas"]["inputs"]["required"] == ["name"]
    assert body["invocation_url"] is None
    assert body["entity"]["messages"][0]["content"] == "Hi {{name}}"


async def test_a_bare_id_is_answered_under_its_kind(client: httpx.AsyncClient) -> None:
    response = await client.get("/runnables/capitals-v1")
    assert response.status_code == 200
    assert response.json()["ref"] == "app_revision:capitals-v1"


async def test_an_app_revision_shows_its_invocation_url_and_openapi_ports(
    client: httpx.AsyncClient, services: tuple[str, str]
) -> None:
    body = (await client.get("/runnables/app_revision:capitals-v1")).json()
    assert body["invocation_url"] == f"{services[0]}/test"
    assert keys(body["input_ports"]) == ["country"]


async def test_an_unknown_runnable_is_404_naming_the_ref(client: httpx.AsyncClient) -> None:
    for ref in ("prompt:nope", "nope", "zzz:p1"):
        response = await client.get(f"/runnables/{ref}")
        assert response.status_code == 404, ref
        assert ref.split(":")[-1] in response.json()["detail"]
    unknown_kind = (await client.get("/runnables/zzz:p1")).json()["detail"]
    assert "'zzz:p1'" in unknown_kind and "prompt" in unknown_kind


async def test_a_malformed_ref_is_400(client: httpx.AsyncClient) -> None:
    for ref in ("prompt:", ":p1", "%20"):
        response = await client.get(f"/runnables/{ref}")
        assert response.status_code == 400, ref
        assert "runnable ref" in response.json()["detail"]


async def test_an_unknown_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/nothing/here")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_secrets_in_a_runnable_are_redacted(client: httpx.AsyncClient) -> None:
    response = await client.get("/runnables/prompt:p-secret")
    assert response.status_code == 200
    assert SECRET not in response.text
    assert response.json()["configuration"]["settings"]["api_key"] == "[REDACTED]"


# -- PATCH, save, discard ---------------------------------------------------------------


async def test_patch_writes_the_draft_and_answers_the_new_selectors(
    client: httpx.AsyncClient, served: Served
) -> None:
    messages = [{"role": "user", "content": "Hi {{name}} from {{city}}"}]
    response = await client.patch("/runnables/prompt:p1", json={"messages": messages})
    assert response.status_code == 200
    assert keys(response.json()["input_ports"]) == ["name", "city"]
    assert response.json()["is_dirty"] is True
    ports = served.store.get(served.bridge.selectors.input_ports("prompt:p1"))
    assert [port.key for port in ports] == ["name", "city"]


async def test_a_patch_the_entity_refuses_is_400_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    response = await client.patch("/runnables/prompt:p1", json={"messages": 5})
    assert response.status_code == 400
    assert "messages" in response.json()["detail"]
    assert (await client.get("/runnables/prompt:p1")).json()["is_dirty"] is False


async def test_a_patch_body_must_be_a_json_object(client: httpx.AsyncClient) -> None:
    for content in (b"[1, 2]", b"{not json", b""):
        response = await client.patch("/runnables/prompt:p1", content=content)
        assert response.status_code == 400, content
        assert response.json()["detail"]


async def test_a_patch_cannot_change_the_id(client: httpx.AsyncClient) -> None:
    response = await client.patch("/runnables/prompt:p1", json={"id": "p2", "name": "x"})
    assert response.status_code == 400
    assert "'p2'" in response.json()["detail"]
    assert (await client.get("/runnables/prompt:p1")).json()["data"]["name"] == "greeter"


async def test_save_writes_the_draft_through_the_source(
    client: httpx.AsyncClient, served: Served
) -> None:
    await client.patch("/runnables/prompt:p1", json={"name": "welcomer"})
    response = await client.post("/runnables/prompt:p1/save")
    assert response.status_code == 200
    assert response.json()["is_dirty"] is False
    saved = await served.prompts.get("p1")
    assert saved is not None and saved["name"] == "welcomer"


async def test_discard_drops_the_draft(client: httpx.AsyncClient) -> None:
    await client.patch("/runnables/prompt:p1", json={"name": "welcomer"})
    response = await client.post("/runnables/prompt:p1/discard")
    assert response.json()["is_dirty"] is False
    assert response.json()["data"]["name"] == "greeter"


# -- watch ------------------------------------------------------------------------------


async def test_watch_sends_each_selector_current_value_first(client: httpx.AsyncClient) -> None:
    params = {"selectors": "input_ports,is_dirty"}
    async with sse(client, "GET", "/runnables/prompt:p1/watch", params=params) as events:
        first = await take(events, 2)
    assert [event.event for event in first] == ["input_ports", "is_dirty"]
    assert keys(first[0].json()) == ["name"]
    assert first[1].json() is False


async def test_a_watcher_receives_the_new_port_after_a_patch(client: httpx.AsyncClient) -> None:
    params = {"selectors": "input_ports,is_dirty"}
    async with sse(client, "GET", "/runnables/prompt:p1/watch", params=params) as events:
        await take(events, 2)
        messages = [{"role": "user", "content": "Hi {{name}}, meet {{new_var}}"}]
        patched = await client.patch("/runnables/prompt:p1", json={"messages": messages})
        assert patched.status_code == 200
        changed = {event.event: event.json() for event in await take(events, 2)}
    assert keys(changed["input_ports"]) == ["name", "new_var"]
    assert changed["is_dirty"] is True


async def test_a_watcher_sees_changes_written_to_the_store_from_another_thread(
    client: httpx.AsyncClient, served: Served
) -> None:
    update = served.bridge.runnable("prompt").actions.update
    async with sse(client, "GET", "/runnables/prompt:p1/watch?selectors=data") as events:
        assert (await take(events, 1))[0].json()["name"] == "greeter"
        await asyncio.to_thread(served.store.set, update, "p1", {"name": "renamed"})
        (changed,) = await take(events, 1)
    assert changed.event == "data"
    assert changed.json()["name"] == "renamed"


async def test_watch_defaults_to_the_standard_selectors(client: httpx.AsyncClient) -> None:
    async with sse(client, "GET", "/runnables/prompt:p1/watch") as events:
        first = await take(events, 8)
    assert [event.event for event in first] == [
        "data",
        "query",
        "is_dirty",
        "input_ports",
        "output_ports",
        "configuration",
        "invocation_url",
        "schemas",
    ]


async def test_a_kind_selector_can_be_watched(client: httpx.AsyncClient) -> None:
    path = "/runnables/prompt:p1/watch?selectors=variables,entity"
    async with sse(client, "GET", path) as events:
        variables, entity = await take(events, 2)
    assert variables.json() == ["name"]
    assert entity.json()["name"] == "greeter"


async def test_watching_an_unknown_selector_is_400_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/runnables/prompt:p1/watch?selectors=input_ports,colour")
    assert response.status_code == 400
    assert "'colour'" in response.json()["detail"]
    assert "input_ports" in response.json()["detail"]


async def test_a_disconnected_watcher_leaves_no_atom_mounted(
    client: httpx.AsyncClient, served: Served
) -> None:
    ports = served.bridge.selectors.input_ports("prompt:p1")
    async with sse(client, "GET", "/runnables/prompt:p1/watch?selectors=input_ports") as events:
        await take(events, 1)
        assert served.store.is_mounted(ports)
    await until(lambda: not served.store.is_mounted(ports))


# -- execute and stream -----------------------------------------------------------------


async def test_execute_returns_the_execution_result(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/runnables/app_revision:capitals-v1/execute", json={"inputs": {"country": "Japan"}}
    )
    assert response.status_code == 200
    result = response.json()
    assert result["status"] == "success"
    assert result["output"] == "Tokyo"
    assert result["metrics"]["latency_ms"] >= 0


async def test_execute_with_bad_inputs_is_400_naming_them(client: httpx.AsyncClient) -> None:
    path = "/runnables/app_revision:capitals-v1/execute"
    wrong_type = await client.post(path, json={"inputs": {"country": 42}})
    missing = await client.post(path, json={"inputs": {}})
    for response in (wrong_type, missing):
        assert response.status_code == 400
        assert "country" in response.json()["detail"]
        assert list(response.json()["errors"]) == ["country"]


async def test_an_execute_body_with_unknown_fields_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/runnables/prompt:p1/execute", json={"input": {"name": "x"}})
    assert response.status_code == 400
    assert "input" in response.json()["detail"]


async def test_a_kind_without_an_executor_is_501(client: httpx.AsyncClient, served: Served) -> None:
    builtin = served.bridge.runnable("builtin").actions.create
    served.store.set(builtin, {"id": "b1", "messages": [{"role": "user", "content": "Hi"}]})
    response = await client.post("/runnables/builtin:b1/execute", json={"inputs": {}})
    assert response.status_code == 501
    assert "builtin" in response.json()["detail"]


async def test_stream_sends_chunks_then_done_with_the_output(client: httpx.AsyncClient) -> None:
    body = {"inputs": {"name": "Ada"}}
    async with sse(client, "POST", "/runnables/prompt:p1/stream", json=body) as events:
        received = [event async for event in events]
    assert [event.event for event in received] == ["chunk", "chunk", "chunk", "done"]
    assert [event.json() for event in received[:3]] == ["Hi ", "Ada", "!"]
    assert [event.id for event in received[:3]] == ["0", "1", "2"]
    assert received[-1].json() == {"chunks": 3, "output": "Hi Ada!"}


async def test_stream_with_bad_inputs_is_400_before_any_event(client: httpx.AsyncClient) -> None:
    response = await client.post("/runnables/prompt:p1/stream", json={"inputs": {}})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert "name" in response.json()["detail"]


async def test_a_stream_that_fails_midway_ends_with_an_error_event_without_secrets(
    client: httpx.AsyncClient,
) -> None:
    body = {"inputs": {"name": "Ada"}}
    async with sse(client, "POST", "/runnables/prompt:p-fail/stream", json=body) as events:
        received = [event async for event in events]
    assert [event.event for event in received] == ["chunk", "error"]
    detail = received[-1].json()["detail"]
    assert "the model went away" in detail
    assert SECRET not in detail


async def test_a_stream_that_fails_before_its_first_chunk_is_an_error_event(
    client: httpx.AsyncClient,
) -> None:
    body = {"inputs": {"name": "Ada"}}
    async with sse(client, "POST", "/runnables/prompt:p-broken/stream", json=body) as events:
        received = [event async for event in events]
    assert [event.event for event in received] == ["error"]
    assert "the model is not there" in received[0].json()["detail"]


# -- chains -----------------------------------------------------------------------------


async def test_a_chain_run_streams_its_events_ending_with_run_completed(
    client: httpx.AsyncClient,
) -> None:
    body = {
        "chain": DEMO_CHAIN.model_dump(mode="json"),
        "testcase": {"country": "Japan", "correct_answer": "Tokyo"},
    }
    async with sse(client, "POST", "/chains/run", json=body) as events:
        received = [event async for event in events]
    assert received[0].event == "run_started"
    assert received[-1].event == "run_completed"
    assert received[-1].json()["status"] == "success"
    completed = {
        event.json()["node_id"]: event.json()["output"]
        for event in received
        if event.event == "node_completed"
    }
    assert completed["app"] == "Tokyo"
    assert completed["similarity"] == {"score": 1.0, "success": True}
    assert all(json.loads(event.data)["type"] == event.event for event in received)


async def test_a_chain_missing_an_input_is_400_before_any_event(
    client: httpx.AsyncClient,
) -> None:
    body = {"chain": DEMO_CHAIN.model_dump(mode="json"), "testcase": {"correct_answer": "x"}}
    response = await client.post("/chains/run", json=body)
    assert response.status_code == 400
    assert "country" in response.json()["detail"]


async def test_a_malformed_chain_is_400(client: httpx.AsyncClient) -> None:
    body = {"chain": {"nodes": [{"id": "a"}], "connections": [{"source": "a", "target": "b"}]}}
    response = await client.post("/chains/run", json=body)
    assert response.status_code == 400
    assert "unknown nodes: b" in response.json()["detail"]


async def test_a_client_that_disconnects_cancels_the_chain_run(
    client: httpx.AsyncClient, served: Served
) -> None:
    chain = Chain(nodes=[Node("slow", "prompt:p-slow")])
    body = {"chain": chain.model_dump(mode="json"), "testcase": {"name": "Ada"}}
    async with sse(client, "POST", "/chains/run", json=body) as events:
        async with asyncio.timeout(TIMEOUT):
            async for event in events:
                if event.event == "node_started":
                    break
        assert await asyncio.to_thread(served.executions.started.wait, TIMEOUT)
    assert await asyncio.to_thread(served.executions.cancelled.wait, TIMEOUT)
    await until(lambda: any(isinstance(e, RunCompleted) for e in served.run_events))
    (completed,) = [e for e in served.run_events if isinstance(e, RunCompleted)]
    assert completed.status == "cancelled"


# -- packaging --------------------------------------------------------------------------


def test_without_the_server_extra_create_app_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [m for m in sys.modules if m.startswith(("bridge.server.", "sse_starlette"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sse_starlette", None)
    import bridge

    with pytest.raises(ImportError, match=r"runnable-bridge\[server\]"):
        bridge.create_app(create_default_bridge(), Store())
