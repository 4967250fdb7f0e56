"""RunStore on a SQLite file and on PostgreSQL: runs, tasks, final statuses, recovery."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from runnable.errors import RunnableError
from runnable.tracking import (
    Interrupted,
    InvalidTrackingValueError,
    RunNotFoundError,
    RunStatus,
    RunStore,
    TaskNotFoundError,
    TrackedVariable,
    TrackingBackendError,
    TrackingError,
    ai_runs,
    ai_tasks,
)
from runnable.types import RunnableRef
from runnable.variables import ResolvedVariable
from tests.db_fixtures import Database


def second_store(database: Database) -> RunStore:
    """Another store (its own engine) on the same tables, like another process."""
    return RunStore(database.url, schema=database.schema)


async def test_a_created_run_is_visible_to_another_connection_at_once(
    run_store: RunStore, database: Database
) -> None:
    run = await run_store.create_run(name="first turn", runnable_ref="prompt:p-1")
    other = second_store(database)
    try:
        seen = await other.get_run(run.id)
    finally:
        await other.close()
    assert seen is not None
    assert (seen.status, seen.name, seen.runnable_ref) == (
        RunStatus.RUNNING,
        "first turn",
        "prompt:p-1",
    )


async def test_a_run_records_ref_inputs_messages_variables_and_settings(
    run_store: RunStore,
) -> None:
    run = await run_store.create_run(
        runnable_ref=RunnableRef("prompt", "p-1"),
        inputs={"question": "why?"},
        messages=[{"role": "system", "content": "Be brief"}],
        variables=[
            ResolvedVariable("tone", "dry", "scoped.project"),
            ResolvedVariable("day", "Mon", "computed"),
        ],
        settings={"model": "gpt-x", "temperature": 0.2},
    )
    stored = await run_store.get_run(run.id)
    assert stored == run
    assert stored.runnable_ref == "prompt:p-1"
    assert stored.inputs == {"question": "why?"}
    assert stored.messages == [{"role": "system", "content": "Be brief"}]
    assert stored.variables == {
        "tone": TrackedVariable(value="dry", source="scoped.project"),
        "day": TrackedVariable(value="Mon", source="computed"),
    }
    assert stored.settings == {"model": "gpt-x", "temperature": 0.2}


async def test_variables_given_as_a_mapping_keep_their_sources(run_store: RunStore) -> None:
    run = await run_store.create_run(
        variables={
            "a": {"value": 1, "source": "user"},
            "b": TrackedVariable(value=[2]),
            "c": 3,
            "d": ResolvedVariable("d", "x", "broker"),
        }
    )
    stored = await run_store.get_run(run.id)
    assert stored is not None
    assert stored.variables == {
        "a": TrackedVariable(value=1, source="user"),
        "b": TrackedVariable(value=[2]),
        "c": TrackedVariable(value=3),
        "d": TrackedVariable(value="x", source="broker"),
    }


async def test_a_bare_id_ref_is_stored_as_the_id(run_store: RunStore) -> None:
    run = await run_store.create_run(runnable_ref=RunnableRef(id="rev-42"))
    assert run.runnable_ref == "rev-42"


async def test_records_are_frozen_pydantic_models_with_utc_times(run_store: RunStore) -> None:
    run = await run_store.create_run()
    task = await run_store.add_task(run.id)
    stored = await run_store.get_task(task.id)
    assert isinstance(run, BaseModel) and isinstance(stored, BaseModel)
    assert stored.created_at.tzinfo == UTC
    assert stored.created_at == task.created_at
    with pytest.raises(ValidationError):
        run.status = RunStatus.ERROR  # type: ignore[misc]


async def test_tasks_are_listed_in_the_order_they_were_added(run_store: RunStore) -> None:
    run = await run_store.create_run()
    added = [await run_store.add_task(run.id, node_id=f"node-{i}") for i in range(5)]
    await run_store.finish_task(added[0].id, "success", {"text": "first"})
    tasks = await run_store.list_tasks(run.id)
    assert [task.node_id for task in tasks] == [f"node-{i}" for i in range(5)]
    assert tasks[0].response == {"text": "first"}
    assert [task.status for task in tasks[1:]] == [RunStatus.RUNNING] * 4


async def test_a_task_for_an_unknown_run_raises_run_not_found(run_store: RunStore) -> None:
    with pytest.raises(RunNotFoundError, match="'no-such-run'"):
        await run_store.add_task("no-such-run")


async def test_partial_text_accumulates_and_ttft_is_set_once(run_store: RunStore) -> None:
    run = await run_store.create_run()
    task = await run_store.add_task(run.id)
    assert await run_store.append_partial(task.id, "Hel", ttft_ms=12.5)
    assert await run_store.append_partial(task.id, "lo", ttft_ms=99.0)
    stored = await run_store.get_task(task.id)
    assert stored is not None
    assert (stored.partial_text, stored.ttft_ms) == ("Hello", 12.5)


async def test_finish_task_records_response_usage_and_timings(run_store: RunStore) -> None:
    run = await run_store.create_run()
    task = await run_store.add_task(run.id, request={"model": "m"})
    finished = await run_store.finish_task(
        task.id,
        "success",
        response={"text": "hi"},
        usage={"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        cost=0.002,
    )
    stored = await run_store.get_task(task.id)
    assert finished and stored is not None
    assert (stored.status, stored.response) == (RunStatus.SUCCESS, {"text": "hi"})
    assert (stored.tokens_in, stored.tokens_out, stored.cost) == (7, 3, 0.002)
    assert stored.latency_ms is not None and stored.latency_ms >= 0
    assert stored.finished_at is not None and stored.finished_at >= stored.created_at


async def test_finish_run_totals_its_tasks(run_store: RunStore) -> None:
    run = await run_store.create_run()
    for tokens in (10, 20):
        task = await run_store.add_task(run.id)
        await run_store.finish_task(task.id, "success", tokens_in=tokens, tokens_out=1, cost=0.5)
    assert await run_store.finish_run(run.id, "success", stats={"note": "ok"})
    stored = await run_store.get_run(run.id)
    assert stored is not None and stored.status == RunStatus.SUCCESS
    assert {k: stored.stats[k] for k in ("tasks", "tokens_in", "tokens_out", "cost", "note")} == {
        "tasks": 2,
        "tokens_in": 30,
        "tokens_out": 2,
        "cost": 1.0,
        "note": "ok",
    }
    assert stored.stats["latency_ms"] >= 0


async def test_update_task_changes_only_the_given_fields(run_store: RunStore) -> None:
    run = await run_store.create_run()
    task = await run_store.add_task(run.id, node_id="n1", request={"model": "a"})
    assert await run_store.update_task(task.id, status="pending", response={"draft": 1})
    assert await run_store.update_run(run.id, name="renamed", stats={"retries": 1})
    stored, stored_run = await run_store.get_task(task.id), await run_store.get_run(run.id)
    assert stored is not None and stored_run is not None
    assert (stored.status, stored.node_id, stored.request, stored.response) == (
        RunStatus.PENDING,
        "n1",
        {"model": "a"},
        {"draft": 1},
    )
    assert stored.updated_at > task.updated_at and stored.finished_at is None
    assert (stored_run.name, stored_run.stats, stored_run.status) == (
        "renamed",
        {"retries": 1},
        RunStatus.RUNNING,
    )


async def test_a_finished_task_is_never_rewritten(run_store: RunStore) -> None:
    run = await run_store.create_run()
    task = await run_store.add_task(run.id)
    await run_store.append_partial(task.id, "partial")
    assert await run_store.finish_task(task.id, "cancelled")
    assert not await run_store.finish_task(task.id, "success", response={"text": "late"})
    assert not await run_store.update_task(task.id, status="running")
    assert not await run_store.append_partial(task.id, " more")
    stored = await run_store.get_task(task.id)
    assert stored is not None
    assert (stored.status, stored.response, stored.partial_text) == (
        RunStatus.CANCELLED,
        None,
        "partial",
    )


async def test_a_finished_run_is_never_rewritten(run_store: RunStore) -> None:
    run = await run_store.create_run()
    assert await run_store.finish_run(run.id, "interrupted")
    assert not await run_store.finish_run(run.id, "success")
    assert not await run_store.update_run(run.id, status="running", name="renamed")
    stored = await run_store.get_run(run.id)
    assert stored is not None and (stored.status, stored.name) == (RunStatus.INTERRUPTED, None)


async def test_racing_finishes_from_two_stores_have_exactly_one_winner(
    run_store: RunStore, database: Database
) -> None:
    # A read-then-write check would let both writers "win"; the guard in the UPDATE's WHERE
    # lets exactly one row change per task.
    other = second_store(database)
    try:
        run = await run_store.create_run()
        tasks = [await run_store.add_task(run.id) for _ in range(12)]
        for task in tasks:
            ours, theirs = await asyncio.gather(
                run_store.finish_task(task.id, "success"),
                other.finish_task(task.id, "cancelled"),
            )
            assert ours != theirs
            stored = await run_store.get_task(task.id)
            assert stored is not None
            assert stored.status == (RunStatus.SUCCESS if ours else RunStatus.CANCELLED)
    finally:
        await other.close()


async def test_finishing_with_a_status_that_does_not_end_is_refused(run_store: RunStore) -> None:
    run = await run_store.create_run()
    with pytest.raises(InvalidTrackingValueError, match="'running' does not finish"):
        await run_store.finish_run(run.id, "running")
    with pytest.raises(InvalidTrackingValueError, match="unknown status 'done'"):
        await run_store.finish_run(run.id, "done")


async def test_unknown_ids_raise_not_found_on_writes_and_none_on_reads(
    run_store: RunStore,
) -> None:
    with pytest.raises(TaskNotFoundError):
        await run_store.finish_task("ghost", "success")
    with pytest.raises(TaskNotFoundError):
        await run_store.append_partial("ghost", "text")
    with pytest.raises(RunNotFoundError):
        await run_store.finish_run("ghost", "error")
    assert await run_store.get_run("ghost") is None
    assert await run_store.get_task("ghost") is None
    assert await run_store.list_tasks("ghost") == []


async def test_list_runs_is_newest_first_and_filters(run_store: RunStore) -> None:
    parent = await run_store.create_run(name="parent")
    child = await run_store.create_run(name="child", parent_run_id=parent.id)
    done = await run_store.create_run(name="done", runnable_ref="app_revision:r1")
    await run_store.finish_run(done.id, "success")
    assert [r.name for r in await run_store.list_runs()] == ["done", "child", "parent"]
    assert [r.name for r in await run_store.list_runs(limit=1, offset=1)] == ["child"]
    assert [r.id for r in await run_store.list_runs(status="success")] == [done.id]
    assert [r.id for r in await run_store.list_runs(parent_run_id=parent.id)] == [child.id]
    by_ref = await run_store.list_runs(runnable_ref={"kind": "app_revision", "id": "r1"})
    assert [r.id for r in by_ref] == [done.id]


async def test_delete_run_removes_its_tasks(run_store: RunStore) -> None:
    run = await run_store.create_run()
    await run_store.add_task(run.id)
    assert await run_store.delete_run(run.id)
    assert not await run_store.delete_run(run.id)
    assert await run_store.get_run(run.id) is None
    assert await run_store.list_tasks(run.id) == []


async def test_mark_interrupted_ends_what_an_earlier_store_left_running(
    run_store: RunStore, database: Database
) -> None:
    left = await run_store.create_run()
    left_task = await run_store.add_task(left.id)
    await run_store.append_partial(left_task.id, "half a repl")
    done = await run_store.create_run()
    await run_store.finish_run(done.id, "success")
    restarted = second_store(database)
    try:
        own = await restarted.create_run()
        assert await restarted.mark_interrupted() == Interrupted(runs=1, tasks=1)
        statuses = {r.id: r.status for r in await restarted.list_runs()}
        task = await restarted.get_task(left_task.id)
    finally:
        await restarted.close()
    assert statuses == {
        left.id: RunStatus.INTERRUPTED,
        done.id: RunStatus.SUCCESS,
        own.id: RunStatus.RUNNING,
    }
    assert task is not None
    assert (task.status, task.partial_text) == (RunStatus.INTERRUPTED, "half a repl")
    assert task.finished_at is not None


async def test_api_keys_are_redacted_at_any_depth_before_storing(
    run_store: RunStore,
) -> None:
    secrets = ["sk-live-1", "sk-live-2", "sk-live-3", "sk-live-4", "sk-live-5", "sk-live-6"]
    request = {
        "url": "https://api.example/v1/chat",
        "headers": {"Authorization": f"Bearer {secrets[0]}", "X-API-Key": secrets[1]},
        "body": {"model": "m", "extra": [{"config": {"api_key": secrets[2]}}]},
        "header_pairs": [["authorization", secrets[3]], ["accept", "json"]],
    }
    run = await run_store.create_run(
        settings={"model": "m", "openai_api_key": secrets[4]},
        variables={"api_key": {"value": secrets[5], "source": "user"}},
    )
    task = await run_store.add_task(run.id, request=request)
    await run_store.finish_task(task.id, "error", error=f"401 for Bearer {secrets[0]}")
    async with run_store.engine.connect() as conn:
        raw = repr((await conn.execute(select(ai_runs))).all()) + repr(
            (await conn.execute(select(ai_tasks))).all()
        )
    assert not [secret for secret in secrets if secret in raw]
    stored = await run_store.get_task(task.id)
    assert stored is not None
    assert stored.request["headers"] == {"Authorization": "[REDACTED]", "X-API-Key": "[REDACTED]"}
    assert stored.request["body"]["model"] == "m"
    assert stored.request["header_pairs"] == [["authorization", "[REDACTED]"], ["accept", "json"]]
    assert stored.error is not None
    assert json.loads(stored.error)["message"] == "401 for Bearer [REDACTED]"


async def test_a_driverless_postgresql_url_uses_asyncpg(postgresql_database: Database) -> None:
    url = postgresql_database.url.replace("postgresql+asyncpg://", "postgresql://")
    store = await RunStore.open(url, schema=postgresql_database.schema)
    try:
        run = await store.create_run(name="by url")
        assert (await store.get_run(run.id)) == run
        assert store.url.startswith("postgresql+asyncpg://")
    finally:
        await store.close()


async def test_the_default_store_is_runs_sqlite_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = await RunStore.open()
    try:
        await store.create_run()
    finally:
        await store.close()
    assert (tmp_path / "runs.sqlite").is_file()
    assert store.url == f"sqlite+aiosqlite:///{tmp_path / 'runs.sqlite'}"


async def test_a_database_failure_names_the_store_but_not_the_password() -> None:
    store = RunStore("postgresql://tracker:hunter2-pw@127.0.0.1:1/runs")
    with pytest.raises(TrackingBackendError) as caught:
        await store.create_run(id="run-1")
    message = str(caught.value)
    assert "postgresql+asyncpg://tracker:***@127.0.0.1:1/runs" in message
    assert "'run-1'" in message
    assert "hunter2-pw" not in message
    await store.close()


@pytest.mark.parametrize("durable", [False, True])
async def test_durable_makes_each_commit_wait_for_the_disk(
    database: Database, durable: bool
) -> None:
    store = await RunStore.open(database.url, schema=database.schema, durable=durable)
    sqlite = database.dialect == "sqlite"
    query = "PRAGMA synchronous" if sqlite else "SHOW synchronous_commit"
    try:
        async with store.engine.connect() as conn:
            setting = (await conn.exec_driver_sql(query)).scalar()
    finally:
        await store.close()
    expected = {(True, True): 2, (True, False): 1, (False, True): "on", (False, False): "off"}
    assert setting == expected[(sqlite, durable)]


def test_tracking_errors_belong_to_the_runnable_error_family() -> None:
    for error in (
        RunNotFoundError,
        TaskNotFoundError,
        InvalidTrackingValueError,
        TrackingBackendError,
    ):
        assert issubclass(error, TrackingError)
    assert issubclass(TrackingError, RunnableError)
