"""Datasets: a chain over N rows, a row concurrency cap, isolation, row order, resume."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from runnable.chain import Chain, Node
from runnable.runner import NodeContext, NodePorts, RunCompleted, RunOptionsError, RunStarted
from runnable.runner.dataset import run_dataset
from runnable.types import ExecutionStatus

CHAIN = Chain(["double", "label"], [("double", "label")])


class RowExecutor:
    """double -> label over a row {"x": n}; rows listed in `fail_on` fail in `double`."""

    def __init__(
        self, fail_on: frozenset[int] = frozenset(), delay: dict[int, float] | None = None
    ) -> None:
        self.fail_on = set(fail_on)
        self.delay = delay or {}
        self.calls: Counter[int] = Counter()
        self.running = 0
        self.peak = 0

    async def __call__(self, node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        x = inputs["x"]
        if node.id == "double":
            self.calls[x] += 1
            self.running += 1
            self.peak = max(self.peak, self.running)
            try:
                await asyncio.sleep(self.delay.get(x, 0.001))
            finally:
                self.running -= 1
            if x in self.fail_on:
                raise RuntimeError(f"row {x} broke")
            return {"doubled": 2 * x}
        return f"{x}->{inputs['doubled']}"


async def test_results_come_in_row_order_whatever_order_rows_finish_in() -> None:
    rows = [{"x": i} for i in range(4)]
    execute = RowExecutor(delay={0: 0.05, 1: 0.0, 2: 0.02, 3: 0.0})

    result = await run_dataset(CHAIN, rows, execute, row_concurrency=4).wait()

    assert result.status is ExecutionStatus.SUCCESS
    assert result.outputs == ["0->0", "1->2", "2->4", "3->6"]
    assert [row.index for row in result.rows if row] == [0, 1, 2, 3]


async def test_no_more_rows_run_at_once_than_row_concurrency() -> None:
    execute = RowExecutor(delay=dict.fromkeys(range(10), 0.005))

    await run_dataset(CHAIN, [{"x": i} for i in range(10)], execute, row_concurrency=3).wait()

    assert execute.peak == 3
    assert sum(execute.calls.values()) == 10


async def test_one_rows_failure_never_touches_another() -> None:
    execute = RowExecutor(fail_on=frozenset({1}))

    result = await run_dataset(CHAIN, [{"x": i} for i in range(3)], execute).wait()

    statuses = [row.status for row in result.rows if row]
    assert statuses == [ExecutionStatus.SUCCESS, ExecutionStatus.ERROR, ExecutionStatus.SUCCESS]
    assert result.outputs == ["0->0", None, "2->4"]
    failed = result.rows[1]
    assert failed is not None and failed.error is not None
    assert failed.error.message == "row 1 broke"
    assert failed.results["label"].status is ExecutionStatus.SKIPPED
    assert result.status is ExecutionStatus.ERROR
    assert result.failed == [1]


async def test_a_row_lacking_a_required_column_fails_alone_without_a_call() -> None:
    execute = RowExecutor()
    ports = {"double": NodePorts(inputs=["x"])}

    result = await run_dataset(CHAIN, [{"x": 1}, {"y": 2}], execute, ports=ports).wait()

    assert execute.calls == Counter({1: 1})
    second = result.rows[1]
    assert second is not None and second.status is ExecutionStatus.ERROR
    assert second.error is not None and "input 'x' of node 'double'" in second.error.message
    assert result.outputs[0] == "1->2"


async def test_a_row_that_is_no_mapping_fails_alone() -> None:
    result = await run_dataset(CHAIN, [{"x": 1}, "oops"], RowExecutor()).wait()  # type: ignore[list-item]

    assert result.outputs[0] == "1->2"
    second = result.rows[1]
    assert second is not None and second.error is not None
    assert second.error.message == "row 1 is a str, not a mapping"


async def test_resume_runs_only_the_rows_that_failed_or_are_missing() -> None:
    rows = [{"x": i} for i in range(3)]
    first = await run_dataset(CHAIN, rows, RowExecutor(fail_on=frozenset({1}))).wait()
    execute = RowExecutor()

    rows.append({"x": 3})
    second = await run_dataset(CHAIN, rows, execute, resume=first).wait()

    assert execute.calls == Counter({1: 1, 3: 1})
    assert second.status is ExecutionStatus.SUCCESS
    assert second.outputs == ["0->0", "1->2", "2->4", "3->6"]
    assert first.to_run(4) == [1, 3]
    assert second.to_run(4) == []


async def test_events_frame_the_rows_with_the_dataset_run() -> None:
    events: list[Any] = []
    run = run_dataset(CHAIN, [{"x": 0}, {"x": 1}], RowExecutor(), run_id="ds")

    async for event in run:
        events.append(event)

    assert isinstance(events[0], RunStarted) and events[0].kind == "dataset"
    assert isinstance(events[-1], RunCompleted) and events[-1].run_id == "ds"
    row_starts = [e for e in events if isinstance(e, RunStarted) and e.kind == "chain"]
    assert sorted(e.row for e in row_starts) == [0, 1]
    assert {e.parent_run_id for e in row_starts} == {"ds"}


async def test_cancel_stops_running_and_waiting_rows() -> None:
    execute = RowExecutor(delay=dict.fromkeys(range(6), 10.0))
    run = run_dataset(CHAIN, [{"x": i} for i in range(6)], execute, row_concurrency=2)
    run.start()
    await asyncio.sleep(0.02)

    run.cancel()
    result = await asyncio.wait_for(run.wait(), 1)

    assert result.status is ExecutionStatus.CANCELLED
    assert {row.status for row in result.rows if row} == {ExecutionStatus.CANCELLED}
    assert sum(execute.calls.values()) == 2


async def test_row_concurrency_below_one_is_refused() -> None:
    with pytest.raises(RunOptionsError, match="row_concurrency must be at least 1"):
        run_dataset(CHAIN, [], RowExecutor(), row_concurrency=0)


async def test_an_empty_dataset_completes_at_once() -> None:
    result = await run_dataset(CHAIN, [], RowExecutor()).wait()

    assert result.status is ExecutionStatus.SUCCESS and result.rows == ()
