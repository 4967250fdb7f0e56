"""Conversations over HTTP: start, variables, messages, cancel, watch, delete."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from tests.bridge.server.conftest import words


async def _start(client: httpx.AsyncClient, **body: Any) -> str:
    answer = await client.post("/conversations", json={"prompt": "prompt:greeter", **body})
    assert answer.status_code == 201, answer.text
    instance_id: str = answer.json()["instance_id"]
    return instance_id


async def _until(client: httpx.AsyncClient, iid: str, status: str) -> dict[str, Any]:
    for _ in range(200):
        state: dict[str, Any] = (await client.get(f"/conversations/{iid}")).json()
        if state["status"] == status:
            return state
        await asyncio.sleep(0.02)
    raise AssertionError(f"conversation {iid} never reached {status}: {state}")


async def test_a_conversation_starts_ready_with_its_variables(client: httpx.AsyncClient) -> None:
    iid = await _start(client, variables={"name": "Grace"})
    state = (await client.get(f"/conversations/{iid}")).json()
    assert state["instance_id"] == iid
    assert state["status"] == "ready"
    assert state["variables"]["name"] == "Grace"
    assert state["variables"]["tone"] == "cheerful"
    assert state["messages"] == [] and state["streaming_text"] == ""


async def test_two_turns_keep_the_history_and_each_reply(client: httpx.AsyncClient) -> None:
    iid = await _start(client)
    sent = await client.post(f"/conversations/{iid}/messages", json={"text": "first"})
    assert sent.status_code == 202
    await _until(client, iid, "completed")
    await client.post(f"/conversations/{iid}/messages", json={"text": "second"})
    state = await _until(client, iid, "completed")
    replies = [m["content"] for m in state["messages"] if m["role"] == "assistant"]
    assert len(replies) == 2
    assert replies[0].endswith("first") and replies[1] == "echo: second"


async def test_patching_variables_changes_what_the_next_turn_sends(
    client: httpx.AsyncClient,
) -> None:
    iid = await _start(client)
    patched = await client.patch(f"/conversations/{iid}/variables", json={"name": "Linus"})
    assert patched.json()["variables"]["name"] == "Linus"
    await client.post(f"/conversations/{iid}/messages", json={"text": "hey"})
    state = await _until(client, iid, "completed")
    assert "Say hello to Linus" in state["messages"][-1]["content"]


async def test_the_watch_streams_state_events_up_to_the_finished_reply(
    client: httpx.AsyncClient,
) -> None:
    iid = await _start(client)
    seen: list[dict[str, Any]] = []
    async with aconnect_sse(client, "GET", f"/conversations/{iid}/watch") as source:
        events = source.aiter_sse()
        first = await anext(events)
        assert first.event == "state" and json.loads(first.data)["status"] == "ready"
        await client.post(f"/conversations/{iid}/messages", json={"text": words(30)})
        async for event in events:
            seen.append(json.loads(event.data))
            if seen[-1]["status"] == "completed":
                break
    assert any(state["status"] in ("executing", "streaming") for state in seen)
    assert seen[-1]["messages"][-1]["content"].endswith(words(30))


async def test_cancel_stops_the_turn_in_flight(client: httpx.AsyncClient) -> None:
    # The module's echo model waits 5 ms a word: 3,000 words take a good 15 s.
    iid = await _start(client)
    await client.post(f"/conversations/{iid}/messages", json={"text": words(3000)})
    await _until(client, iid, "streaming")
    cancelled = await client.post(f"/conversations/{iid}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] not in ("executing", "streaming")


async def test_a_second_message_while_a_turn_runs_is_a_409(client: httpx.AsyncClient) -> None:
    iid = await _start(client)
    await client.post(f"/conversations/{iid}/messages", json={"text": words(3000)})
    busy = await client.post(f"/conversations/{iid}/messages", json={"text": "again"})
    assert busy.status_code == 409
    await client.post(f"/conversations/{iid}/cancel")


async def test_delete_removes_the_conversation(client: httpx.AsyncClient) -> None:
    iid = await _start(client)
    assert (await client.delete(f"/conversations/{iid}")).status_code == 204
    assert (await client.get(f"/conversations/{iid}")).status_code == 404


async def test_bad_conversation_requests_are_4xx_naming_what_is_wrong(
    client: httpx.AsyncClient,
) -> None:
    unknown = await client.post("/conversations", json={"prompt": "prompt:nope"})
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    nothing = await client.post("/conversations", json={})
    assert nothing.status_code == 400
    assert (await client.get("/conversations/nope")).status_code == 404
    iid = await _start(client)
    no_text = await client.post(f"/conversations/{iid}/messages", json={})
    assert no_text.status_code == 400 and "text" in no_text.json()["detail"]
    not_object = await client.patch(f"/conversations/{iid}/variables", json=["a"])
    assert not_object.status_code == 400


async def test_a_template_over_its_limits_fails_the_turn_not_the_request(
    client: httpx.AsyncClient,
) -> None:
    # n * 300 loop iterations: n=400 is past max_loop_iterations (100 000).
    loops = "{% for i in range(n) %}{% for j in range(300) %}{% endfor %}.{% endfor %}"
    prompt = {
        "name": "Loops",
        "messages": [{"role": "user", "content": loops}],
        "template_format": "jinja2",
    }
    iid = await _start(client, prompt=prompt, variables={"n": 400})
    sent = await client.post(f"/conversations/{iid}/messages", json={"text": "go"})
    assert sent.status_code == 202
    state = await _until(client, iid, "error")
    assert state["error"]["type"] == "TemplateLimitError"
    assert "max_loop_iterations" in state["error"]["message"]

    await client.patch(f"/conversations/{iid}/variables", json={"n": 2})
    again = await client.post(f"/conversations/{iid}/messages", json={"text": ""})
    assert again.status_code == 202
    state = await _until(client, iid, "completed")
    assert state["messages"][-1]["content"] == "echo: ..\n\ngo"
