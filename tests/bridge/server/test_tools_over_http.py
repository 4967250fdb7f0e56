"""Tools and structured output over HTTP on the playground's defaults: the seeded
`unit-converter` and `capital-facts` prompts, the `convert_units` and `save_note` tools,
and the offline echo model that calls them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.bridge.server.conftest import read_events, start_run


async def _start(client: httpx.AsyncClient, prompt: str) -> str:
    answer = await client.post("/conversations", json={"prompt": prompt})
    assert answer.status_code == 201, answer.text
    instance_id: str = answer.json()["instance_id"]
    return instance_id


async def _until(client: httpx.AsyncClient, iid: str, *statuses: str) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for _ in range(250):
        state = (await client.get(f"/conversations/{iid}")).json()
        if state["status"] in statuses:
            return state
        await asyncio.sleep(0.02)
    raise AssertionError(f"conversation {iid} never reached {statuses}: {state}")


async def test_info_lists_the_tools_and_which_need_approval(client: httpx.AsyncClient) -> None:
    tools = (await client.get("/info")).json()["tools"]
    assert [(t["name"], t["requires_approval"]) for t in tools] == [
        ("convert_units", False),
        ("save_note", True),
    ]


async def test_a_run_of_the_unit_converter_calls_the_tool_and_records_the_exchange(
    client: httpx.AsyncClient,
) -> None:
    run_id = await start_run(
        client, "prompt:unit-converter", {"value": "5", "from_unit": "kg", "to_unit": "lb"}
    )
    events = await read_events(client, run_id)
    done = json.loads(events[-1].data)
    assert done["status"] == "success"
    assert done["output"] == 'echo: convert_units: {"value": 11.023113, "unit": "lb"}'
    run = (await client.get(f"/runs/{run_id}")).json()
    messages = run["tasks"][0]["request"]["messages"]
    (call,) = messages[-2]["tool_calls"]
    assert call["function"]["name"] == "convert_units"
    assert json.loads(call["function"]["arguments"]) == {
        "value": 5,
        "from_unit": "kg",
        "to_unit": "lb",
    }
    assert messages[-1] == {
        "role": "tool",
        "tool_call_id": call["id"],
        "content": '{"value": 11.023113, "unit": "lb"}',
        "resources": [],
    }


async def test_a_tool_that_raises_answers_the_model_with_the_error(
    client: httpx.AsyncClient,
) -> None:
    run_id = await start_run(
        client, "prompt:unit-converter", {"value": "5", "from_unit": "kg", "to_unit": "km"}
    )
    done = json.loads((await read_events(client, run_id))[-1].data)
    assert done["status"] == "success"
    assert (
        "convert_units raised ValueError: cannot convert a mass (kg) to a length"
        in (done["output"])
    )


async def test_a_run_of_capital_facts_outputs_the_parsed_object(
    client: httpx.AsyncClient,
) -> None:
    snapshot = (await client.get("/runnables/prompt:capital-facts")).json()
    ports = [(p["key"], p["type"]) for p in snapshot["output_ports"]]
    assert ports == [("country", "string"), ("capital", "string"), ("population", "integer")]
    run_id = await start_run(client, "prompt:capital-facts", {"country": "Peru"})
    done = json.loads((await read_events(client, run_id))[-1].data)
    assert done["status"] == "success"
    assert done["output"]["country"] == "Peru" and done["output"]["population"] == 0


async def test_a_call_that_needs_approval_waits_and_runs_once_approved(
    client: httpx.AsyncClient,
) -> None:
    # The greeter's own message names no tool: the typed message alone calls one.
    iid = await _start(client, "prompt:greeter")
    sent = await client.post(
        f"/conversations/{iid}/messages", json={"text": 'save_note text="buy milk"'}
    )
    assert sent.status_code == 202
    state = await _until(client, iid, "awaiting_approval")
    (waiting,) = state["awaiting"]
    assert waiting["name"] == "save_note"
    assert json.loads(waiting["arguments"]) == {"text": "buy milk"}

    approved = await client.post(
        f"/conversations/{iid}/tool_calls/{waiting['id']}", json={"approved": True}
    )
    assert approved.status_code == 200, approved.text
    state = await _until(client, iid, "completed")
    assert state["awaiting"] == []
    assert [m["role"] for m in state["messages"]][-3:] == ["assistant", "tool", "assistant"]
    assert state["messages"][-2]["tool_call_id"] == waiting["id"]
    assert state["messages"][-2]["content"].startswith("saved note")
    assert state["messages"][-1]["content"].startswith("echo: save_note: saved note")


async def test_a_denied_call_tells_the_model_and_a_second_answer_is_a_409(
    client: httpx.AsyncClient,
) -> None:
    iid = await _start(client, "prompt:greeter")
    await client.post(f"/conversations/{iid}/messages", json={"text": "save_note text=x"})
    (waiting,) = (await _until(client, iid, "awaiting_approval"))["awaiting"]
    path = f"/conversations/{iid}/tool_calls/{waiting['id']}"

    assert (await client.post(path, json={"approved": False})).status_code == 200
    state = await _until(client, iid, "completed")
    assert "was not approved" in state["messages"][-2]["content"]
    again = await client.post(path, json={"approved": True})
    assert again.status_code == 409
    assert "no tool call" in again.json()["detail"]


async def test_an_approval_body_without_a_decision_is_a_400(client: httpx.AsyncClient) -> None:
    iid = await _start(client, "prompt:unit-converter")
    answer = await client.post(f"/conversations/{iid}/tool_calls/c1", json={"approve": True})
    assert answer.status_code == 400


async def test_a_structured_conversation_turn_shows_its_parsed_value(
    client: httpx.AsyncClient,
) -> None:
    iid = await _start(client, "prompt:capital-facts")
    await client.patch(f"/conversations/{iid}/variables", json={"country": "Chile"})
    await client.post(f"/conversations/{iid}/messages", json={"text": "capital=Santiago"})
    state = await _until(client, iid, "completed", "error")
    assert state["status"] == "completed"
    assert state["messages"][-1]["structured"] == {
        "country": "Chile",
        "capital": "Santiago",
        "population": 0,
    }
