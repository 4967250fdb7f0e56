"""A process killed while the engine streams leaves its run open with the reply so far saved.

The child process runs the real engine against the local chat server and a real database;
the test kills it with SIGKILL mid-stream, then checks what the records say, recovers
them, and continues the conversation in this process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from molecules import Store
from molecules.engine import ConversationEngine
from runnable.chat.provider import ChatProvider
from runnable.testing.openai_chat import reply
from runnable.tracking import Interrupted, RunStatus, RunStore
from tests.db_fixtures import Database
from tests.servers.fixtures import ChatServer

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CHUNK_DELAY = 0.05
CHUNKS = [f"c{i:03d} " for i in range(400)]  # 5 characters each: length counts chunks

ENGINE_SCRIPT = """
import asyncio, sys
from molecules import Store
from molecules.engine import ConversationEngine
from runnable.chat.provider import ChatProvider
from runnable.tracking import RunStore

async def main(url, schema, base_url):
    run_store = await RunStore.open(url, schema=schema or None)
    async with ChatProvider(base_url, "sk-child-process-key") as provider:
        engine = ConversationEngine(provider=provider, run_store=run_store)
        store = Store()
        prompt = {"id": "crashy", "name": "Crashy", "settings": {"model": "gpt-4o-mini"},
                  "messages": [{"role": "system", "content": "Be brief."}]}
        iid = await store.set(engine.actions.start_prompt_instance, prompt)
        await store.set(engine.actions.execute_message, iid, "first question")
        turn = store.set(engine.actions.execute_message, iid, "second question")
        while True:
            tasks = await run_store.list_tasks(store.get(engine.selectors.run_id(iid)))
            if len(tasks) == 2 and tasks[1].partial_text:
                break
            await asyncio.sleep(0.02)
        print("STREAMING", tasks[1].run_id, tasks[1].id, flush=True)
        await turn

asyncio.run(main(*sys.argv[1:]))
"""


async def test_a_killed_engine_leaves_an_open_run_with_the_flushed_reply(
    database: Database, chat_server: ChatServer, tmp_path: Path
) -> None:
    url = database.url
    chat_server.state.script(
        reply("First answer.", usage=(5, 2)), reply(*CHUNKS, chunk_delay=CHUNK_DELAY)
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        ENGINE_SCRIPT,
        url,
        database.schema or "",
        chat_server.base_url,
        stdout=asyncio.subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
        marker, run_id, _task_id = line.decode().split()
        assert marker == "STREAMING"
        await asyncio.sleep(1.2)  # keep streaming (and flushing) for a while
    finally:
        killed_at = time.monotonic()
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    second_request = chat_server.state.requests[1]

    store = await RunStore.open(url, schema=database.schema, recover=False)  # look first
    try:
        run = await store.get_run(run_id)
        first, second = await store.list_tasks(run_id)
        assert run is not None and run.status is RunStatus.RUNNING
        assert (first.status, second.status) == (RunStatus.SUCCESS, RunStatus.RUNNING)
        assert "".join(CHUNKS).startswith(second.partial_text)
        # Flushed at least every 0.5 s: everything sent up to 0.5 s before the kill is saved
        # (0.4 s more for the two processes' scheduling on a busy machine).
        sent_by = (killed_at - 0.5 - 0.4 - second_request.received_at) / CHUNK_DELAY
        assert len(second.partial_text) // 5 >= int(sent_by)
        assert "sk-child-process-key" not in str(second.request)

        assert await store.mark_interrupted() == Interrupted(runs=1, tasks=1)
        run = await store.get_run(run_id)
        assert run is not None and run.status is RunStatus.INTERRUPTED

        # A new process picks the conversation up: up to the last answered turn, the
        # unanswered question back in the input box, and a new run that points at the old.
        async with ChatProvider(chat_server.base_url, "sk-parent") as provider:
            engine = ConversationEngine(provider=provider, run_store=store)
            session = Store()
            iid = await session.set(engine.actions.start_prompt_instance, None, {"run_id": run_id})
            messages = session.get(engine.selectors.conversation_messages(iid))
            assert [m.content for m in messages][-2:] == ["first question", "First answer."]
            assert session.get(engine.selectors.current_input(iid)) == "second question"
            result = await session.set(engine.actions.execute_message, iid)
            assert result.output == "echo: second question"
        [child_run] = await store.list_runs(parent_run_id=run_id)
        assert child_run.status is RunStatus.PENDING
    finally:
        await store.close()
