"""Conversations that call tools: the loop, approvals, the selectors and the run store,
against the local chat server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from molecules import Store
from molecules.engine import (
    ConversationEngine,
    InstanceBusyError,
    InstanceEvent,
    InstanceState,
    ToolCallAnswered,
    ToolCallDecided,
    ToolCallNotAwaitingError,
    ToolCallsRequested,
    load_run,
    reduce_instance,
    replay,
)
from runnable.chat.completion import ChatCompletion, ToolCall
from runnable.chat.events import TurnCompleted, TurnStarted, assistant_message
from runnable.messages import ChatMessage
from runnable.testing.openai_chat import reply, tool_call, tool_calls_reply
from runnable.tools import ToolRegistry, ToolResult
from runnable.tracking import RunStore
from tests.servers.fixtures import ChatServer

MakeEngine = Callable[..., ConversationEngine]


def make_tools() -> tuple[ToolRegistry, list[str]]:
    tools = ToolRegistry()
    sent: list[str] = []

    @tools.register
    def weather(city: str) -> dict[str, Any]:
        """The temperature in a city now (Celsius)."""
        return {"city": city, "celsius": 4}

    @tools.register(requires_approval=True)
    def send_mail(to: str, text: str) -> str:
        """Send a mail."""
        sent.append(to)
        return f"sent to {to}"

    return tools, sent


async def start(store: Store, engine: ConversationEngine) -> str:
    iid: str = await store.set(engine.actions.start_prompt_instance, "plain", {})
    return iid


async def wait_for_status(store: Store, engine: ConversationEngine, iid: str, status: str) -> None:
    async with asyncio.timeout(5):
        while store.get(engine.selectors.status(iid)) != status:
            await asyncio.sleep(0.005)


def roles(store: Store, engine: ConversationEngine, iid: str) -> list[str]:
    return [m.role for m in store.get(engine.selectors.display_messages(iid))]


async def test_a_turn_loops_through_two_rounds_of_tools_to_the_reply(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer, run_store: RunStore
) -> None:
    tools, _ = make_tools()
    chat_server.state.script(
        tool_calls_reply(tool_call("weather", {"city": "Oslo"}, id="c1"), usage=(10, 2)),
        tool_calls_reply(tool_call("weather", {"city": "Rome"}, id="c2"), usage=(20, 2)),
        reply("Oslo 4, Rome 4.", usage=(30, 4)),
    )
    engine = make_engine(tools=tools, run_store=run_store)
    log: list[InstanceEvent] = []
    engine.listen(lambda _, event: log.append(event))
    iid = await start(store, engine)

    result = await store.set(engine.actions.execute_message, iid, "Weather?")

    assert result.status == "success" and result.output == "Oslo 4, Rome 4."
    assert roles(store, engine, iid) == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    shown = store.get(engine.selectors.display_messages(iid))
    assert shown[2].model_extra is not None
    assert shown[2].model_extra["tool_calls"][0]["function"]["name"] == "weather"
    assert shown[3].content == json.dumps({"city": "Oslo", "celsius": 4})
    totals = store.get(engine.state(iid)).totals
    assert (totals.turns, totals.tokens_in, totals.tokens_out) == (1, 60, 8)
    assert replay(InstanceState(id=iid), log) == store.get(engine.state(iid))
    await engine.drain()
    run_id = store.get(engine.state(iid)).run_id
    assert run_id is not None
    (task,) = await run_store.list_tasks(run_id)
    assert isinstance(task.response, dict)
    recorded = task.response["tool_messages"]
    assert [m["role"] for m in recorded] == ["assistant", "tool", "assistant", "tool"]
    loaded = await load_run(run_store, run_id)
    assert [m.role for m in loaded.messages] == roles(store, engine, iid)


async def test_a_tool_that_requires_approval_pauses_the_turn_until_approved(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    tools, sent = make_tools()
    mail = tool_call("send_mail", {"to": "ada@example.org", "text": "hi"}, id="m1")
    chat_server.state.script(tool_calls_reply(mail), reply("Mail sent."))
    engine = make_engine(tools=tools)
    iid = await start(store, engine)
    task = store.set(engine.actions.execute_message, iid, "Mail Ada")
    await wait_for_status(store, engine, iid, "awaiting_approval")
    turn = store.get(engine.state(iid)).turn
    assert turn is not None and [c.id for c in turn.awaiting] == ["m1"]
    assert sent == [] and len(chat_server.state.requests) == 1

    resumed = store.set(engine.actions.approve_tool_call, iid, "m1", True)

    assert resumed is task
    result = await task
    assert result.status == "success" and result.output == "Mail sent."
    assert sent == ["ada@example.org"]
    answer = chat_server.state.requests[1].body["messages"][-1]
    assert (answer["tool_call_id"], answer["content"]) == ("m1", "sent to ada@example.org")


async def test_a_denied_tool_call_answers_the_model_that_it_was_not_approved(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    tools, sent = make_tools()
    mail = tool_call("send_mail", {"to": "ada@example.org", "text": "hi"}, id="m1")
    chat_server.state.script(tool_calls_reply(mail), reply("I did not send it."))
    engine = make_engine(tools=tools)
    iid = await start(store, engine)
    task = store.set(engine.actions.execute_message, iid, "Mail Ada")
    await wait_for_status(store, engine, iid, "awaiting_approval")

    store.set(engine.actions.approve_tool_call, iid, "m1", False)
    result = await task

    assert result.status == "success" and result.output == "I did not send it."
    assert sent == []
    answer = chat_server.state.requests[1].body["messages"][-1]
    assert answer["role"] == "tool" and answer["tool_call_id"] == "m1"
    assert "not approved" in answer["content"]
    shown = store.get(engine.selectors.display_messages(iid))
    assert "not approved" in str(shown[-2].content)


async def test_an_approval_can_give_the_result_instead_of_running_the_tool(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    tools, sent = make_tools()
    mail = tool_call("send_mail", {"to": "ada@example.org", "text": "hi"}, id="m1")
    chat_server.state.script(tool_calls_reply(mail), reply("Done."))
    engine = make_engine(tools=tools)
    iid = await start(store, engine)
    task = store.set(engine.actions.execute_message, iid, "Mail Ada")
    await wait_for_status(store, engine, iid, "awaiting_approval")
    store.set(engine.actions.approve_tool_call, iid, "m1", True, {"queued": True})
    await task
    assert sent == []
    assert chat_server.state.requests[1].body["messages"][-1]["content"] == '{"queued": true}'


async def test_a_new_message_is_refused_while_a_call_awaits_approval(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    tools, _ = make_tools()
    mail = tool_call("send_mail", {"to": "a@b.c", "text": "x"}, id="m1")
    chat_server.state.script(tool_calls_reply(mail), reply("ok"))
    engine = make_engine(tools=tools)
    iid = await start(store, engine)
    task = store.set(engine.actions.execute_message, iid, "Mail")
    await wait_for_status(store, engine, iid, "awaiting_approval")
    with pytest.raises(InstanceBusyError, match="awaiting_approval"):
        store.set(engine.actions.execute_message, iid, "again")
    store.set(engine.actions.approve_tool_call, iid, "m1", True)
    await task


async def test_approving_a_call_that_is_not_awaiting_approval_is_refused_naming_it(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    tools, _ = make_tools()
    mail = tool_call("send_mail", {"to": "a@b.c", "text": "x"}, id="m1")
    chat_server.state.script(tool_calls_reply(mail), reply("ok"))
    engine = make_engine(tools=tools)
    iid = await start(store, engine)
    task = store.set(engine.actions.execute_message, iid, "Mail")
    await wait_for_status(store, engine, iid, "awaiting_approval")
    with pytest.raises(ToolCallNotAwaitingError, match=r"no tool call 'zz'.*awaiting: 'm1'"):
        store.set(engine.actions.approve_tool_call, iid, "zz", True)
    store.set(engine.actions.approve_tool_call, iid, "m1", True)
    await task
    with pytest.raises(ToolCallNotAwaitingError):
        store.set(engine.actions.approve_tool_call, iid, "m1", True)


async def test_cancelling_a_turn_awaiting_approval_ends_it_and_runs_no_tool(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    tools, sent = make_tools()
    mail = tool_call("send_mail", {"to": "a@b.c", "text": "x"}, id="m1")
    chat_server.state.script(tool_calls_reply(mail))
    engine = make_engine(tools=tools)
    iid = await start(store, engine)
    task = store.set(engine.actions.execute_message, iid, "Mail")
    await wait_for_status(store, engine, iid, "awaiting_approval")
    store.set(engine.actions.cancel, iid)
    result = await task
    assert result.status == "cancelled"
    assert store.get(engine.selectors.status(iid)) == "ready"
    assert sent == [] and len(chat_server.state.requests) == 1


@given(rounds=st.lists(st.lists(st.booleans(), min_size=1, max_size=3), max_size=4))
def test_folding_tool_rounds_keeps_every_call_and_answer_in_order(
    rounds: list[list[bool]],
) -> None:
    asked = ChatMessage(role="user", content="q")
    events: list[InstanceEvent] = [TurnStarted(turn_id="t", messages=[asked], user_input="q")]
    expected: list[ChatMessage] = [asked]
    waits: list[bool] = []
    for number, approvals in enumerate(rounds):
        calls = [ToolCall(id=f"{number}-{i}", name="f") for i in range(len(approvals))]
        message = assistant_message("", calls)
        awaiting = tuple(call for call, needs in zip(calls, approvals, strict=True) if needs)
        events.append(ToolCallsRequested("t", message, awaiting))
        waits.append(bool(awaiting))
        events += [ToolCallDecided("t", call.id, True) for call in awaiting]
        answers = [ToolResult(call.id, "f", "ok").message() for call in calls]
        events += [ToolCallAnswered("t", answer) for answer in answers]
        expected += [message, *answers]
    final = ChatMessage(role="assistant", content="done")
    events.append(TurnCompleted(turn_id="t", message=final, completion=ChatCompletion(text="done")))
    state = InstanceState(id="i", status="ready")
    statuses = []
    for event in events:
        before = attrs.evolve(state)
        new = reduce_instance(state, event)
        assert state == before and reduce_instance(state, event) == new  # pure
        state = new
        if isinstance(event, ToolCallsRequested):
            statuses.append(state.status == "awaiting_approval")
        assert state.is_busy or isinstance(event, TurnCompleted)
    assert statuses == waits
    assert state.messages == (*expected, final)
    assert state.status == "completed" and state.turn is None
