"""Recording without waiting: a dataset's row runs written ahead, write-behind batches.

Against real SQLite and PostgreSQL (the `run_store` and `database` fixtures run each test
on both); the dataset runs through the real runner with the recorder as its observer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from runnable.chain import Chain, Node
from runnable.runner import NodeContext
from runnable.runner.dataset import DatasetRun, run_dataset
from runnable.runner.events import RunStarted
from runnable.tracking import RunRecorder, RunStatus, RunStore
from runnable.tracking.recorder import WRITE_AHEAD
from runnable.types import ExecutionMetrics, ExecutionResult, ExecutionStatus
from tests.db_fixtures import Database

CHAIN = Chain(nodes=[Node("echo", "prompt:p1")], connections=[])


def recorded_dataset(
    recorder: RunRecorder, rows: list[dict[str, Any]], execute: Any, **options: Any
) -> DatasetRun:
    """A dataset run observed by `recorder`, told its rows' run ids (as the bridge does)."""
    run = run_dataset(CHAIN, rows, execute, on_event=recorder.on_event, **options)
    recorder.expect(run.run_id, rows=rows, row_runs=run.row_run_ids)
    return run


async def test_a_dataset_names_each_rows_run_before_it_starts_and_runs_it_under_that_id() -> None:
    seen: list[str] = []

    async def execute(node: Node, inputs: Mapping[str, Any], ctx: NodeContext) -> str:
        seen.append(ctx.run_id)
        return "ok"

    rows = [{"i": i} for i in range(5)]
    run = run_dataset(CHAIN, rows, execute, row_concurrency=1)
    planned = run.row_run_ids
    result = await run.wait()
    assert [number for number, _ in planned] == [0, 1, 2, 3, 4]
    assert seen == [run_id for _, run_id in planned]
    assert [row.run_id for row in result.rows if row] == seen


async def test_rows_not_started_yet_are_pending_runs_on_disk_when_the_first_row_calls(
    run_store: RunStore,
) -> None:
    recorder = RunRecorder(run_store)
    found: dict[str, Any] = {}

    async def execute(node: Node, inputs: Mapping[str, Any], ctx: NodeContext) -> str:
        await recorder.started(ctx.run_id)
        if not found:
            mine = await run_store.get_run(ctx.run_id)
            found["mine"] = None if mine is None else mine.status
            found["pending"] = await run_store.count_runs(status=RunStatus.PENDING)
        return "ok"

    rows = [{"i": i} for i in range(10)]
    run = recorded_dataset(recorder, rows, execute, row_concurrency=1)
    result = await run.wait()
    await recorder.drain()
    assert recorder.errors == []
    # The row's own run is on disk before its call (pending or running: its start is
    # write-behind); the nine rows after it are written ahead, still pending.
    assert found["mine"] in (RunStatus.PENDING, RunStatus.RUNNING)
    assert found["pending"] >= 9
    children = await run_store.list_runs(parent_run_id=result.run_id, limit=20)
    assert {child.status for child in children} == {RunStatus.SUCCESS}
    assert sorted(child.name or "" for child in children)[:2] == ["chain row 0", "chain row 1"]
    assert {child.inputs["i"] for child in children} == set(range(10))


async def test_rows_written_ahead_that_never_start_end_cancelled_with_their_dataset(
    run_store: RunStore,
) -> None:
    recorder = RunRecorder(run_store)
    calls = 0
    release = asyncio.Event()

    async def execute(node: Node, inputs: Mapping[str, Any], ctx: NodeContext) -> str:
        nonlocal calls
        await recorder.started(ctx.run_id)
        calls += 1
        if calls == 3:
            release.set()
            await asyncio.sleep(3600)  # cancelled here
        return "ok"

    rows = [{"i": i} for i in range(10)]
    run = recorded_dataset(recorder, rows, execute, row_concurrency=1)
    waiting = asyncio.ensure_future(run.wait())
    await release.wait()
    run.cancel()
    result = await waiting
    await recorder.drain()
    assert recorder.errors == []
    assert result.status is ExecutionStatus.CANCELLED
    children = await run_store.list_runs(parent_run_id=result.run_id, limit=20)
    statuses = sorted(child.status.value for child in children)
    assert statuses == ["cancelled"] * 8 + ["success"] * 2
    assert await run_store.count_runs(status=RunStatus.PENDING) == 0


async def test_a_long_dataset_writes_its_rows_runs_in_chunks_not_a_transaction_per_row(
    run_store: RunStore,
) -> None:
    recorder = RunRecorder(run_store)

    async def execute(node: Node, inputs: Mapping[str, Any], ctx: NodeContext) -> str:
        await recorder.started(ctx.run_id)
        return "ok"

    rows = [{"i": i} for i in range(WRITE_AHEAD * 2 + 10)]
    before = run_store.transactions
    run = recorded_dataset(recorder, rows, execute, row_concurrency=4)
    result = await run.wait()
    await recorder.drain()
    assert recorder.errors == []
    assert await run_store.count_runs(parent_run_id=result.run_id) == len(rows)
    assert await run_store.count_runs(status=RunStatus.SUCCESS) == len(rows) + 1
    assert run_store.transactions - before < len(rows) // 10


async def test_write_behind_writes_wait_for_company_and_share_a_transaction(
    database: Database,
) -> None:
    store = await RunStore.open(database.url, schema=database.schema, linger=0.5)
    try:
        before = store.transactions
        queued = []
        for i in range(3):
            with store.write_behind():
                queued.append(store.queue_run(name=f"behind {i}"))
            await asyncio.sleep(0.02)
        assert not any(future.done() for future in queued)
        assert await asyncio.gather(*queued) == [True, True, True]
        assert store.transactions - before == 1
    finally:
        await store.close()


async def test_an_awaited_write_hurry_or_close_commits_write_behind_writes_at_once(
    database: Database,
) -> None:
    store = await RunStore.open(database.url, schema=database.schema, linger=3600)
    try:
        with store.write_behind():
            first = store.queue_run(id="behind-1")
        await asyncio.wait_for(store.create_run(id="awaited"), 30)
        assert await asyncio.wait_for(first, 30) is True  # taken into the awaited write's batch
        with store.write_behind():
            second = store.queue_run(id="behind-2")
        store.hurry()
        assert await asyncio.wait_for(second, 30) is True
        with store.write_behind():
            store.queue_run(id="behind-3")
    finally:
        await asyncio.wait_for(store.close(), 30)
    reader = RunStore(database.url, schema=database.schema)
    try:
        assert await reader.count_runs() == 4
    finally:
        await reader.close()


async def test_waiting_for_a_runs_row_hurries_the_write_behind_queue(database: Database) -> None:
    store = await RunStore.open(database.url, schema=database.schema, linger=3600)
    recorder = RunRecorder(store)
    try:
        recorder.on_event(RunStarted.fast(run_id="r1", node_ids=("n",), kind="chain", at=0.0))
        await asyncio.wait_for(recorder.started("r1"), 30)
        assert await store.get_run("r1") is not None
    finally:
        await store.close()


async def test_a_rows_stats_are_what_the_store_would_count_from_its_tasks(
    run_store: RunStore,
) -> None:
    # The recorder gives each run's totals (tasks, tokens, cost) from the events it
    # writes, so the store does not count them; they must be what counting would give.
    chain = Chain(
        nodes=[Node("ask", "prompt:p1"), Node("judge", "evaluator:e1")],
        connections=[],
    )

    async def execute(node: Node, inputs: Mapping[str, Any], ctx: NodeContext) -> Any:
        if node.id == "judge" and inputs["i"] % 3 == 0:
            raise ValueError("no verdict")
        metrics = ExecutionMetrics(tokens_in=inputs["i"], tokens_out=2, cost=0.25)
        return ExecutionResult(status=ExecutionStatus.SUCCESS, output="ok", metrics=metrics)

    recorder = RunRecorder(run_store)
    rows = [{"i": i} for i in range(7)]
    run = run_dataset(chain, rows, execute, on_event=recorder.on_event, row_concurrency=2)
    recorder.expect(run.run_id, rows=rows, row_runs=run.row_run_ids)
    result = await run.wait()
    await recorder.drain()
    assert not recorder.errors
    row_run_ids = [row.run_id for row in result.rows if row is not None]
    assert len(row_run_ids) == len(rows)
    for row_run_id in row_run_ids:
        stored = await run_store.get_run(row_run_id)
        tasks = await run_store.list_tasks(row_run_id)
        assert stored is not None and len(tasks) == 2
        counted = {
            "tasks": len(tasks),
            "tokens_in": sum(t.tokens_in or 0 for t in tasks),
            "tokens_out": sum(t.tokens_out or 0 for t in tasks),
            "cost": sum(t.cost or 0.0 for t in tasks),
        }
        assert {key: stored.stats[key] for key in counted} == counted
