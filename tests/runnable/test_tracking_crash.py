"""A process killed mid-stream leaves its run unfinished, with the flushed reply on disk."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from runnable.tracking import Interrupted, RunStatus, RunStore

PROJECT_ROOT = Path(__file__).resolve().parents[2]

STREAMING_SCRIPT = """
import asyncio, sys
from runnable.tracking import RunStore

async def main(path):
    store = await RunStore.open(path)
    run = await store.create_run(name="doomed", runnable_ref="prompt:p1")
    task = await store.add_task(run.id, node_id="turn-1", request={"model": "m"})
    flusher = store.partial_flusher(task.id, interval=0.05)
    for i in range(40):
        await flusher.append(f"tok{i} ")
        await asyncio.sleep(0.005)
    await flusher.flush()
    print("FLUSHED", run.id, task.id, flush=True)
    # Still streaming when the kill comes: this chunk is buffered and never written.
    flusher.interval = 3600
    await flusher.append("never-flushed")
    await asyncio.sleep(3600)

asyncio.run(main(sys.argv[1]))
"""


async def test_a_killed_stream_keeps_its_partial_text_and_becomes_interrupted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "runs.sqlite"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", STREAMING_SCRIPT, str(path), stdout=asyncio.subprocess.PIPE, env=env
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
        marker, run_id, task_id = line.decode().split()
        assert marker == "FLUSHED"
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL

    store = await RunStore.open(path, recover=False)  # look before recovering
    try:
        task = await store.get_task(task_id)
        run = await store.get_run(run_id)
        assert task is not None and run is not None
        assert task.partial_text == "".join(f"tok{i} " for i in range(40))
        assert (run.status, task.status) == (RunStatus.RUNNING, RunStatus.RUNNING)
        assert task.ttft_ms is not None

        assert await store.mark_interrupted() == Interrupted(runs=1, tasks=1)
        task = await store.get_task(task_id)
        run = await store.get_run(run_id)
    finally:
        await store.close()
    assert task is not None and run is not None
    assert (run.status, task.status) == (RunStatus.INTERRUPTED, RunStatus.INTERRUPTED)
    assert task.partial_text.endswith("tok39 ")


WRITE_BEHIND_SCRIPT = """
import asyncio, sys
from runnable.tracking import RunStore

async def main(path):
    store = await RunStore.open(path, linger=0.2)
    with store.write_behind():
        for i in range(20):
            store.queue_run(id=f"behind-{i}", name="recorded")
    await asyncio.sleep(1.0)  # five lingers: committed, though nobody waited for them
    with store.write_behind():
        store.queue_run(id="too-recent", name="recorded")
    print("QUEUED", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main(sys.argv[1]))
"""


async def test_a_killed_process_keeps_the_write_behind_records_older_than_the_linger(
    tmp_path: Path,
) -> None:
    path = tmp_path / "runs.sqlite"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITE_BEHIND_SCRIPT,
        str(path),
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
        assert line.decode().strip() == "QUEUED"
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    store = await RunStore.open(path)
    try:
        kept = {run.id for run in await store.list_runs(limit=50)}
    finally:
        await store.close()
    assert {f"behind-{i}" for i in range(20)} <= kept
