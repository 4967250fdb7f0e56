"""Fixtures for the conversation engine: prompts, a provider on the local chat server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from molecules import Store
from molecules.engine import ConversationEngine
from runnable.chat.provider import ChatProvider
from runnable.retry import RetryPolicy
from runnable.sources import InMemorySource
from tests.servers.fixtures import ChatServer

API_KEY = "sk-engine-test-SECRET-9f8e7d6c5b4a"

PROMPTS: dict[str, dict[str, Any]] = {
    "greeter": {
        "name": "Greeter",
        "messages": [
            {"role": "system", "content": "You are {{tone}}. Today is {{current_date}}."},
            {"role": "user", "content": "Tell me about {{topic}}."},
        ],
        "settings": {"model": "gpt-4o-mini", "temperature": 0.3},
        "variable_defaults": {"tone": "calm"},
    },
    "plain": {
        "name": "Plain",
        "messages": [{"role": "system", "content": "Answer briefly."}],
        "settings": {"model": "gpt-4o-mini"},
    },
}
BUILTINS: dict[str, dict[str, Any]] = {
    "summarise": {
        "name": "Summarise",
        "messages": [{"role": "user", "content": "Summarise: {{text}}"}],
        "settings": {"model": "gpt-4o-mini"},
    },
}


@pytest.fixture
async def provider(chat_server: ChatServer) -> AsyncIterator[ChatProvider]:
    """A real ChatProvider talking to the local chat server (no retries)."""
    async with ChatProvider(
        chat_server.base_url, API_KEY, retry=RetryPolicy(max_retries=0), timeout=5.0
    ) as chat:
        yield chat


@pytest.fixture
def make_engine(provider: ChatProvider) -> Callable[..., ConversationEngine]:
    """Build an engine over the test prompts and provider; keyword arguments override."""

    def make(**overrides: Any) -> ConversationEngine:
        options: dict[str, Any] = {
            "prompts": InMemorySource(PROMPTS),
            "builtins": InMemorySource(BUILTINS),
            "provider": provider,
        }
        options.update(overrides)
        return ConversationEngine(**options)

    return make


@pytest.fixture
def store() -> Store:
    """A fresh store."""
    return Store()
