"""The run store's write queue: batches, one bad write, backpressure, close, reopen.

Against real SQLite and PostgreSQL (the `run_store` fixture runs each test on both).
"""

from __future__ import annotations

import asyncio
import gc

import pytest

from runnable.runner.events import RunCompleted, RunStarted
from runnable.tracking import (
    RunNotFoundError,
    RunRecorder,
    RunStatus,
    RunStore,
    TaskNotFoundError,
    TrackingBackendError,
)
from runnable.types import ExecutionStatus
from tests.db_fixtures import Database


async def test_concurrent_writes_share_transactions_and_all_land(run_store: RunStore) -> None:
    before = run_store.transactions
    runs = await asyncio.gather(*(run_store.create_run(name=f"r{i}") for i in range(200)))
    assert run_store.transactions - before < 20
    assert await run_store.count_runs() == 200
    assert {run.name for run in await run_store.list_runs(limit=500)} == {run.name for run in runs}


async def test_a_task_added_and_finished_in_one_batch_is_one_finished_row(
    run_store: RunStore,
) -> None:
    run = await run_store.create_run()
    added = run_store.queue_task(run.id, id="t1", node_id="n")
    appended = run_store.queue_append("t1", "Hel", ttft_ms=5.0)
    more = run_store.queue_append("t1", "lo")
    ended = run_store.queue_finish_task("t1", "success", {"text": "Hello"}, tokens_out=2)
    late = run_store.queue_append("t1", "never")
    assert await asyncio.gather(added, appended, more, ended, late) == [
        True,
        True,
        True,
        True,
        False,
    ]
    task = await run_store.get_task("t1")
    assert task is not None
    assert (task.status, task.partial_text, task.ttft_ms) == (RunStatus.SUCCESS, "Hello", 5.0)
    assert (task.response, task.tokens_out) == ({"text": "Hello"}, 2)
    assert task.finished_at is not None


async def test_one_bad_write_fails_alone_and_the_rest_of_its_batch_lands(
    run_store: RunStore,
) -> None:
    run = await run_store.create_run()
    await run_store.add_task(run.id, id="taken")
    good = [run_store.queue_task(run.id, id=f"ok{i}") for i in range(3)]
    duplicate = run_store.queue_task(run.id, id="taken")
    orphan = run_store.queue_task("no-such-run", id="orphan")
    outcomes = await asyncio.gather(*good, duplicate, orphan, return_exceptions=True)
    assert outcomes[:3] == [True, True, True]
    assert isinstance(outcomes[3], TrackingBackendError)
    assert isinstance(outcomes[4], TrackingBackendError)
    assert [t.id for t in await run_store.list_tasks(run.id)] == ["taken", "ok0", "ok1", "ok2"]


async def test_a_failed_batch_is_retried_from_its_writes_as_they_were_queued(
    run_store: RunStore,
) -> None:
    # The batch folds the append and the end into the new task's row; the duplicate fails
    # it, and the retry, one write at a time, must find the insert's row untouched by that
    # fold, or the text is appended twice.
    run = await run_store.create_run()
    await run_store.add_task(run.id, id="taken")
    writes = [
        run_store.queue_task(run.id, id="t1"),
        run_store.queue_append("t1", "Hello"),
        run_store.queue_finish_task("t1", "success", {"text": "Hello"}),
        run_store.queue_task(run.id, id="taken"),
    ]
    outcomes = await asyncio.gather(*writes, return_exceptions=True)
    assert outcomes[:3] == [True, True, True]
    assert isinstance(outcomes[3], TrackingBackendError)
    task = await run_store.get_task("t1")
    assert task is not None
    assert (task.status, task.partial_text) == (RunStatus.SUCCESS, "Hello")


async def test_writes_to_missing_records_raise_not_found_and_ended_ones_return_false(
    run_store: RunStore,
) -> None:
    run = await run_store.create_run()
    await run_store.finish_run(run.id, "cancelled")
    results = await asyncio.gather(
        run_store.update_run("missing", name="x"),
        run_store.append_partial("missing", "x"),
        run_store.update_run(run.id, name="late"),
        run_store.finish_run(run.id, "success"),
        return_exceptions=True,
    )
    assert isinstance(results[0], RunNotFoundError) and isinstance(results[1], TaskNotFoundError)
    assert results[2:] == [False, False]
    stored = await run_store.get_run(run.id)
    assert stored is not None and (stored.status, stored.name) == (RunStatus.CANCELLED, None)


async def test_a_run_finished_in_the_batch_that_ends_its_tasks_totals_them(
    run_store: RunStore,
) -> None:
    run = await run_store.create_run()
    await asyncio.gather(*(run_store.add_task(run.id, id=f"t{i}") for i in range(3)))
    ends = [
        run_store.queue_finish_task(f"t{i}", "success", tokens_in=i, cost=0.5) for i in range(3)
    ]
    finished = run_store.queue_finish_run(run.id, "success", stats={"rows": 1})
    assert await asyncio.gather(*ends, finished) == [True] * 4
    stored = await run_store.get_run(run.id)
    assert stored is not None
    assert stored.stats["tasks"] == 3 and stored.stats["tokens_in"] == 3
    assert stored.stats["cost"] == pytest.approx(1.5) and stored.stats["rows"] == 1


async def test_a_full_queue_makes_awaited_writes_wait_until_it_drains(
    database: Database,
) -> None:
    store = RunStore(database.url, schema=database.schema, max_pending=10)
    await store.init()
    try:
        queued = [store.queue_run(name=f"q{i}") for i in range(10)]
        room = asyncio.ensure_future(store.room())
        await asyncio.sleep(0)
        assert not room.done()  # ten writes wait: no room until some are committed
        await asyncio.wait_for(room, 30)
        await asyncio.gather(*queued)
        assert await store.count_runs() == 10
    finally:
        await store.close()


async def test_closing_the_store_commits_what_is_queued(database: Database) -> None:
    store = await RunStore.open(database.url, schema=database.schema)
    for i in range(50):
        store.queue_run(id=f"run-{i}", name="queued")
    await store.close()
    reader = RunStore(database.url, schema=database.schema)
    try:
        assert await reader.count_runs() == 50
    finally:
        await reader.close()


async def test_a_reopened_run_is_running_again_and_refuses_nothing_after(
    run_store: RunStore,
) -> None:
    run = await run_store.create_run()
    await run_store.add_task(run.id, id="t")
    await run_store.finish_task("t", "error", error="boom")
    await run_store.finish_run(run.id, "error", error="boom")
    reopened = run_store.queue_reopen_run(run.id)
    task = run_store.queue_reopen_task("t", inputs={"x": 1})
    new = run_store.queue_reopen_task("t2", or_add={"run_id": run.id, "node_id": "n2"})
    ended = run_store.queue_finish_task("t", "success", {"ok": True})
    assert await asyncio.gather(reopened, task, new, ended) == [True] * 4
    stored = await run_store.get_run(run.id)
    first, second = await run_store.list_tasks(run.id)
    assert stored is not None and (stored.status, stored.error) == (RunStatus.RUNNING, None)
    assert (first.status, first.response, first.inputs) == (
        RunStatus.SUCCESS,
        {"ok": True},
        {"x": 1},
    )
    assert (second.id, second.status) == ("t2", RunStatus.RUNNING)
    with pytest.raises(TaskNotFoundError):
        await run_store.reopen_task("missing")


async def test_the_recorder_queues_without_waiting_and_drain_waits_for_the_rows(
    run_store: RunStore,
) -> None:
    recorder = RunRecorder(run_store, name="quick")
    recorder.on_event(RunStarted.fast(run_id="r1", node_ids=("n",), kind="chain", at=0.0))
    recorder.on_event(RunCompleted.fast(run_id="r1", status=ExecutionStatus.SUCCESS, at=0.0))
    await recorder.drain()
    stored = await run_store.get_run("r1")
    assert stored is not None and stored.status is RunStatus.SUCCESS
    assert recorder.errors == []


async def test_batched_finishes_racing_another_store_have_exactly_one_winner_each(
    run_store: RunStore, database: Database
) -> None:
    other = RunStore(database.url, schema=database.schema)
    try:
        run = await run_store.create_run()
        ids = [f"race-{i}" for i in range(30)]
        await asyncio.gather(*(run_store.add_task(run.id, id=task_id) for task_id in ids))
        ours = [run_store.queue_finish_task(task_id, "success") for task_id in ids]
        theirs = [other.finish_task(task_id, "cancelled") for task_id in ids]
        won = await asyncio.gather(asyncio.gather(*ours), asyncio.gather(*theirs))
        for task_id, mine, others in zip(ids, *won, strict=True):
            task = await run_store.get_task(task_id)
            assert task is not None and mine != others
            assert task.status is (RunStatus.SUCCESS if mine else RunStatus.CANCELLED)
    finally:
        await other.close()


async def test_closing_waits_for_the_writer_to_let_go_of_its_connection(
    database: Database,
) -> None:
    store = await RunStore.open(database.url, schema=database.schema)
    for i in range(50):
        store.queue_run(id=f"run-{i}")
    await store.close()
    # Nothing of the store still runs (a writer releasing its connection after close
    # would be cancelled mid-rollback when the loop ends).
    running = [t for t in asyncio.all_tasks() if "WriteQueue" in t.get_coro().__qualname__]
    assert running == []


async def test_write_behind_updates_fold_into_their_queued_insert_until_another_write_passes(
    run_store: RunStore,
) -> None:
    run = await run_store.create_run()
    failures: list[BaseException] = []
    writes = run_store.writes
    with run_store.write_behind(failures.append):
        added = run_store.queue_task(run.id, id="quick", node_id="n")
        renamed = run_store.queue_finish_task("quick", "success", {"text": "hi"}, tokens_out=1)
        slow = run_store.queue_task(run.id, id="slow")
        run_store.queue_append("slow", "partial")  # not an update: later ones stay behind it
        ended = run_store.queue_finish_task("slow", "error", error="boom")
    # The quick task's end went into its insert (one queued write, one future) ...
    assert renamed is added
    assert ended is not slow
    assert run_store.writes - writes == 5  # every write is counted, folded or not
    assert await asyncio.gather(added, slow, ended) == [True, True, True]
    quick, late = await run_store.get_task("quick"), await run_store.get_task("slow")
    assert quick is not None and late is not None
    assert (quick.status, quick.response, quick.tokens_out) == (
        RunStatus.SUCCESS,
        {"text": "hi"},
        1,
    )
    # ... and the slow one's end came after its streamed text, as it was queued.
    assert (late.status, late.partial_text) == (RunStatus.ERROR, "partial")
    assert failures == []


async def test_a_write_behind_failure_is_told_once_to_its_block_and_never_left_unretrieved(
    run_store: RunStore, caplog: pytest.LogCaptureFixture
) -> None:
    failures: list[BaseException] = []
    with run_store.write_behind(failures.append):
        orphan = run_store.queue_task("no-such-run", id="orphan")
        assert run_store.queue_finish_task("orphan", "success") is orphan
    await run_store.flush()
    assert len(failures) == 1 and isinstance(failures[0], TrackingBackendError)
    assert orphan.done()
    del orphan  # nobody awaited it: asyncio would log its exception as never retrieved
    gc.collect()
    assert "never retrieved" not in caplog.text


async def test_a_writer_cancelled_mid_batch_leaves_nobody_waiting_for_its_writes(
    run_store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runnable.tracking import writes

    inside = asyncio.Event()

    async def stuck(conn: object, batch: object) -> list[bool | BaseException]:
        inside.set()
        await asyncio.Event().wait()  # a batch that never ends until its worker is cancelled
        raise AssertionError("unreachable")

    monkeypatch.setattr(writes, "apply_batch", stuck)
    recorder = RunRecorder(run_store)
    recorder.on_event(RunStarted.fast(run_id="r1", node_ids=("n",), kind="chain", at=0.0))
    waiting = asyncio.ensure_future(recorder.started("r1"))
    await asyncio.wait_for(inside.wait(), 30)  # r1's batch is in the database
    queued = run_store.queue_run(id="r2")  # after that batch: it stays queued
    [worker] = [t for t in asyncio.all_tasks() if "WriteQueue" in t.get_coro().__qualname__]
    worker.cancel()
    await asyncio.wait_for(waiting, 30)  # returns: r1's row will not come
    monkeypatch.undo()
    await asyncio.wait_for(run_store.flush(), 30)  # starts a worker again for r2
    assert queued.done() and queued.result() is True
    assert await run_store.get_run("r2") is not None
