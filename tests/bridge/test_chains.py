"""Chains and datasets of bridge runnables: real services, auto-mapped inputs, recorded runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bridge import RunnableBridge, create_default_bridge
from bridge.demo.run import DEMO_CHAIN
from bridge.demo.services import app_service, evaluator_service
from molecules import Store
from runnable.chain import Chain, Connection, Node
from runnable.http.serving import serve_in_thread
from runnable.runner import ChainInputError, RunCompleted
from runnable.sources import InMemorySource
from runnable.tracking import RunRecorder, RunStatus, RunStore
from runnable.types import ExecutionStatus


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[str, str]]:
    with serve_in_thread(app_service()) as app_url, serve_in_thread(evaluator_service()) as ev:
        yield app_url, ev


@pytest.fixture
def bridge(services: tuple[str, str]) -> RunnableBridge:
    app_url, evaluators_url = services
    return create_default_bridge(
        {
            "app_revision": InMemorySource({"capitals-v1": {"uri": app_url}}),
            "evaluator_revision": InMemorySource(
                {
                    "exact": {"evaluator_key": "exact_match"},
                    "similarity": {"uri": f"{evaluators_url}/similarity"},
                }
            ),
        }
    )


async def test_chain_auto_maps_app_output_and_testcase_into_evaluators(
    bridge: RunnableBridge,
) -> None:
    run = await bridge.run_chain(
        DEMO_CHAIN, store=Store(), testcase={"country": "Japan", "correct_answer": "Tokyo"}
    )
    events = [event async for event in run]
    assert isinstance(events[-1], RunCompleted)
    assert events[-1].status == ExecutionStatus.SUCCESS
    assert run.outputs["app"] == "Tokyo"
    assert run.outputs["exact"]["score"] == 1.0
    assert run.outputs["similarity"] == {"score": 1.0, "success": True}


async def test_missing_required_input_stops_the_chain_before_any_call(
    bridge: RunnableBridge,
) -> None:
    # No testcase column for the app's `country`: planning must refuse, naming it.
    with pytest.raises(ChainInputError, match="country"):
        await bridge.run_chain(DEMO_CHAIN, store=Store(), testcase={"correct_answer": "Paris"})


async def test_dataset_rows_are_kept_in_order_and_fail_alone(bridge: RunnableBridge) -> None:
    chain = Chain(nodes=[Node("app", "app_revision:capitals-v1")], connections=[])
    rows: list[dict[str, Any]] = [{"country": "Italy"}, {"country": 42}, {"country": "Kenya"}]
    run = await bridge.run_dataset(chain, rows, store=Store(), row_concurrency=2)
    result = await run.wait()
    assert [row.status for row in result.rows if row] == [
        ExecutionStatus.SUCCESS,
        ExecutionStatus.ERROR,
        ExecutionStatus.SUCCESS,
    ]
    assert result.outputs == ["Rome", None, "Nairobi"]


async def test_recorded_dataset_keeps_a_run_per_row_with_a_task_per_node(
    bridge: RunnableBridge, run_store: RunStore
) -> None:
    recorder = RunRecorder(run_store, name="capitals")
    rows = [
        {"country": "France", "correct_answer": "Paris"},
        {"country": "Australia", "correct_answer": "Canberra"},
    ]
    run = await bridge.run_dataset(DEMO_CHAIN, rows, store=Store(), recorder=recorder)
    result = await run.wait()
    await recorder.aclose()
    assert recorder.errors == []
    dataset_run = await run_store.get_run(result.run_id)
    assert dataset_run.status == RunStatus.SUCCESS
    children = await run_store.list_runs(parent_run_id=result.run_id)
    assert len(children) == 2
    for child in children:
        assert child.status == RunStatus.SUCCESS
        tasks = await run_store.list_tasks(child.id)
        assert sorted(t.node_id or "" for t in tasks) == ["app", "exact", "similarity"]
        assert {t.status for t in tasks} == {RunStatus.SUCCESS}
    inputs = sorted(str(c.inputs) for c in children)
    assert "Canberra" in inputs[0] + inputs[1]


async def test_a_failing_node_is_recorded_with_its_error_and_dependents_skipped(
    bridge: RunnableBridge, run_store: RunStore
) -> None:
    chain = Chain(
        nodes=[Node("app", "app_revision:capitals-v1"), Node("exact", "evaluator_revision:exact")],
        connections=[Connection("app", "exact")],
    )
    recorder = RunRecorder(run_store)
    run = await bridge.run_chain(
        chain,
        store=Store(),
        testcase={"country": ["not", "a", "string"], "correct_answer": "x"},
        recorder=recorder,
    )
    await run.wait()
    await recorder.aclose()
    record = await run_store.get_run(run.run_id)
    assert record.status == RunStatus.ERROR
    tasks = {t.node_id: t for t in await run_store.list_tasks(run.run_id)}
    assert tasks["app"].status == RunStatus.ERROR
    assert "country" in str(tasks["app"].error)
    assert tasks["exact"].status == RunStatus.SKIPPED


async def test_a_streaming_kind_sends_its_chunks_as_run_events() -> None:
    from collections.abc import AsyncIterator, Mapping

    from bridge import RunnableData, RunnablePort, RunnableType, create_runnable_bridge
    from molecules import create_molecule
    from runnable.runner import Chunk, NodeCompleted

    async def words(runnable: RunnableData, inputs: Mapping[str, Any]) -> AsyncIterator[str]:
        for word in str(inputs["text"]).split():
            yield word + " "

    kind = RunnableType(
        create_molecule("talker", lambda key: {"id": key}),
        lambda entity: RunnableData(id=entity["id"], kind="talker"),
        lambda entity: [RunnablePort(key="text", required=True)],
        lambda entity: [RunnablePort(key="output")],
        execute=words,
    )
    bridge = create_runnable_bridge({"talker": kind})
    chain = Chain(nodes=[Node("say", "talker:t1")], connections=[])
    run = await bridge.run_chain(chain, store=Store(), testcase={"text": "tides follow moons"})
    events = [event async for event in run]
    assert [e.text for e in events if isinstance(e, Chunk)] == ["tides ", "follow ", "moons "]
    completed = next(e for e in events if isinstance(e, NodeCompleted))
    assert completed.output == "tides follow moons "


async def test_a_recorded_chain_keeps_its_testcase_reruns_and_forgets_finished_runs(
    bridge: RunnableBridge, run_store: RunStore
) -> None:
    import asyncio

    recorder = RunRecorder(run_store)
    testcase = {"country": "Egypt", "correct_answer": "Cairo"}
    run = await bridge.run_chain(DEMO_CHAIN, store=Store(), testcase=testcase, recorder=recorder)
    await run.wait()
    again = run.rerun("similarity")  # not routed to the recorder: must not wait for it
    await asyncio.wait_for(again.wait(), 10)
    await recorder.drain()
    record = await run_store.get_run(run.run_id)
    assert record.inputs == testcase
    assert recorder._started == {} and recorder._tasks == {} and recorder.inputs == {}
    await recorder.aclose()
