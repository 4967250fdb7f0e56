"""A secret-named variable's rendered value never reaches a run's stored messages."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import select

from molecules import Store
from molecules.engine import ConversationEngine
from runnable.sources import InMemorySource
from runnable.tracking import RunStore
from runnable.tracking.tables import ai_runs, ai_tasks

SECRET = "purple elephant 42"
PROMPT = {"messages": [{"role": "system", "content": "Use key {{api_key}} for {{topic}}."}]}


async def test_the_runs_messages_and_requests_hold_no_rendered_secret(
    make_engine: Callable[..., ConversationEngine], run_store: RunStore
) -> None:
    engine = make_engine(prompts=InMemorySource({"keyed": PROMPT}), run_store=run_store)
    store = Store()
    variables = {"api_key": SECRET, "topic": "maps"}
    iid = await store.set(engine.actions.start_prompt_instance, "keyed", {"variables": variables})
    await store.set(engine.actions.execute_message, iid, "go")
    await store.set(engine.actions.clear_conversation, iid)
    await engine.drain()
    async with run_store.engine.connect() as conn:
        rows = [*(await conn.execute(select(ai_runs))).all()]
        rows += [*(await conn.execute(select(ai_tasks))).all()]
    stored = json.dumps([list(row) for row in rows], default=str)
    assert "for maps" in stored  # the messages were stored...
    assert SECRET not in stored  # ...without the secret
