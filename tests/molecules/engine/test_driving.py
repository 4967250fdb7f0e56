"""Driving an instance by hand (the Redux engine's actions), recorded like any turn.

Run tracking on SQLite and PostgreSQL; the turn the engine runs itself goes to the local
chat server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from molecules import Store
from molecules.engine import (
    ConversationEngine,
    EngineConfigError,
    InstanceBusyError,
    InstanceExistsError,
    InstanceNotReadyError,
)
from runnable.chat.completion import ChatCompletion
from runnable.chat.execution import TurnCompleted, TurnDelta, TurnStarted, assistant_message
from runnable.messages import ChatMessage
from runnable.testing.openai_chat import reply
from runnable.tracking import RunStatus, RunStore
from tests.servers.fixtures import ChatServer

MakeEngine = Callable[..., ConversationEngine]


async def start(store: Store, engine: ConversationEngine, prompt: str) -> str:
    iid: str = await store.set(engine.actions.start_prompt_instance, prompt)
    return iid


async def test_create_instance_adds_a_state_as_given(make_engine: MakeEngine, store: Store) -> None:
    engine = make_engine()
    iid = store.set(
        engine.actions.create_instance,
        {
            "id": "i1",
            "prompt": {"name": "P", "messages": [{"role": "system", "content": "Hi {{who}}"}]},
            "prompt_ref": "prompt:p9",
            "variables": {"who": "Ada"},
        },
    )
    assert iid == "i1" and store.get(engine.selectors.status(iid)) == "ready"
    assert store.get(engine.selectors.system_message(iid)) == "Hi Ada"
    assert store.get(engine.selectors.instances_for_prompt("p9")) == ("i1",)


async def test_create_instance_refuses_an_id_in_use(make_engine: MakeEngine, store: Store) -> None:
    engine = make_engine()
    store.set(engine.actions.create_instance, {"id": "i1"})
    with pytest.raises(InstanceExistsError):
        store.set(engine.actions.create_instance, {"id": "i1", "current_input": "changed"})
    assert store.get(engine.selectors.current_input("i1")) == ""


async def test_create_instance_refuses_an_unknown_field_or_status(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    with pytest.raises(ValueError, match="colour"):
        store.set(engine.actions.create_instance, {"id": "i1", "colour": "red"})
    with pytest.raises(ValueError, match="unknown instance status 'sleeping'"):
        store.set(engine.actions.create_instance, {"id": "i2", "status": "sleeping"})
    assert store.get(engine.selectors.instance_ids) == ()


async def test_set_instance_status_sets_status_and_error(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "plain")
    store.set(engine.actions.set_instance_status, iid, "error", "quota reached")
    error = store.get(engine.selectors.error(iid))
    assert store.get(engine.selectors.status(iid)) == "error"
    assert error is not None and error.message == "quota reached"
    with pytest.raises(ValueError, match="unknown instance status"):
        store.set(engine.actions.set_instance_status, iid, "asleep")


async def test_a_turn_driven_by_hand_streams_completes_and_is_recorded(
    make_engine: MakeEngine, store: Store, run_store: RunStore
) -> None:
    engine = make_engine(run_store=run_store)
    iid = await start(store, engine, "plain")
    store.set(engine.actions.set_current_input, iid, "What is 2+2?")
    turn_id = await store.set(engine.actions.start_execution, iid, "task-7")
    assert store.get(engine.selectors.status(iid)) == "executing"
    assert store.get(engine.selectors.current_input(iid)) == ""
    store.set(engine.actions.start_streaming, iid)
    store.set(engine.actions.apply_event, iid, TurnDelta(turn_id=turn_id, text="Fo"))
    assert store.get(engine.selectors.streaming_text(iid)) == "Fo"
    assert store.get(engine.selectors.is_response_ended(iid)) is False

    store.set(
        engine.actions.complete_execution,
        iid,
        "Four.",
        {"tokens_in": 12, "tokens_out": 2, "cost": 0.001, "latency_ms": 40.0},
    )
    await engine.drain()

    assert store.get(engine.selectors.is_response_ended(iid)) is True
    assert store.get(engine.selectors.display_messages(iid))[-1].content == "Four."
    totals = store.get(engine.selectors.stats(iid)).totals
    assert (totals.tokens_in, totals.tokens_out, totals.total_ms) == (12, 2, 40.0)
    task = await run_store.get_task("task-7")
    assert task is not None and task.status is RunStatus.SUCCESS
    assert (task.tokens_in, task.tokens_out, task.cost) == (12, 2, 0.001)
    assert task.response["text"] == "Four."
    assert task.inputs["user_input"] == "What is 2+2?"
    run = await run_store.get_run(task.run_id)
    assert run is not None and run.id == store.get(engine.selectors.run_id(iid))
    assert [m["role"] for m in run.messages] == ["system", "user", "assistant"]


async def test_a_turn_completed_with_apply_event_is_recorded(
    make_engine: MakeEngine, store: Store, run_store: RunStore
) -> None:
    engine = make_engine(run_store=run_store)
    iid = await start(store, engine, "plain")
    asked = [ChatMessage(role="user", content="Hi")]
    started = TurnStarted(turn_id="t1", messages=asked, user_input="Hi")
    store.set(engine.actions.apply_event, iid, started)
    completion = ChatCompletion(text="Hello", latency_ms=5.0)
    completed = TurnCompleted(
        turn_id="t1", message=assistant_message("Hello"), completion=completion
    )
    store.set(engine.actions.apply_event, iid, completed)
    await engine.drain()
    [run] = await run_store.list_runs()
    [task] = await run_store.list_tasks(run.id)
    assert task.status is RunStatus.SUCCESS and task.response["text"] == "Hello"
    assert store.get(engine.selectors.run_id(iid)) == run.id


async def test_two_turns_by_hand_land_in_one_run(
    make_engine: MakeEngine, store: Store, run_store: RunStore
) -> None:
    engine = make_engine(run_store=run_store)
    iid = await start(store, engine, "plain")
    for question in ("one", "two"):
        store.set(engine.actions.set_current_input, iid, question)
        await store.set(engine.actions.start_execution, iid)
        store.set(engine.actions.complete_execution, iid, f"answer {question}")
    await engine.drain()
    [run] = await run_store.list_runs()
    tasks = await run_store.list_tasks(run.id)
    assert [t.response["text"] for t in tasks] == ["answer one", "answer two"]


async def test_a_cancelled_turn_by_hand_is_recorded_cancelled(
    make_engine: MakeEngine, store: Store, run_store: RunStore
) -> None:
    engine = make_engine(run_store=run_store)
    iid = await start(store, engine, "plain")
    store.set(engine.actions.set_current_input, iid, "q")
    turn_id = await store.set(engine.actions.start_execution, iid, "task-c")
    store.set(engine.actions.apply_event, iid, TurnDelta(turn_id=turn_id, text="par"))
    store.set(engine.actions.cancel, iid)
    await engine.drain()
    task = await run_store.get_task("task-c")
    assert task is not None and task.status is RunStatus.CANCELLED
    assert store.get(engine.selectors.status(iid)) == "ready"


async def test_start_execution_refuses_a_busy_or_unready_instance(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "greeter")  # {{topic}} has no value
    with pytest.raises(InstanceNotReadyError, match="topic"):
        store.set(engine.actions.start_execution, iid)
    store.set(engine.actions.update_variable, iid, "topic", "tides")
    started = store.set(engine.actions.start_execution, iid)
    # Refused at once, while the first one's request is still rendering.
    with pytest.raises(InstanceBusyError):
        store.set(engine.actions.start_execution, iid)
    await started


async def test_start_streaming_needs_a_turn(make_engine: MakeEngine, store: Store) -> None:
    engine = make_engine()
    iid = await start(store, engine, "plain")
    with pytest.raises(InstanceNotReadyError, match="start_execution"):
        store.set(engine.actions.start_streaming, iid)


async def test_complete_execution_with_text_replaces_what_the_engine_streamed(
    make_engine: MakeEngine, store: Store, run_store: RunStore, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("w0 ", "w1 ", "w2 ", "w3", chunk_delay=0.3))
    engine = make_engine(run_store=run_store)
    iid = await start(store, engine, "plain")
    task = store.set(engine.actions.execute_message, iid, "Go")
    async with asyncio.timeout(5):
        while store.get(engine.selectors.streaming_text(iid)) == "":
            await asyncio.sleep(0.005)
    store.set(engine.actions.complete_execution, iid, "Edited.", {"tokens_out": 1})
    result = await task
    assert result.status == "success" and result.output == "Edited."
    assert store.get(engine.selectors.conversation_messages(iid))[-1].content == "Edited."
    [run] = await run_store.list_runs()
    [recorded] = await run_store.list_tasks(run.id)
    assert recorded.response["text"] == "Edited." and recorded.tokens_out == 1


async def test_complete_execution_refuses_unknown_stats(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "plain")
    await store.set(engine.actions.start_execution, iid)
    with pytest.raises(ValueError, match="speed"):
        store.set(engine.actions.complete_execution, iid, "x", {"speed": 3})
    assert store.get(engine.selectors.status(iid)) == "executing"


async def test_start_prompt_action_continues_the_run_it_is_given(
    make_engine: MakeEngine, store: Store, run_store: RunStore, chat_server: ChatServer
) -> None:
    from runnable.sources import InMemorySource

    actions = InMemorySource({"a1": {"prompt_ref": "prompt:plain"}})
    engine = make_engine(run_store=run_store, actions=actions)
    first = await store.set(engine.actions.start_prompt_action, "a1")
    await store.set(engine.actions.execute_message, first.instance_id, "remember 7")
    run_id = store.get(engine.selectors.run_id(first.instance_id))
    other = Store()
    again = await other.set(engine.actions.start_prompt_action, "a1", {"run_id": run_id})
    messages = other.get(engine.selectors.conversation_messages(again.instance_id))
    assert other.get(engine.selectors.run_id(again.instance_id)) == run_id
    assert [m.role for m in messages] == ["system", "user", "assistant"]


def test_start_execution_outside_an_event_loop_raises_and_queues_nothing() -> None:
    engine, store = ConversationEngine(), Store()
    prompt = {"name": "P", "messages": [{"role": "user", "content": "Hi"}]}
    iid = store.set(engine.actions.create_instance, {"id": "i1", "prompt": prompt})
    store.set(engine.actions.set_current_input, iid, "question")

    with pytest.raises(EngineConfigError, match="asyncio loop"):
        store.set(engine.actions.start_execution, iid)

    assert store.get(engine.selectors.status(iid)) == "ready"
    assert store.get(engine.selectors.turn(iid)) is None
    assert store.get(engine.selectors.current_input(iid)) == "question"
