"""A runnable whose template cannot load stays readable, discardable and savable.

The failure is a selector value (`template_errors`) and a 4xx when it runs, never a 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.security.bridge_server import (
    GREETER,
    TIMEOUT,
    AppSlot,
    BridgeServer,
    fresh_bridge_server,
    serve_slot,
)
from tests.servers.fixtures import ChatServer

DEEP_IFS = "{% if a %}" * 400 + "x" + "{% endif %}" * 400
DEEP_JINJA: dict[str, Any] = {
    "template_format": "jinja2",
    "messages": [{"role": "user", "content": f"Hi {{{{ name }}}} {DEEP_IFS}"}],
}


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


async def test_a_patch_with_400_nested_ifs_is_applied_and_reported(
    client: httpx.AsyncClient,
) -> None:
    response = await client.patch("/runnables/prompt:p1", json=DEEP_JINJA)
    assert response.status_code == 200
    body = response.json()
    assert body["is_dirty"] is True
    # Its variables are still read (by tokens, as the tree cannot be built).
    assert [port["key"] for port in body["input_ports"]] == ["name", "a"]


async def test_the_runnable_with_a_failing_template_stays_readable(
    client: httpx.AsyncClient,
) -> None:
    await client.patch("/runnables/prompt:p1", json=DEEP_JINJA)
    assert (await client.get("/runnables/prompt:p1")).status_code == 200


async def test_its_template_error_is_a_selector_value(client: httpx.AsyncClient) -> None:
    await client.patch("/runnables/prompt:p1", json=DEEP_JINJA)
    path = "/runnables/prompt:p1/watch?selectors=template_errors"
    async with client.stream("GET", path) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                assert "limit max_nesting exceeded" in line
                break


async def test_running_it_is_an_error_result_naming_the_limit(client: httpx.AsyncClient) -> None:
    await client.patch("/runnables/prompt:p1", json=DEEP_JINJA)
    inputs = {"name": "n", "a": "yes"}
    response = await client.post("/runnables/prompt:p1/execute", json={"inputs": inputs})
    assert response.status_code == 200
    result = response.json()
    assert (result["status"], result["error"]["type"]) == ("error", "TemplateLimitError")
    assert "limit max_nesting exceeded" in result["error"]["message"]


async def test_it_can_be_discarded(client: httpx.AsyncClient) -> None:
    await client.patch("/runnables/prompt:p1", json=DEEP_JINJA)
    response = await client.post("/runnables/prompt:p1/discard")
    assert response.status_code == 200
    body = response.json()
    assert body["is_dirty"] is False
    assert body["entity"]["messages"][0]["content"] == "Hi {{name}}"


async def test_it_can_be_saved(client: httpx.AsyncClient, server: BridgeServer) -> None:
    await client.patch("/runnables/prompt:p1", json=DEEP_JINJA)
    response = await client.post("/runnables/prompt:p1/save")
    assert response.status_code == 200
    assert response.json()["is_dirty"] is False


async def test_a_stored_runnable_with_such_a_template_loads(
    client: httpx.AsyncClient, server: BridgeServer
) -> None:
    await server.prompts.save("deep", {**GREETER, **DEEP_JINJA})
    response = await client.get("/runnables/prompt:deep")
    assert response.status_code == 200
    assert response.json()["entity"]["template_format"] == "jinja2"


async def test_a_chain_whose_nodes_are_a_string_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/chains/run", json={"chain": {"nodes": "ab"}})
    assert response.status_code == 400
    assert "nodes" in response.json()["detail"]


async def test_unknown_routes_and_methods_answer_json(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nowhere")
    wrong = await client.delete("/runnables/prompt:p1")
    assert (missing.status_code, wrong.status_code) == (404, 405)
    assert "detail" in missing.json() and "detail" in wrong.json()


async def test_the_server_serves_its_own_openapi_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    patch = document["paths"]["/runnables/{ref}"]["patch"]
    assert {"400", "413", "415"} <= set(patch["responses"])
    assert "ChainRunRequest" not in document["components"]["schemas"]
    assert "Node" in document["components"]["schemas"]


# Renders that hit a limit only when they run: each loads and checks fine.
LIMIT_RENDERS = [
    ("{{ 'a' * 200000000 }}", {}, "max_output_chars"),
    ("{{ n ** 12000000 }}", {"n": 7}, "max_power_bits"),
    (
        "{% for i in range(n) %}{% for j in range(300) %}{% endfor %}.{% endfor %}",
        {"n": 400},
        "max_loop_iterations",
    ),
]


@pytest.mark.parametrize(("text", "inputs", "limit"), LIMIT_RENDERS)
async def test_a_render_that_hits_a_limit_is_an_error_result_not_a_500(
    client: httpx.AsyncClient, text: str, inputs: dict[str, Any], limit: str
) -> None:
    prompt = {"template_format": "jinja2", "messages": [{"role": "user", "content": text}]}
    assert (await client.patch("/runnables/prompt:p1", json=prompt)).status_code == 200

    response = await client.post("/runnables/prompt:p1/execute", json={"inputs": inputs})

    assert response.status_code == 200
    result = response.json()
    assert (result["status"], result["error"]["type"]) == ("error", "TemplateLimitError")
    assert limit in result["error"]["message"]
    streamed = await client.post("/runnables/prompt:p1/stream", json={"inputs": inputs})
    assert streamed.status_code < 500
    assert limit in streamed.text
    assert (await client.get("/runnables/prompt:p1")).status_code == 200
