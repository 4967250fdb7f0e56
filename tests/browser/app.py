"""The server the browser tests drive: the bridge's app over seeded sources, a SQLite run
store in a temp file, and the OpenAI-compatible echo server as its model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge import create_default_bridge
from bridge.server import create_app
from runnable.chat.provider import ChatProvider
from runnable.sources import InMemorySource
from runnable.tracking import RunStore

PROMPTS: list[dict[str, Any]] = [
    {
        "id": "greeting",
        "name": "Greeting",
        "version": 1,
        "messages": [
            {"role": "system", "content": "You are a friendly assistant. Answer in a {{tone}} tone."},
            {"role": "user", "content": "Say hello to {{name}}."},
        ],
        "variable_defaults": {"tone": "warm"},
        "settings": {"model": "echo", "temperature": 0.2},
    },
    {
        "id": "summarize",
        "name": "Summarize",
        "version": 1,
        "messages": [{"role": "user", "content": "Summarize in one line: {{text}}"}],
        "settings": {"model": "echo"},
    },
]

EVALUATORS: list[dict[str, Any]] = [
    {"id": "exact", "name": "Exact match", "evaluator_key": "exact_match"},
    {"id": "similar", "name": "Similarity", "evaluator_key": "similarity"},
]


def playground_app(db_path: Path, chat_url: str) -> Any:
    """The ASGI app of the playground, its model the echo chat server at `chat_url`."""
    run_store = RunStore(db_path)
    bridge = create_default_bridge(
        sources={
            "prompt": InMemorySource(PROMPTS, name="prompt"),
            "evaluator_revision": InMemorySource(EVALUATORS, name="evaluator_revision"),
        },
        provider=ChatProvider(chat_url, model="echo"),
        run_store=run_store,
    )
    info = {"model": {"name": "echo", "offline": True}}
    return create_app(bridge, run_store=run_store, info=info, ping=1.0)
