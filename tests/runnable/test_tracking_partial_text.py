"""PartialFlusher: streamed text reaches the store in few writes, never later than interval."""

from __future__ import annotations

import asyncio

import pytest

from runnable.tracking import PartialFlusher, RunStore, TaskRecord


@pytest.fixture
async def task(run_store: RunStore) -> TaskRecord:
    run = await run_store.create_run()
    return await run_store.add_task(run.id)


async def saved_text(store: RunStore, task_id: str) -> str:
    stored = await store.get_task(task_id)
    assert stored is not None
    return stored.partial_text


async def test_the_first_chunk_is_written_at_once_with_its_ttft(
    run_store: RunStore, task: TaskRecord
) -> None:
    flusher = run_store.partial_flusher(task.id, interval=60)
    await flusher.append("Hel")
    stored = await run_store.get_task(task.id)
    assert stored is not None
    assert stored.partial_text == "Hel"
    assert stored.ttft_ms == flusher.ttft_ms and stored.ttft_ms is not None
    await flusher.aclose()


async def test_fast_chunks_are_batched_into_one_write(
    run_store: RunStore, task: TaskRecord
) -> None:
    flusher = run_store.partial_flusher(task.id, interval=60)
    for chunk in ["a", "b", "c", "d"]:
        await flusher.append(chunk)
    assert await saved_text(run_store, task.id) == "a"
    await flusher.aclose()
    assert await saved_text(run_store, task.id) == "abcd"
    assert flusher.writes == 2


async def test_buffered_text_is_written_within_the_interval_without_more_chunks(
    run_store: RunStore, task: TaskRecord
) -> None:
    flusher = run_store.partial_flusher(task.id, interval=0.1)
    await flusher.append("a")
    await flusher.append("b")
    assert await saved_text(run_store, task.id) == "a"
    for _ in range(100):  # the timer's write, seen without any further append
        await asyncio.sleep(0.02)
        if await saved_text(run_store, task.id) == "ab":
            break
    assert await saved_text(run_store, task.id) == "ab"
    assert flusher.writes == 2
    await flusher.aclose()


async def test_context_manager_writes_the_rest_on_exit(
    run_store: RunStore, task: TaskRecord
) -> None:
    async with PartialFlusher(run_store, task.id, interval=60) as flusher:
        for chunk in "streamed":
            await flusher.append(chunk)
    assert await saved_text(run_store, task.id) == "streamed"


async def test_chunks_after_the_task_ended_are_dropped_quietly(
    run_store: RunStore, task: TaskRecord
) -> None:
    flusher = run_store.partial_flusher(task.id, interval=60)
    await flusher.append("kept")
    await run_store.finish_task(task.id, "cancelled")
    await flusher.append(" dropped")
    await flusher.aclose()
    assert await saved_text(run_store, task.id) == "kept"


def test_the_default_interval_is_half_a_second(run_store: RunStore) -> None:
    assert run_store.partial_flusher("any").interval == 0.5


def test_a_non_positive_interval_is_refused(run_store: RunStore) -> None:
    with pytest.raises(ValueError, match="interval must be positive"):
        PartialFlusher(run_store, "any", interval=0)
