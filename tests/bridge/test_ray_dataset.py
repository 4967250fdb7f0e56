"""Dataset runs on Ray actors: the same result as a local run, resumable, rate limited.

Ray runs locally (two CPUs, no dashboard) for the whole session; the service the rows
call is a real HTTP service in this process, which counts every call per row.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge import RayBackend, RunnableBridge, create_default_bridge
from molecules import Store
from runnable.chain import Chain, Node
from runnable.http.service import create_service
from runnable.http.serving import serve_in_thread
from runnable.runner import RunCompleted, RunOptionsError, RunStarted
from runnable.sources import InMemorySource
from runnable.tracking import RunRecorder, RunStatus, RunStore
from runnable.types import ExecutionStatus

ray = pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[2]
CHAIN = Chain(nodes=[Node("app", "app_revision:double")], connections=[])


class CountingService:
    """A service doubling `n` after `latency` seconds; it counts calls per `n` and times them."""

    def __init__(self) -> None:
        self.latency = 0.0
        self.calls: Counter[int] = Counter()
        self.times: list[float] = []
        self._lock = threading.Lock()

    def reset(self, latency: float) -> None:
        """Forget every call; answer after `latency` seconds from now on."""
        with self._lock:
            self.latency = latency
            self.calls = Counter()
            self.times = []

    def app(self) -> Any:
        """The served app: one function, `double(n)`."""

        async def double(n: int) -> int:
            """Twice `n`."""
            with self._lock:
                self.calls[n] += 1
                self.times.append(time.monotonic())
            await asyncio.sleep(self.latency)
            return 2 * n

        return create_service(double, title="Counting doubler")


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    # Workers import this tree's packages, not an installed copy.
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": env},
    )
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def service() -> Iterator[tuple[str, CountingService]]:
    counting = CountingService()
    with serve_in_thread(counting.app()) as url:
        yield url, counting


@pytest.fixture
def counting(service: tuple[str, CountingService]) -> CountingService:
    service[1].reset(latency=0.02)
    return service[1]


@pytest.fixture
def bridge(service: tuple[str, CountingService]) -> RunnableBridge:
    return create_default_bridge({"app_revision": InMemorySource({"double": {"uri": service[0]}})})


@pytest.fixture(scope="module")
def backend(ray_session: None) -> Iterator[RayBackend]:
    made = RayBackend(address=None, actors=2)
    try:
        yield made
    finally:
        made.shutdown()


def rows_of(count: int) -> list[dict[str, Any]]:
    return [{"n": n} for n in range(count)]


async def test_two_hundred_rows_on_ray_equal_the_local_run(
    bridge: RunnableBridge, backend: RayBackend, counting: CountingService
) -> None:
    rows = rows_of(200)
    local = await (await bridge.run_dataset(CHAIN, rows, store=Store())).wait()
    on_ray = await (await bridge.run_dataset(CHAIN, rows, store=Store(), backend=backend)).wait()
    assert on_ray.status is ExecutionStatus.SUCCESS
    assert on_ray.outputs == local.outputs == [2 * n for n in range(200)]
    assert [row.index for row in on_ray.rows if row] == list(range(200))
    assert [row.status for row in on_ray.rows if row] == [row.status for row in local.rows if row]
    assert counting.calls == Counter({n: 2 for n in range(200)})  # once each run


async def test_rows_on_ray_are_recorded_in_the_run_store(
    bridge: RunnableBridge, backend: RayBackend, counting: CountingService, run_store: RunStore
) -> None:
    recorder = RunRecorder(run_store, name="doubles")
    run = await bridge.run_dataset(
        CHAIN, rows_of(12), store=Store(), backend=backend, recorder=recorder
    )
    result = await run.wait()
    await recorder.aclose()
    assert recorder.errors == []
    assert (await run_store.get_run(result.run_id)).status == RunStatus.SUCCESS
    children = await run_store.list_runs(parent_run_id=result.run_id)
    assert sorted(child.inputs["n"] for child in children) == list(range(12))
    assert {child.status for child in children} == {RunStatus.SUCCESS}


async def test_a_killed_actor_loses_only_its_rows_in_flight_and_resume_runs_just_those(
    bridge: RunnableBridge, backend: RayBackend, service: tuple[str, CountingService]
) -> None:
    counting = service[1]
    counting.reset(latency=0.05)
    rows = rows_of(80)
    # At most 4 rows in flight per actor (the default: 2 actors x row_concurrency 4 in all).
    run = await bridge.run_dataset(CHAIN, rows, store=Store(), backend=backend)
    waiting = asyncio.ensure_future(run.wait())
    while sum(counting.calls.values()) < 20:
        await asyncio.sleep(0.01)
    ray.kill(backend.actors[0])
    first = await waiting
    lost = [i for i, row in enumerate(first.rows) if row is None]
    assert 1 <= len(lost) <= 4
    assert first.status is ExecutionStatus.ERROR
    finished = [row.index for row in first.rows if row is not None and row.ok]
    assert len(finished) == 80 - len(lost)
    before = Counter(counting.calls)

    again = await bridge.run_dataset(CHAIN, rows, store=Store(), backend=backend, resume=first)
    second = await again.wait()
    assert second.status is ExecutionStatus.SUCCESS
    assert second.outputs == [2 * n for n in range(80)]
    ran_again = counting.calls - before
    assert set(ran_again) == set(lost)  # no finished row ran again
    assert all(before[n] == 1 for n in finished)


async def test_the_shared_rate_limit_holds_across_two_actors(
    bridge: RunnableBridge, backend: RayBackend, counting: CountingService
) -> None:
    counting.reset(latency=0.0)
    run = await bridge.run_dataset(
        CHAIN, rows_of(60), store=Store(), backend=backend, requests_per_second=25
    )
    result = await run.wait()
    assert result.status is ExecutionStatus.SUCCESS
    times = sorted(counting.times)
    rate = (len(times) - 1) / (times[-1] - times[0])
    # The limit holds: never more than 10% over it, overall or in any one-second window
    # (a loaded machine may run slower than the limit; that is not a breach).
    assert 5 < rate <= 25 * 1.10
    in_a_second = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert in_a_second <= 25 * 1.10 + 1


async def test_an_executor_that_cannot_pickle_is_refused_before_any_row(
    service: tuple[str, CountingService], backend: RayBackend
) -> None:
    url, counting = service
    counting.reset(latency=0.0)
    lock = threading.Lock()  # a lock cannot travel to another process

    async def locked(runnable: Any, inputs: Any) -> int:
        with lock:
            return 0

    bridge = create_default_bridge(
        {"app_revision": InMemorySource({"double": {"uri": url}})},
        executors={"app_revision": locked},
    )
    run = await bridge.run_dataset(CHAIN, rows_of(3), store=Store(), backend=backend)
    with pytest.raises(RunOptionsError, match="cannot be sent to Ray actors"):
        await run.wait()
    assert counting.calls == Counter()


async def test_cancelling_a_run_on_ray_stops_its_chunks_and_marks_the_rest_cancelled(
    bridge: RunnableBridge, backend: RayBackend, service: tuple[str, CountingService]
) -> None:
    counting = service[1]
    counting.reset(latency=0.05)
    run = await bridge.run_dataset(CHAIN, rows_of(80), store=Store(), backend=backend)
    waiting = asyncio.ensure_future(run.wait())
    while sum(counting.calls.values()) < 10:
        await asyncio.sleep(0.01)
    run.cancel()
    result = await asyncio.wait_for(waiting, 10)
    assert result.status is ExecutionStatus.CANCELLED
    statuses = Counter(row.status if row else None for row in result.rows)
    assert statuses[ExecutionStatus.CANCELLED] >= 40
    calls = sum(counting.calls.values())
    await asyncio.sleep(0.2)
    assert sum(counting.calls.values()) == calls  # nothing runs on after the cancel


async def test_a_run_on_ray_is_an_iterator_of_its_events_like_a_local_run(
    bridge: RunnableBridge, backend: RayBackend, counting: CountingService
) -> None:
    run = await bridge.run_dataset(CHAIN, rows_of(6), store=Store(), backend=backend)
    events = [event async for event in run]
    assert isinstance(events[0], RunStarted) and events[0].run_id == run.run_id
    assert isinstance(events[-1], RunCompleted) and events[-1].run_id == run.run_id
    assert events[-1].status is ExecutionStatus.SUCCESS
    rows = [e.row for e in events if isinstance(e, RunStarted) and e.parent_run_id == run.run_id]
    assert sorted(rows) == list(range(6))
