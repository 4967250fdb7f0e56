"""Reopening an ended run or task in place (a flow's step re-run inside its run)."""

from __future__ import annotations

import pytest

from runnable.tracking import RunNotFoundError, RunStatus, RunStore, TaskNotFoundError
from runnable.types import ErrorInfo


async def test_a_reopened_run_is_running_again_with_its_error_cleared(
    run_store: RunStore,
) -> None:
    run = await run_store.create_run(name="flow")
    await run_store.finish_run(run.id, RunStatus.ERROR, error=ErrorInfo(message="boom"))
    await run_store.reopen_run(run.id)
    reopened = await run_store.get_run(run.id)
    assert reopened is not None and reopened.status is RunStatus.RUNNING
    assert reopened.error is None and reopened.finished_at is None
    assert await run_store.finish_run(run.id, RunStatus.SUCCESS)
    ended = await run_store.get_run(run.id)
    assert ended is not None and ended.status is RunStatus.SUCCESS


async def test_a_reopened_task_loses_its_outcome_and_takes_new_inputs(
    run_store: RunStore,
) -> None:
    run = await run_store.create_run()
    task = await run_store.add_task(run.id, id="t1", inputs={"q": "old"})
    await run_store.append_partial("t1", "par")
    await run_store.finish_task(
        task.id, RunStatus.SUCCESS, {"text": "old"}, tokens_in=3, tokens_out=4, cost=0.5
    )
    await run_store.reopen_task("t1", inputs={"q": "new"})
    again = await run_store.get_task("t1")
    assert again is not None and again.status is RunStatus.RUNNING
    assert again.inputs == {"q": "new"} and again.partial_text == ""
    assert (again.response, again.tokens_in, again.tokens_out, again.cost) == (None,) * 4
    assert await run_store.finish_task("t1", RunStatus.SUCCESS, {"text": "new"})


async def test_reopening_what_does_not_exist_says_so(run_store: RunStore) -> None:
    with pytest.raises(RunNotFoundError):
        await run_store.reopen_run("nope")
    with pytest.raises(TaskNotFoundError):
        await run_store.reopen_task("nope")
