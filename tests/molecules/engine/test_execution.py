"""Executing turns against the local chat server: streaming, chat, cancel, errors, stats."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from molecules import Store
from molecules.engine import (
    ChatNotAllowedError,
    ConversationEngine,
    InstanceBusyError,
    InstanceEvent,
    InstanceNotReadyError,
    InstanceState,
    replay,
)
from runnable.chat.completion import ChatDone
from runnable.chat.provider import ChatProvider
from runnable.retry import RetryPolicy
from runnable.sources import InMemorySource
from runnable.testing.openai_chat import reply
from tests.molecules.engine.conftest import API_KEY, PROMPTS
from tests.servers.fixtures import ChatServer

MakeEngine = Callable[..., ConversationEngine]


async def start(store: Store, engine: ConversationEngine, prompt: str, **options: object) -> str:
    iid: str = await store.set(engine.actions.start_prompt_instance, prompt, options)
    return iid


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def test_a_turn_streams_into_the_instance_and_completes(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Tides ", "follow ", "the moon.", usage=(40, 3)))
    engine = make_engine()
    iid = await start(store, engine, "greeter", variables={"topic": "tides"})
    statuses: list[str] = []
    store.sub(
        engine.selectors.status(iid),
        lambda: statuses.append(store.get(engine.selectors.status(iid))),
    )

    result = await store.set(engine.actions.execute_message, iid, "Keep it short.")

    assert result.status == "success" and result.output == "Tides follow the moon."
    assert statuses == ["executing", "streaming", "completed"]
    messages = store.get(engine.selectors.conversation_messages(iid))
    assert [m.role for m in messages] == ["system", "user", "assistant"]
    assert messages[1].content == "Tell me about tides.\n\nKeep it short."
    assert store.get(engine.selectors.streaming_text(iid)) == ""


async def test_display_messages_show_the_reply_while_it_streams(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("one ", "two ", "three", chunk_delay=0.15))
    engine = make_engine()
    iid = await start(store, engine, "plain")
    task = store.set(engine.actions.execute_message, iid, "Count")
    await wait_for(lambda: store.get(engine.selectors.streaming_text(iid)) == "one ")
    shown = store.get(engine.selectors.display_messages(iid))
    assert [(m.role, m.content) for m in shown][-2:] == [("user", "Count"), ("assistant", "one ")]
    live = store.get(engine.selectors.live_stats(iid))
    assert live is not None and live.chunks == 1 and live.ttft_ms is not None
    await task
    assert store.get(engine.selectors.live_stats(iid)) is None


async def test_a_second_message_is_refused_while_the_first_executes(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("slow", first_byte_delay=0.3))
    engine = make_engine()
    iid = await start(store, engine, "plain")
    task = store.set(engine.actions.execute_message, iid, "first")
    with pytest.raises(InstanceBusyError, match="executing"):
        store.set(engine.actions.execute_message, iid, "second")
    await task
    assert len(chat_server.state.requests) == 1


async def test_later_turns_send_the_history_without_rendering_it_again(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "greeter", variables={"topic": "{{tone}}"})
    await store.set(engine.actions.execute_message, iid, "Hi")
    store.set(engine.actions.update_variable, iid, "topic", "changed")
    await store.set(engine.actions.execute_message, iid, "Again")
    sent = chat_server.state.requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "Tell me about {{tone}}.\n\nHi"
    assert sent[3]["content"] == "Again"


async def test_the_current_input_is_the_default_message_and_is_cleared(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "plain", initial_message="from the box")
    await store.set(engine.actions.execute_message, iid)
    assert chat_server.state.requests[-1].body["messages"][-1]["content"] == "from the box"
    assert store.get(engine.selectors.current_input(iid)) == ""


async def test_an_explicit_message_is_appended_to_the_input_box_and_empties_it(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "plain")
    store.set(engine.actions.set_current_input, iid, "half-typed draft")
    await store.set(engine.actions.execute_message, iid, "sent by the app")
    sent = chat_server.state.requests[-1].body["messages"][-1]["content"]
    assert sent == "half-typed draft\n\nsent by the app"
    assert store.get(engine.selectors.current_input(iid)) == ""


async def test_an_explicit_message_into_an_empty_box_is_sent_as_it_is(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "plain")
    await store.set(engine.actions.execute_message, iid, "just this")
    assert chat_server.state.requests[-1].body["messages"][-1]["content"] == "just this"


async def test_the_initial_message_is_the_first_input_and_explicit_text_joins_it(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "plain", initial_message="Context: tides.")
    assert store.get(engine.selectors.current_input(iid)) == "Context: tides."
    await store.set(engine.actions.execute_message, iid, "Explain them.")
    sent = chat_server.state.requests[-1].body["messages"][-1]["content"]
    assert sent == "Context: tides.\n\nExplain them."


async def test_a_provider_without_timings_still_adds_up_the_total_time(
    provider: ChatProvider, store: Store, chat_server: ChatServer
) -> None:
    engine = ConversationEngine(prompts=InMemorySource(PROMPTS), provider=UntimedProvider(provider))
    iid = await start(store, engine, "plain")
    chat_server.state.script(reply("One ", "two."))
    result = await store.set(engine.actions.execute_message, iid, "Count")
    totals = store.get(engine.selectors.stats(iid)).totals
    assert totals.total_ms > 0 and result.metrics.latency_ms == totals.total_ms
    assert result.metrics.ttft_ms is not None


class UntimedProvider:
    """The real provider, with the timings taken out of what it reports."""

    def __init__(self, inner: ChatProvider) -> None:
        self.inner = inner

    async def stream(self, messages: Any, *, model: str | None = None, **settings: Any) -> Any:
        async for event in self.inner.stream(messages, model=model, **settings):
            if isinstance(event, ChatDone):
                untimed = {"latency_ms": None, "ttft_ms": None}
                event = ChatDone(completion=event.completion.model_copy(update=untimed))
            yield event

    async def complete(self, messages: Any, *, model: str | None = None, **settings: Any) -> Any:
        completion = await self.inner.complete(messages, model=model, **settings)
        return completion.model_copy(update={"latency_ms": None, "ttft_ms": None})


async def test_resources_ride_on_the_turn_and_kept_ones_stay(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "plain")
    store.set(engine.actions.add_resource, iid, {"kind": "note", "name": "n", "content": "kept"})
    store.set(engine.actions.keep_resource, iid, 0)
    store.set(engine.actions.add_resource, iid, {"kind": "note", "content": "once"})
    await store.set(engine.actions.execute_message, iid, "Read these")
    assert store.get(engine.selectors.resources(iid)) == ()
    await store.set(engine.actions.execute_message, iid, "And now?")
    first_user = chat_server.state.requests[-1].body["messages"][1]["content"]
    assert "kept" in first_user and "once" not in first_user


async def test_missing_variables_are_refused_before_any_call(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "greeter")
    with pytest.raises(InstanceNotReadyError) as caught:
        store.set(engine.actions.execute_message, iid, "Hi")
    assert caught.value.missing == ["topic"]
    assert chat_server.state.requests == []
    assert store.get(engine.selectors.status(iid)) == "ready"


async def test_without_allow_chat_a_second_turn_is_refused(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "plain", config={"allow_chat": False})
    await store.set(engine.actions.execute_message, iid, "once")
    with pytest.raises(ChatNotAllowedError, match="allow_chat"):
        store.set(engine.actions.execute_message, iid, "twice")
    store.set(engine.actions.clear_conversation, iid)
    assert (await store.set(engine.actions.execute_message, iid, "fresh")).status == "success"


async def test_auto_run_executes_the_initial_message_when_ready(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "plain", initial_message="auto", config={"auto_run": True})
    task = store.get(engine.selectors.turn_task(iid))
    assert task is not None
    assert (await task).output == "echo: auto"


async def test_auto_run_waits_when_a_variable_is_missing(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "greeter", config={"auto_run": True})
    assert store.get(engine.selectors.status(iid)) == "ready"
    assert chat_server.state.requests == []


async def test_cancel_stops_the_stream_and_keeps_what_was_streamed(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply(*[f"w{i} " for i in range(40)], chunk_delay=0.05))
    engine = make_engine()
    iid = await start(store, engine, "plain")
    task = store.set(engine.actions.execute_message, iid, "Go")
    await wait_for(lambda: len(store.get(engine.selectors.streaming_text(iid))) >= 6)
    assert store.set(engine.actions.cancel, iid) is task
    result = await task
    assert result.status == "cancelled" and result.output.startswith("w0 w1")
    assert store.get(engine.selectors.status(iid)) == "ready"
    last = store.get(engine.selectors.conversation_messages(iid))[-1]
    assert last.role == "assistant" and last.content == result.output
    assert await asyncio.to_thread(chat_server.state.disconnected.wait, 5)


async def test_complete_execution_keeps_the_partial_reply_as_complete(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply(*[f"w{i} " for i in range(40)], chunk_delay=0.05))
    engine = make_engine()
    iid = await start(store, engine, "plain")
    task = store.set(engine.actions.execute_message, iid, "Go")
    await wait_for(lambda: len(store.get(engine.selectors.streaming_text(iid))) >= 3)
    store.set(engine.actions.complete_execution, iid)
    result = await task
    assert result.status == "success"
    assert store.get(engine.selectors.status(iid)) == "completed"
    assert store.get(engine.selectors.stats(iid)).totals.turns == 1  # type: ignore[union-attr]


async def test_a_provider_error_ends_the_turn_in_error_without_the_key(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat_server.state.api_key = "a-different-key"  # the server quotes the key it was given
    engine = make_engine()
    iid = await start(store, engine, "plain")
    result = await store.set(engine.actions.execute_message, iid, "Hi")
    assert result.status == "error"
    error = store.get(engine.selectors.error(iid))
    assert error is not None and error.status_code == 401
    assert API_KEY not in error.message and API_KEY not in repr(result)
    assert store.get(engine.selectors.status(iid)) == "error"
    assert store.get(engine.selectors.current_input(iid)) == "Hi"  # ready to retry


async def test_an_error_mid_stream_keeps_the_conversation_unchanged(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("a", "b", "c", error_after=2, error_message="overloaded"))
    engine = make_engine()
    iid = await start(store, engine, "plain")
    result = await store.set(engine.actions.execute_message, iid, "Hi")
    assert result.status == "error" and "overloaded" in result.error.message  # type: ignore[union-attr]
    assert store.get(engine.selectors.conversation_messages(iid)) == ()
    assert (await store.set(engine.actions.execute_message, iid)).status == "success"


async def test_tokens_come_from_usage_and_cost_from_the_price_table(
    chat_server: ChatServer, make_engine: MakeEngine, store: Store
) -> None:
    chat_server.state.script(reply("x", usage=(1_000_000, 500_000)), reply("y", usage=(10, 10)))
    async with ChatProvider(
        chat_server.base_url,
        API_KEY,
        retry=RetryPolicy(max_retries=0),
        prices={"my-model": (2.0, 4.0)},
    ) as priced:
        engine = make_engine(provider=priced)
        iid = await start(store, engine, {"messages": [], "settings": {"model": "my-model"}})  # type: ignore[arg-type]
        await store.set(engine.actions.execute_message, iid, "a")
        await store.set(engine.actions.execute_message, iid, "b")
    stats = store.get(engine.selectors.stats(iid))
    assert stats is not None
    assert (stats.totals.tokens_in, stats.totals.tokens_out) == (1_000_010, 500_010)
    assert stats.totals.cost == pytest.approx(2.0 + 2.0 + (10 * 2.0 + 10 * 4.0) / 1e6)
    assert stats.last_turn is not None and stats.last_turn.tokens_in == 10


async def test_many_instances_stream_at_once_without_mixing(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    ids = [await start(store, engine, "plain") for _ in range(20)]
    tasks = [store.set(engine.actions.execute_message, iid, f"n{n}") for n, iid in enumerate(ids)]
    results = await asyncio.gather(*tasks)
    assert [r.output for r in results] == [f"echo: n{n}" for n in range(20)]
    for n, iid in enumerate(ids):
        assert store.get(engine.selectors.conversation_messages(iid))[-1].content == f"echo: n{n}"


async def test_replaying_a_live_turns_events_rebuilds_the_instance(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("a", "b", "c", usage=(3, 3)), reply("d", "e"))
    engine = make_engine()
    log: list[InstanceEvent] = []
    engine.listen(lambda iid, event: log.append(event))
    iid = await start(store, engine, "greeter", variables={"topic": "x"})
    await store.set(engine.actions.execute_message, iid, "1")
    await store.set(engine.actions.execute_message, iid, "2")
    assert replay(InstanceState(id=iid), log) == store.get(engine.state(iid))
