"""Conversation turns under a `json_schema` response format: the reply is parsed and
validated as an execution's is, against the local chat server."""

from __future__ import annotations

import json
from typing import Any

from molecules import Store
from molecules.engine import ConversationEngine
from runnable.sources import InMemorySource
from runnable.testing.openai_chat import reply
from runnable.tracking import RunStatus, RunStore
from tests.molecules.engine.test_tool_loop import MakeEngine
from tests.servers.fixtures import ChatServer

CAPITAL = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
}
STRUCTURED: dict[str, dict[str, Any]] = {
    "capital": {
        "name": "Capital",
        "messages": [{"role": "system", "content": "Answer with the capital, as JSON."}],
        "settings": {
            "model": "gpt-4o-mini",
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "capital", "schema": CAPITAL},
            },
        },
    }
}


async def start(store: Store, engine: ConversationEngine) -> str:
    iid: str = await store.set(engine.actions.start_prompt_instance, "capital", {})
    return iid


async def test_a_schema_valid_reply_is_parsed_into_the_turn_and_its_display_message(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer, run_store: RunStore
) -> None:
    chat_server.state.script(reply('{"city": "Oslo", ', '"population": 709000}'))
    engine = make_engine(prompts=InMemorySource(STRUCTURED), run_store=run_store)
    iid = await start(store, engine)

    result = await store.set(engine.actions.execute_message, iid, "Norway?")

    assert result.status == "success"
    assert result.structured_output == {"city": "Oslo", "population": 709000}
    assert result.output == '{"city": "Oslo", "population": 709000}'
    shown = store.get(engine.selectors.display_messages(iid))
    assert shown[-1].role == "assistant"
    assert shown[-1].structured == {"city": "Oslo", "population": 709000}
    # The parsed value is for display: the next request sends the model its own text only.
    chat_server.state.script(reply('{"city": "Rome", "population": 2750000}'))
    await store.set(engine.actions.execute_message, iid, "Italy?")
    sent = chat_server.state.requests[-1].body["messages"]
    assert sent[2] == {"role": "assistant", "content": '{"city": "Oslo", "population": 709000}'}
    await engine.drain()
    run_id = store.get(engine.state(iid)).run_id
    assert run_id is not None
    tasks = await run_store.list_tasks(run_id)
    assert [t.status for t in tasks] == [RunStatus.SUCCESS, RunStatus.SUCCESS]


async def test_a_schema_invalid_reply_fails_the_turn_naming_the_failing_path(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer, run_store: RunStore
) -> None:
    bad = '{"city": "Oslo", "population": "many"}'
    chat_server.state.script(reply(bad))
    engine = make_engine(prompts=InMemorySource(STRUCTURED), run_store=run_store)
    iid = await start(store, engine)

    result = await store.set(engine.actions.execute_message, iid, "Norway?")

    assert result.status == "error" and result.error is not None
    assert result.error.type == "StructuredOutputError"
    assert "at population: 'many' is not of type 'integer'" in result.error.message
    assert result.output == bad  # the model's text is kept as the output
    assert result.structured_output is None
    assert store.get(engine.selectors.status(iid)) == "error"
    error = store.get(engine.selectors.error(iid))
    assert error is not None and "at population" in error.message
    # The failed turn leaves the conversation as it was before it (empty here).
    assert store.get(engine.selectors.display_messages(iid)) == ()
    await engine.drain()
    run_id = store.get(engine.state(iid)).run_id
    assert run_id is not None
    (task,) = await run_store.list_tasks(run_id)
    assert task.status == RunStatus.ERROR
    assert task.error is not None
    assert "at population" in json.loads(task.error)["message"]


async def test_a_reply_that_is_not_json_fails_the_turn_at_the_root(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Oslo, I think."))
    engine = make_engine(prompts=InMemorySource(STRUCTURED))
    iid = await start(store, engine)

    result = await store.set(engine.actions.execute_message, iid, "Norway?")

    assert result.status == "error" and result.error is not None
    assert "not JSON" in result.error.message


async def test_a_prompt_without_a_schema_keeps_its_reply_as_text(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply('{"not": "parsed"}'))
    engine = make_engine()
    iid: str = await store.set(engine.actions.start_prompt_instance, "plain", {})

    result = await store.set(engine.actions.execute_message, iid, "JSON?")

    assert result.status == "success" and result.structured_output is None
    assert store.get(engine.selectors.display_messages(iid))[-1].structured is None
