"""PartialTextWriter: streamed text reaches the task in the background, never blocking."""

from __future__ import annotations

import asyncio
import time

from runnable.tracking import PartialTextWriter, RunStore


async def new_task(run_store: RunStore) -> str:
    run = await run_store.create_run()
    return (await run_store.add_task(run.id)).id


async def partial(run_store: RunStore, task_id: str) -> str:
    task = await run_store.get_task(task_id)
    assert task is not None
    return task.partial_text


async def wait_for_text(run_store: RunStore, task_id: str, text: str) -> float:
    started = time.monotonic()
    async with asyncio.timeout(5):
        while await partial(run_store, task_id) != text:
            await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_the_first_chunk_is_written_at_once_with_its_ttft(run_store: RunStore) -> None:
    task_id = await new_task(run_store)
    writer = PartialTextWriter(run_store, task_id, interval=10)
    writer.add("Hel", ttft_ms=42.0)
    assert await wait_for_text(run_store, task_id, "Hel") < 2
    task = await run_store.get_task(task_id)
    assert task is not None and task.ttft_ms == 42.0
    await writer.aclose()


async def test_chunks_in_one_interval_are_one_write(run_store: RunStore) -> None:
    task_id = await new_task(run_store)
    writer = PartialTextWriter(run_store, task_id, interval=0.2)
    writer.add("a")
    await wait_for_text(run_store, task_id, "a")
    for piece in "bcdef":
        writer.add(piece)
    await wait_for_text(run_store, task_id, "abcdef")  # within the interval, no more chunks
    await writer.aclose()
    assert writer.writes == 2


async def test_adding_never_waits_for_the_database(run_store: RunStore) -> None:
    task_id = await new_task(run_store)
    writer = PartialTextWriter(run_store, task_id, interval=0.05)
    started = time.perf_counter()
    for i in range(2000):
        writer.add(f"{i} ")
    assert time.perf_counter() - started < 0.5  # no await: nothing could have been written
    await writer.aclose()
    assert await partial(run_store, task_id) == "".join(f"{i} " for i in range(2000))


async def test_closing_writes_what_is_left_at_once(run_store: RunStore) -> None:
    task_id = await new_task(run_store)
    writer = PartialTextWriter(run_store, task_id, interval=3600)
    writer.add("first ")
    await wait_for_text(run_store, task_id, "first ")
    writer.add("last")
    started = time.monotonic()
    await writer.aclose()
    assert time.monotonic() - started < 2
    assert await partial(run_store, task_id) == "first last"
