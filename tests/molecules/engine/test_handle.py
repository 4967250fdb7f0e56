"""The instance handle (`engine.instance(iid, store)`): reads and actions of one instance."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from molecules import Store
from molecules.engine import ConversationEngine, InstanceHandle, InstanceNotFoundError
from runnable.testing.openai_chat import reply
from tests.servers.fixtures import ChatServer

MakeEngine = Callable[..., ConversationEngine]


async def open_handle(store: Store, engine: ConversationEngine, prompt: str) -> InstanceHandle:
    iid: str = await store.set(engine.actions.start_prompt_instance, prompt)
    return engine.instance(iid, store)


async def test_a_handle_sends_and_reads_the_conversation(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Moon ", "pull."))
    chat = await open_handle(store, make_engine(), "greeter")
    await chat.update_variable("topic", "tides")
    result = await chat.send("Short, please.")
    assert result.output == "Moon pull."
    assert [m.role for m in chat.display_messages] == ["system", "user", "assistant"]
    assert chat.status == "completed" and chat.get("is_response_ended") is True


async def test_handle_selectors_are_the_engines_atoms_for_that_instance(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    chat = await open_handle(store, engine, "greeter")
    assert chat.selectors.status is engine.selectors.status(chat.instance_id)
    assert chat.get("variable_names") == ("tone", "current_date", "topic")


async def test_an_unknown_selector_name_says_which_exist(
    make_engine: MakeEngine, store: Store
) -> None:
    chat = await open_handle(store, make_engine(), "plain")
    with pytest.raises(AttributeError, match="display_messages"):
        chat.get("no_such_selector")


async def test_update_variables_and_set_input_change_what_the_handle_reads(
    make_engine: MakeEngine, store: Store
) -> None:
    chat = await open_handle(store, make_engine(), "greeter")
    await chat.update_variables({"topic": "tides", "tone": "brisk"})
    await chat.set_input("draft")
    assert chat.variables["topic"] == "tides" and chat.variables["tone"] == "brisk"
    assert chat.current_input == "draft"


async def test_observe_gives_the_value_now_and_each_change(
    make_engine: MakeEngine, store: Store
) -> None:
    chat = await open_handle(store, make_engine(), "plain")
    seen: list[str] = []
    subscription = chat.observe("current_input").subscribe(seen.append)
    await chat.set_input("a")
    await chat.set_input("ab")
    subscription.dispose()
    await chat.set_input("abc")
    assert seen == ["", "a", "ab"]


async def test_add_resource_returns_its_position_and_rides_on_the_next_turn(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat = await open_handle(store, make_engine(), "plain")
    index = await chat.add_resource({"kind": "note", "name": "n", "content": "remember"})
    await chat.send("Read it")
    assert index == 0 and "remember" in str(chat_server.state.requests[-1].body["messages"])


async def test_cancel_stops_the_turn_and_returns_its_result(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("slow ", "reply ", "here", chunk_delay=0.5))
    chat = await open_handle(store, make_engine(), "plain")
    sending = asyncio.ensure_future(chat.send("Go"))
    async with asyncio.timeout(5):
        while chat.status != "streaming":
            await asyncio.sleep(0.005)
    result = await chat.cancel()
    assert result is not None and result.status == "cancelled"
    assert (await sending).status == "cancelled" and chat.status == "ready"


async def test_cancel_without_a_turn_returns_none(make_engine: MakeEngine, store: Store) -> None:
    chat = await open_handle(store, make_engine(), "plain")
    assert await chat.cancel() is None


async def test_clear_empties_the_conversation(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat = await open_handle(store, make_engine(), "plain")
    await chat.send("Hi")
    await chat.clear()
    assert chat.get("conversation_messages") == () and chat.get("is_response_ended") is False


async def test_remove_drops_the_instance(make_engine: MakeEngine, store: Store) -> None:
    engine = make_engine()
    chat = await open_handle(store, engine, "plain")
    await chat.remove()
    assert chat.state is None
    with pytest.raises(InstanceNotFoundError):
        engine.instance(chat.instance_id, store)


async def test_a_handle_for_an_unknown_instance_is_refused(
    make_engine: MakeEngine, store: Store
) -> None:
    with pytest.raises(InstanceNotFoundError, match="nope"):
        make_engine().instance("nope", store)
