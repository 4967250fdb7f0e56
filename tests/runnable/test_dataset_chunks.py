"""The parts of a dataset run on Ray that need no Ray: numbered chunks, the rate limiter,
the backend's options, and the actor's chunk loop driven directly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runnable.chain import Chain, Node
from runnable.runner import NodeContext, RayBackend, RowResult, RunOptionsError, RunStarted
from runnable.runner.dataset import run_dataset
from runnable.runner.ray_actors import DatasetJob, DatasetWorker, SharedRateLimit
from runnable.types import ExecutionStatus

CHAIN = Chain(["double"], [])


async def double(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
    await asyncio.sleep(0.001)
    return 2 * inputs["x"]


async def test_a_chunk_numbers_its_rows_as_rows_of_the_whole_dataset() -> None:
    events: list[Any] = []
    finished: list[RowResult] = []
    run = run_dataset(
        CHAIN,
        [{"x": 1}, {"x": 2}],
        double,
        indices=[40, 41],
        on_event=events.append,
        on_row=finished.append,
    )
    result = await run.wait()
    assert [row.index for row in result.rows if row] == [40, 41]
    assert sorted(row.index for row in finished) == [40, 41]
    row_starts = [e for e in events if isinstance(e, RunStarted) and e.row is not None]
    assert sorted(e.row for e in row_starts) == [40, 41]


async def test_row_numbers_must_match_the_rows() -> None:
    with pytest.raises(RunOptionsError, match="2 row numbers given for 1 rows"):
        run_dataset(CHAIN, [{"x": 1}], double, indices=[1, 2])


@given(st.floats(min_value=0.5, max_value=1000), st.integers(min_value=1, max_value=50))
def test_the_limiter_spaces_reserved_turns_one_interval_apart(rate: float, count: int) -> None:
    limiter = SharedRateLimit(rate)
    waits = [limiter.reserve() for _ in range(count)]
    # Reserved at once, turn k waits k intervals (less the few microseconds spent here).
    for k, wait in enumerate(waits):
        assert wait == pytest.approx(k / rate, abs=0.01)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"actors": 0}, "at least one actor"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"max_in_flight": 0}, "max_in_flight"),
        ({"requests_per_second": 0}, "requests_per_second"),
    ],
)
def test_bad_backend_options_are_refused_naming_the_option(
    options: dict[str, Any], problem: str
) -> None:
    with pytest.raises(RunOptionsError, match=problem):
        RayBackend(**options)


async def test_the_actor_streams_each_row_and_its_events_but_not_the_datasets_own() -> None:
    job = DatasetJob("dataset-1", CHAIN, double, {}, events=True)
    items = [
        item
        async for batch in DatasetWorker().run_chunk(job, [7, 8], [{"x": 1}, {"x": 2}])
        for item in batch
    ]
    rows = [item for item in items if isinstance(item, RowResult)]
    assert sorted((row.index, row.output) for row in rows) == [(7, 2), (8, 4)]
    assert all(row.status is ExecutionStatus.SUCCESS for row in rows)
    events = [item for item in items if not isinstance(item, RowResult)]
    assert events and all(event.run_id != "dataset-1" for event in events)
