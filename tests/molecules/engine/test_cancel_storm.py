"""Cancelling at any moment leaves nothing half-done: no instance executing, no open row.

Random cancels (0-30 ms after the start) of tracked turns and of tracked chains, on
SQLite and PostgreSQL: once the cancelled work settles, every instance is out of
`executing`/`streaming` and every `ai_runs`/`ai_tasks` row is terminal.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from bridge import create_default_bridge
from molecules import Store
from molecules.engine import ConversationEngine
from runnable.chat.provider import ChatProvider
from runnable.sources import InMemorySource
from runnable.testing.openai_chat import reply
from runnable.tracking import RunStore
from runnable.tracking.models import TERMINAL_STATUSES
from runnable.tracking.tables import ai_runs, ai_tasks
from tests.servers.fixtures import ChatServer

TRIALS = 100
BUSY = ("executing", "streaming", "pending")


async def open_rows(run_store: RunStore) -> list[tuple[str, str]]:
    terminal = {status.value for status in TERMINAL_STATUSES}
    found: list[tuple[str, str]] = []
    async with run_store.engine.connect() as conn:
        for table in (ai_runs, ai_tasks):
            rows = (await conn.execute(select(table.c.id, table.c.status))).all()
            found += [(table.name, row.status) for row in rows if row.status not in terminal]
    return found


async def test_random_cancels_of_tracked_turns_leave_nothing_running(
    make_engine: Callable[..., ConversationEngine],
    run_store: RunStore,
    chat_server: ChatServer,
) -> None:
    rng = random.Random(7)
    chat_server.state.script(
        *[reply(*[f"t{i} " for i in range(6)], chunk_delay=0.004) for _ in range(TRIALS)]
    )
    engine = make_engine(run_store=run_store)
    store = Store()
    instances: list[str] = []
    for trial in range(TRIALS):
        iid: str = await store.set(engine.actions.start_prompt_instance, "plain", {})
        instances.append(iid)
        turn = asyncio.ensure_future(store.set(engine.actions.execute_message, iid, f"q{trial}"))
        await asyncio.sleep(rng.uniform(0, 0.03))
        if trial % 2:
            turn.cancel()  # the caller gives up
        else:
            store.set(engine.actions.cancel, iid)  # the user presses stop
        await asyncio.gather(turn, return_exceptions=True)
    await engine.drain()
    stuck = [iid for iid in instances if store.get(engine.state(iid)).status in BUSY]
    assert stuck == []
    # A conversation's run stays open (pending) between turns; no turn is left running.
    assert [row for row in await open_rows(run_store) if row != ("ai_runs", "pending")] == []


async def test_random_cancels_of_tracked_chains_leave_nothing_running(
    provider: ChatProvider, run_store: RunStore, chat_server: ChatServer
) -> None:
    rng = random.Random(11)
    chat_server.state.script(
        *[reply(*[f"t{i} " for i in range(6)], chunk_delay=0.004) for _ in range(2 * TRIALS)]
    )
    prompt = {"messages": [{"role": "user", "content": "Say {{word}}"}]}
    bridge = create_default_bridge(
        {"prompt": InMemorySource({"p": prompt})}, provider=provider, run_store=run_store
    )
    chain: dict[str, Any] = {
        "nodes": [{"id": "a", "ref": "prompt:p"}, {"id": "b", "ref": "prompt:p"}],
        "connections": [
            {
                "source": "a",
                "target": "b",
                "input_mappings": [{"target_key": "word", "source_path": "output"}],
            }
        ],
    }
    store = Store()
    for _ in range(TRIALS):
        run = await bridge.run_chain(chain, store=store, testcase={"word": "hi"})
        waiting = asyncio.ensure_future(run.wait())
        await asyncio.sleep(rng.uniform(0, 0.03))
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await run.aclose()
    assert bridge.recorder is not None
    await bridge.recorder.drain()
    assert await open_rows(run_store) == []
