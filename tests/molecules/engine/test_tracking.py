"""The engine records conversations in a RunStore: the same tests on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from molecules import Store
from molecules.engine import ConversationEngine
from runnable.chat.completion import ChatCompletion, ChatStreamEvent
from runnable.chat.protocol import MessageLike
from runnable.chat.provider import ChatProvider
from runnable.testing.openai_chat import reply
from runnable.tracking import RunRecord, RunStatus, RunStore
from tests.molecules.engine.conftest import API_KEY
from tests.servers.fixtures import ChatServer

MakeEngine = Callable[..., ConversationEngine]


async def start(store: Store, engine: ConversationEngine, prompt: Any, **options: Any) -> str:
    iid: str = await store.set(engine.actions.start_prompt_instance, prompt, options)
    return iid


async def only_run(run_store: RunStore) -> RunRecord:
    [run] = await run_store.list_runs()
    return run


class WatchingProvider:
    """Delegates to a real provider; records what the run store held when each call began."""

    def __init__(self, inner: ChatProvider, run_store: RunStore) -> None:
        self.inner = inner
        self.run_store = run_store
        self.seen: list[tuple[int, int]] = []  # (runs, tasks) at each call

    async def _count(self) -> None:
        runs = await self.run_store.list_runs()
        tasks = sum([len(await self.run_store.list_tasks(r.id)) for r in runs])
        self.seen.append((len(runs), tasks))

    async def stream(
        self, messages: Sequence[MessageLike], *, model: str | None = None, **settings: Any
    ) -> AsyncIterator[ChatStreamEvent]:
        await self._count()
        async for event in self.inner.stream(messages, model=model, **settings):
            yield event

    async def complete(
        self, messages: Sequence[MessageLike], *, model: str | None = None, **settings: Any
    ) -> ChatCompletion:
        await self._count()
        return await self.inner.complete(messages, model=model, **settings)


async def test_the_run_and_its_task_exist_before_the_model_is_called(
    make_engine: MakeEngine, store: Store, run_store: RunStore, provider: ChatProvider
) -> None:
    watching = WatchingProvider(provider, run_store)
    engine = make_engine(provider=watching, run_store=run_store)
    iid = await start(store, engine, "greeter", variables={"topic": "tides"})
    await store.set(engine.actions.execute_message, iid, "Hi")
    await store.set(engine.actions.execute_message, iid, "Again")
    assert watching.seen == [(1, 1), (1, 2)]


async def test_each_turn_adds_a_task_and_never_rewrites_an_earlier_one(
    make_engine: MakeEngine, store: Store, run_store: RunStore, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("One.", usage=(20, 2)), reply("Two.", usage=(30, 3)))
    engine = make_engine(run_store=run_store)
    iid = await start(store, engine, "greeter", variables={"topic": "tides"})
    await store.set(engine.actions.execute_message, iid, "first")
    run = await only_run(run_store)
    [first] = await run_store.list_tasks(run.id)
    await store.set(engine.actions.execute_message, iid, "second")

    tasks = await run_store.list_tasks(run.id)
    assert tasks[0] == first
    assert [t.node_id for t in tasks] == ["turn-1", "turn-2"]
    assert [t.status for t in tasks] == [RunStatus.SUCCESS, RunStatus.SUCCESS]
    assert [t.response["text"] for t in tasks] == ["One.", "Two."]
    assert [(t.tokens_in, t.tokens_out) for t in tasks] == [(20, 2), (30, 3)]
    assert tasks[1].cost == pytest.approx((30 * 0.15 + 3 * 0.60) / 1e6)
    assert tasks[0].variables["topic"].source == "user"
    assert store.get(engine.selectors.instance_for_run(run.id)) == iid


async def test_a_conversation_run_waits_between_turns_and_ends_when_cleared(
    make_engine: MakeEngine, store: Store, run_store: RunStore, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("A", usage=(5, 1)), reply("B", usage=(7, 1)))
    engine = make_engine(run_store=run_store)
    iid = await start(store, engine, "plain", run_name="support chat")
    await store.set(engine.actions.execute_message, iid, "q1")
    await store.set(engine.actions.execute_message, iid, "q2")
    run = await only_run(run_store)
    assert (run.status, run.name) == (RunStatus.PENDING, "support chat")
    assert [m["content"] for m in run.messages][-1] == "B"

    ending = store.set(engine.actions.clear_conversation, iid)
    assert ending is not None and await ending is True
    run = await only_run(run_store)
    assert run.status is RunStatus.SUCCESS
    assert (run.stats["tasks"], run.stats["tokens_in"], run.stats["tokens_out"]) == (2, 12, 2)
    await store.set(engine.actions.execute_message, iid, "new topic")
    assert len(await run_store.list_runs()) == 2


async def test_a_terminal_run_is_never_reopened_continuing_it_starts_a_child_run(
    make_engine: MakeEngine, store: Store, run_store: RunStore
) -> None:
    engine = make_engine(run_store=run_store)
    iid = await start(store, engine, "plain")
    await store.set(engine.actions.execute_message, iid, "q1")
    first = await only_run(run_store)
    await store.set(engine.actions.end_run, iid)

    again = await start(store, engine, None, run_id=first.id)
    assert [m.content for m in store.get(engine.selectors.conversation_messages(again))][-1] == (
        "echo: q1"
    )
    await store.set(engine.actions.execute_message, again, "q2")

    old = await run_store.get_run(first.id)
    assert old is not None and old.status is RunStatus.SUCCESS
    assert len(await run_store.list_tasks(first.id)) == 1
    [child] = await run_store.list_runs(parent_run_id=first.id)
    [turn] = await run_store.list_tasks(child.id)
    assert [m["content"] for m in turn.request["messages"]][-3:] == ["q1", "echo: q1", "q2"]


async def test_an_open_run_is_continued_in_place_with_its_conversation_and_variables(
    make_engine: MakeEngine, store: Store, run_store: RunStore, chat_server: ChatServer
) -> None:
    engine = make_engine(run_store=run_store)
    first = await start(store, engine, "greeter", variables={"topic": "tides"})
    await store.set(engine.actions.execute_message, first, "q1")
    run = await only_run(run_store)

    other = Store()  # another session (or a restarted server) picks the run up
    iid = await start(other, engine, None, run_id=run.id)
    assert other.get(engine.selectors.run_id(iid)) == run.id
    assert other.get(engine.selectors.merged_variables(iid))["topic"].value == "tides"
    assert len(other.get(engine.selectors.conversation_messages(iid))) == 3
    assert other.get(engine.selectors.stats(iid)).totals.turns == 1  # type: ignore[union-attr]
    await other.set(engine.actions.execute_message, iid, "q2")

    tasks = await run_store.list_tasks(run.id)
    assert [t.node_id for t in tasks] == ["turn-1", "turn-2"]
    assert chat_server.state.requests[-1].body["messages"][-1]["content"] == "q2"


async def test_streamed_text_reaches_the_store_while_the_reply_streams(
    make_engine: MakeEngine, store: Store, run_store: RunStore, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply(*[f"t{i} " for i in range(30)], chunk_delay=0.05))
    engine = make_engine(run_store=run_store, flush_interval=0.1)
    iid = await start(store, engine, "plain")
    task = store.set(engine.actions.execute_message, iid, "stream")
    seen = ""
    async with asyncio.timeout(10):
        while not task.done():
            run_id = store.get(engine.selectors.run_id(iid))
            if run_id is not None:
                tasks = await run_store.list_tasks(run_id)
                if tasks and tasks[0].status is RunStatus.RUNNING and tasks[0].partial_text:
                    seen = tasks[0].partial_text
                    break
            await asyncio.sleep(0.02)
    assert seen.startswith("t0 ") and len(seen) < len("".join(f"t{i} " for i in range(30)))
    store.set(engine.actions.cancel, iid)
    await task


async def test_a_cancelled_turn_is_recorded_cancelled_with_its_partial_text(
    make_engine: MakeEngine, store: Store, run_store: RunStore, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply(*[f"t{i} " for i in range(40)], chunk_delay=0.05))
    engine = make_engine(run_store=run_store)
    iid = await start(store, engine, "plain")
    task = store.set(engine.actions.execute_message, iid, "stream")
    async with asyncio.timeout(5):
        while len(store.get(engine.selectors.streaming_text(iid))) < 6:
            await asyncio.sleep(0.01)
    store.set(engine.actions.cancel, iid)
    result = await task
    [turn] = await run_store.list_tasks((await only_run(run_store)).id)
    assert turn.status is RunStatus.CANCELLED
    assert turn.response["text"] == result.output and turn.partial_text == result.output


async def test_a_failed_turn_is_recorded_with_an_error_that_has_no_key(
    make_engine: MakeEngine, store: Store, run_store: RunStore, chat_server: ChatServer
) -> None:
    chat_server.state.api_key = "the-right-key"
    engine = make_engine(run_store=run_store)
    iid = await start(store, engine, "plain")
    await store.set(engine.actions.execute_message, iid, "Hi")
    run = await only_run(run_store)
    [turn] = await run_store.list_tasks(run.id)
    assert turn.status is RunStatus.ERROR and turn.error is not None and "401" in turn.error
    assert API_KEY not in turn.error
    assert run.status is RunStatus.PENDING  # the user may retry in the same run


async def test_no_record_carries_an_api_key(
    make_engine: MakeEngine, store: Store, run_store: RunStore
) -> None:
    prompt = {
        "id": "keyed",
        "messages": [{"role": "user", "content": "Hi {{name}}"}],
        "settings": {"model": "gpt-4o-mini", "api_key": "sk-from-settings-123456"},
    }
    engine = make_engine(run_store=run_store)
    iid = await start(
        store, engine, prompt, variables={"name": "Ada", "openai_api_key": "sk-var-99"}
    )
    await store.set(engine.actions.execute_message, iid, "Bearer sk-in-text-0000")
    run = await only_run(run_store)
    tasks = await run_store.list_tasks(run.id)
    dumped = json.dumps([run.model_dump(mode="json"), *(t.model_dump(mode="json") for t in tasks)])
    for secret in (API_KEY, "sk-from-settings-123456", "sk-var-99"):
        assert secret not in dumped
    assert run.settings["api_key"] == "[REDACTED]"


async def test_an_untracked_instance_writes_no_run(
    make_engine: MakeEngine, store: Store, run_store: RunStore
) -> None:
    engine = make_engine(run_store=run_store)
    iid = await start(store, engine, "plain", config={"track_in_runs": False})
    await store.set(engine.actions.execute_message, iid, "Hi")
    assert await run_store.list_runs() == []


async def test_removing_an_instance_mid_stream_ends_its_turn_and_run_cancelled(
    make_engine: MakeEngine, store: Store, run_store: RunStore, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply(*["x "] * 40, chunk_delay=0.05))
    engine = make_engine(run_store=run_store)
    iid = await start(store, engine, "plain")
    task = store.set(engine.actions.execute_message, iid, "Hi")
    async with asyncio.timeout(5):
        while not store.get(engine.selectors.streaming_text(iid)):
            await asyncio.sleep(0.01)
    ending = store.set(engine.actions.remove_instance, iid)
    assert ending is not None and await ending is True
    assert (await task).status == "cancelled"
    run = await only_run(run_store)
    [turn] = await run_store.list_tasks(run.id)
    assert (run.status, turn.status) == (RunStatus.CANCELLED, RunStatus.CANCELLED)
    assert store.get(engine.selectors.instance_ids) == ()
