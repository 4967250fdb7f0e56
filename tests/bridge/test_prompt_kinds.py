"""Prompts, built-in prompts and actions run through a ChatProvider given to the bridge."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bridge import ExecutorNotAvailableError, RunnableBridge, create_default_bridge
from molecules import Store
from runnable.chat.provider import ChatProvider
from runnable.retry import RetryPolicy
from runnable.sources import InMemorySource
from runnable.testing.openai_chat import reply
from runnable.tracking import RunStore
from runnable.types import ExecutionStatus
from tests.servers.fixtures import ChatServer

KEY = "sk-test-bridge-secret"
PROMPT = {
    "name": "translator",
    "messages": [
        {"role": "system", "content": "Translate into {{language}}."},
        {"role": "user", "content": "{{text}}"},
    ],
    "settings": {"model": "gpt-4o-mini", "temperature": 0},
}


@pytest.fixture
async def provider(chat_server: ChatServer) -> AsyncIterator[ChatProvider]:
    async with ChatProvider(
        chat_server.base_url, KEY, retry=RetryPolicy(max_retries=0), timeout=5.0
    ) as made:
        yield made


def _bridge(provider: ChatProvider | None) -> RunnableBridge:
    return create_default_bridge(
        {
            "prompt": InMemorySource({"p1": PROMPT}),
            "action": InMemorySource(
                {"a1": {"prompt_ref": "p1", "hardcoded_values": {"language": "French"}}}
            ),
        },
        provider=provider,
    )


async def test_prompt_runs_through_the_provider_with_rendered_messages(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Bonjour", usage=(12, 2)))
    bridge = _bridge(provider)
    result = await bridge.execute(
        "prompt:p1", {"language": "French", "text": "Hello"}, store=Store()
    )
    assert result.status == ExecutionStatus.SUCCESS
    assert result.output == "Bonjour"
    assert result.metrics.tokens_in == 12
    sent = chat_server.state.requests[-1].body
    assert sent["messages"][0] == {"role": "system", "content": "Translate into French."}
    assert sent["model"] == "gpt-4o-mini"
    assert KEY not in result.model_dump_json()


async def test_action_supplies_its_hardcoded_values(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Salut"))
    bridge = _bridge(provider)
    store = Store()
    ports = await bridge.load("action:a1", store=store)
    assert ports is not None
    result = await bridge.execute("action:a1", {"text": "Hi"}, store=store)
    assert result.output == "Salut"
    assert chat_server.state.requests[-1].body["messages"][0]["content"] == (
        "Translate into French."
    )


async def test_without_a_provider_a_prompt_says_how_to_run_it() -> None:
    bridge = _bridge(None)
    with pytest.raises(ExecutorNotAvailableError, match="provider"):
        await bridge.execute("prompt:p1", {"language": "French", "text": "Hello"}, store=Store())


async def test_bridge_conversations_run_a_prompt_as_a_recorded_conversation(
    provider: ChatProvider, chat_server: ChatServer, run_store: RunStore
) -> None:
    chat_server.state.script(reply("Bon", "jour"), reply("Salut"))
    bridge = create_default_bridge(
        {"prompt": InMemorySource({"p1": PROMPT})}, provider=provider, run_store=run_store
    )
    engine = bridge.conversations
    assert engine is not None
    store = Store()
    iid = await store.set(
        engine.actions.start_prompt_instance,
        "p1",
        {"variables": {"language": "French", "text": "Translate this:"}},
    )
    first = await store.set(engine.actions.execute_message, iid, "Hello")
    second = await store.set(engine.actions.execute_message, iid, "Hi")
    assert (first.output, second.output) == ("Bonjour", "Salut")
    run_id = store.get(engine.selectors.state(iid)).run_id
    assert run_id is not None
    tasks = await run_store.list_tasks(run_id)
    assert len(tasks) == 2  # one task per turn, history never rewritten
    assert KEY not in str([t.request for t in tasks])
