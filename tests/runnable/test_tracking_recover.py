"""Opening a run store recovers what a dead process left running (SQLite by default)."""

from __future__ import annotations

from pathlib import Path

from runnable.tracking import RunStatus, RunStore
from tests.db_fixtures import Database


async def _left_running(url: object, schema: str | None = None) -> str:
    store = await RunStore.open(url, schema=schema, recover=False)
    run = await store.create_run(name="crashed")
    await store.add_task(run.id, node_id="n")
    await store.close()  # the process "dies" without finishing the run
    return run.id


async def test_opening_a_sqlite_file_marks_unfinished_runs_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    run_id = await _left_running(path)
    store = await RunStore.open(path)
    try:
        assert (await store.get_run(run_id)).status == RunStatus.INTERRUPTED
        tasks = await store.list_tasks(run_id)
        assert [t.status for t in tasks] == [RunStatus.INTERRUPTED]
    finally:
        await store.close()


async def test_recover_false_leaves_them_alone(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    run_id = await _left_running(path)
    store = await RunStore.open(path, recover=False)
    try:
        assert (await store.get_run(run_id)).status == RunStatus.RUNNING
    finally:
        await store.close()


async def test_a_server_database_recovers_only_when_asked(database: Database) -> None:
    run_id = await _left_running(database.url, database.schema)
    store = await RunStore.open(database.url, schema=database.schema)
    try:
        expected = RunStatus.INTERRUPTED if database.dialect == "sqlite" else RunStatus.RUNNING
        assert (await store.get_run(run_id)).status == expected
    finally:
        await store.close()
    store = await RunStore.open(database.url, schema=database.schema, recover=True)
    try:
        assert (await store.get_run(run_id)).status == RunStatus.INTERRUPTED
    finally:
        await store.close()
