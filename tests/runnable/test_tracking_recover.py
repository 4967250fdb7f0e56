"""Opening a run store with recover=True ends what a dead process left running."""

from __future__ import annotations

from runnable.tracking import RunStatus, RunStore
from tests.db_fixtures import Database


async def _left_running(database: Database) -> str:
    store = await RunStore.open(database.url, schema=database.schema)
    run = await store.create_run(name="crashed")
    await store.add_task(run.id, node_id="n")
    await store.close()  # the process "dies" without finishing the run
    return run.id


async def test_recover_marks_unfinished_runs_and_tasks_interrupted(database: Database) -> None:
    run_id = await _left_running(database)
    store = await RunStore.open(database.url, schema=database.schema, recover=True)
    try:
        assert (await store.get_run(run_id)).status == RunStatus.INTERRUPTED
        tasks = await store.list_tasks(run_id)
        assert [t.status for t in tasks] == [RunStatus.INTERRUPTED]
    finally:
        await store.close()


async def test_by_default_another_process_runs_are_left_alone(database: Database) -> None:
    run_id = await _left_running(database)
    store = await RunStore.open(database.url, schema=database.schema)
    try:
        assert (await store.get_run(run_id)).status == RunStatus.RUNNING
    finally:
        await store.close()
