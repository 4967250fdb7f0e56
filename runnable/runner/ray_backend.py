"""Dataset runs on Ray: actors that each run the asyncio runner over chunks of rows.

```python
backend = RayBackend(address=None, actors=2, requests_per_second=20)
run = backend.run(chain, rows, execute)        # execute: picklable (cloudpickle)
result = await run.wait()                      # a DatasetResult, as a local run gives
again = await backend.run(chain, rows, execute, resume=result).wait()
```

The driver (this process) cuts the rows to run into chunks and hands each to an actor
with a free slot; an actor runs its chunk with `run_dataset` (numbered as rows of the
whole dataset) and streams back each row's result, and its events, as the row finishes.
At most `max_in_flight` rows are in actors at once. With `requests_per_second`, every
call of `execute` in every actor first takes a turn from one shared limiter (a Ray
actor), so the rate holds across actors. An actor that dies loses only the rows it had
in flight: they stay missing in the result, the other actors finish the rest, and a
resume runs the missing rows again and nothing else. Ray is imported only when a run
starts (the `ray` extra).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

from runnable.chain import Chain
from runnable.ids import new_id
from runnable.runner.channel import EventCallback, EventChannel, await_run
from runnable.runner.dataset import DatasetResult, RowResult
from runnable.runner.errors import RunOptionsError
from runnable.runner.events import Event, RunCompleted, RunStarted
from runnable.runner.graph import Execute
from runnable.runner.plan import PortsLike
from runnable.runner.ray_actors import DatasetJob, DatasetWorker, SharedRateLimit
from runnable.types import ErrorInfo, ExecutionStatus

__all__ = ["RayBackend", "RayDatasetRun"]


class RayBackend:
    """Runs dataset rows on `actors` Ray actors (see the module docstring).

    `address` is the cluster to join (None: the one `ray.init` already made, else a
    local one). `chunk_size` rows go to an actor at a time; `max_in_flight` caps the rows
    in actors at once (default: `actors` x the run's `row_concurrency`).
    `requests_per_second` is one limit shared by all actors (a run may set its own).
    `actor_options` go to Ray (default one CPU per actor). Actors live until
    `shutdown()`, serving run after run; a dead one is replaced when the next run starts.
    """

    def __init__(
        self,
        address: str | None = None,
        actors: int = 2,
        *,
        chunk_size: int = 4,
        max_in_flight: int | None = None,
        requests_per_second: float | None = None,
        actor_options: Mapping[str, Any] | None = None,
    ) -> None:
        if actors < 1:
            raise RunOptionsError(f"RayBackend needs at least one actor, got {actors}")
        if chunk_size < 1:
            raise RunOptionsError(f"chunk_size must be at least 1, got {chunk_size}")
        if max_in_flight is not None and max_in_flight < 1:
            raise RunOptionsError(f"max_in_flight must be at least 1, got {max_in_flight}")
        if requests_per_second is not None and not requests_per_second > 0:
            raise RunOptionsError(
                f"requests_per_second must be a positive number, got {requests_per_second}"
            )
        self.address = address
        self.size = actors
        self.chunk_size = chunk_size
        self.max_in_flight = max_in_flight
        self.requests_per_second = requests_per_second
        self.actor_options = dict(actor_options or {"num_cpus": 1})
        self.actors: list[Any] = []
        self._dead: set[int] = set()

    def __repr__(self) -> str:
        return f"RayBackend(address={self.address!r}, actors={self.size})"

    def run(
        self,
        chain: Chain | Mapping[str, Any],
        rows: Sequence[Mapping[str, Any]],
        execute: Execute,
        *,
        row_concurrency: int = 4,
        max_concurrency: int = 8,
        ports: PortsLike = None,
        node_inputs: Mapping[str, Mapping[str, Any]] | None = None,
        retry: Any = None,
        retry_on: Callable[[BaseException], bool] | None = None,
        resume: DatasetResult | None = None,
        run_id: str | None = None,
        on_event: EventCallback | None = None,
        requests_per_second: float | None = None,
    ) -> RayDatasetRun:
        """A dataset run on the actors (as `run_dataset`); `execute` must pickle."""
        if not isinstance(chain, Chain):
            chain = Chain.model_validate(chain)
        if row_concurrency < 1:
            raise RunOptionsError(f"row_concurrency must be at least 1, got {row_concurrency}")
        rate = requests_per_second or self.requests_per_second
        if rate is not None and not rate > 0:
            raise RunOptionsError(f"requests_per_second must be a positive number, got {rate}")
        chain.order()  # a cycle fails here, before any actor starts
        options = {
            "max_concurrency": max_concurrency,
            "retry": retry,
            "retry_on": retry_on,
            "ports": ports,
            "node_inputs": node_inputs,
        }
        cap = self.max_in_flight or self.size * row_concurrency
        return RayDatasetRun(
            self, chain, list(rows), execute, options, cap, rate, resume, run_id, on_event
        )

    def shutdown(self) -> None:
        """Kill the actors; the next run starts new ones."""
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors, self._dead = [], set()

    async def _ready(self) -> list[Any]:
        """The live actors, started (or replaced) as needed."""
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        worker_class = ray.remote(DatasetWorker).options(**self.actor_options)
        for index in sorted(self._dead):
            self.actors[index] = worker_class.remote()
        self._dead.clear()
        while len(self.actors) < self.size:
            self.actors.append(worker_class.remote())
        await asyncio.gather(*(actor.ping.remote() for actor in self.actors))
        return list(self.actors)

    def _died(self, actor: Any) -> None:
        for index, known in enumerate(self.actors):
            if known is actor:
                self._dead.add(index)


class RayDatasetRun:
    """A dataset run on Ray: `wait()` for the `DatasetResult`, or iterate its events."""

    def __init__(
        self,
        backend: RayBackend,
        chain: Chain,
        rows: list[Mapping[str, Any]],
        execute: Execute,
        options: dict[str, Any],
        cap: int,
        rate: float | None,
        resume: DatasetResult | None,
        run_id: str | None,
        on_event: EventCallback | None,
    ) -> None:
        self.backend = backend
        self.chain = chain
        self.rows = rows
        self.run_id = run_id or new_id()
        self.resume = resume
        self._execute = execute
        self._options = options
        self._cap = cap
        self._rate = rate
        self._channel = EventChannel(on_event)
        self._events = on_event is not None
        self._results: list[RowResult | None] = [None] * len(rows)
        if resume is not None:
            for row in resume.rows[: len(rows)]:
                if row is not None and row.ok:
                    self._results[row.index] = row
        self._task: asyncio.Task[DatasetResult] | None = None
        self._streams: set[Any] = set()
        self._cancelling = False

    @property
    def result(self) -> DatasetResult:
        """The rows so far, in row order."""
        return DatasetResult(self.run_id, self._status(), tuple(self._results))

    def start(self) -> RayDatasetRun:
        """Start the run (needs a running event loop); starting twice does nothing."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drive())
        return self

    async def wait(self) -> DatasetResult:
        """Run every row to its end; cancelling the waiter cancels the run."""
        self.start()
        assert self._task is not None
        return await await_run(self._task, self.cancel)

    def __await__(self) -> Generator[Any, None, DatasetResult]:
        return self.wait().__await__()

    def __aiter__(self) -> RayDatasetRun:
        self._channel.open()
        self._events = True
        return self

    async def __anext__(self) -> Event:
        if self._task is None:
            self.__aiter__()
            self.start()
        return await self._channel.next(self.cancel)

    def cancel(self) -> None:
        """Cancel the chunks in actors and send no more; rows not finished end cancelled."""
        if self._cancelling:
            return
        self._cancelling = True
        if self._streams:
            import ray

            for stream in list(self._streams):
                ray.cancel(stream)

    async def _drive(self) -> DatasetResult:
        started = time.perf_counter()
        self._channel.emit(
            RunStarted.fast(
                run_id=self.run_id,
                kind="dataset",
                node_ids=tuple(node.id for node in self.chain.nodes),
                parent_run_id=self.resume.run_id if self.resume else None,
                rerun_of=(),
                at=time.time(),
            )
        )
        try:
            await self._run_chunks()
        except BaseException as exc:
            # The run ends here too: a reader of the events is not left waiting.
            self._channel.emit(
                RunCompleted.fast(
                    run_id=self.run_id,
                    status=ExecutionStatus.ERROR,
                    error=ErrorInfo(message=f"{type(exc).__name__}: {exc}"),
                    latency_ms=(time.perf_counter() - started) * 1000,
                    at=time.time(),
                )
            )
            self._channel.close()
            raise
        return self._finish(started)

    async def _run_chunks(self) -> None:
        import ray

        todo = [i for i, row in enumerate(self._results) if row is None]
        if not todo:
            return
        actors = await self.backend._ready()
        per_actor = max(1, self._cap // len(actors))
        size = min(self.backend.chunk_size, per_actor)
        chunks = deque(todo[i : i + size] for i in range(0, len(todo), size))
        limiter: Any = None
        if self._rate is not None:
            limiter = ray.remote(num_cpus=0)(SharedRateLimit).remote(self._rate)
        try:
            job = DatasetJob(
                self.run_id, self.chain, self._execute, self._options, self._events, limiter
            )
            try:
                job_ref = ray.put(job)
            except Exception as exc:
                raise RunOptionsError(f"the executor cannot be sent to Ray actors: {exc}") from exc

            async def feed(actor: Any) -> None:
                while chunks and not self._cancelling:
                    chunk = chunks.popleft()
                    rows = [self.rows[i] for i in chunk]
                    stream = actor.run_chunk.options(num_returns="streaming").remote(
                        job_ref, chunk, rows
                    )
                    self._streams.add(stream)
                    try:
                        async for batch_ref in stream:
                            self._take(await batch_ref)
                    except ray.exceptions.TaskCancelledError:
                        chunks.append(chunk)  # marked cancelled below
                        return
                    except ray.exceptions.RayActorError:
                        self.backend._died(actor)  # its rows in flight stay missing
                        return
                    finally:
                        self._streams.discard(stream)

            slots = max(1, per_actor // size)
            await asyncio.gather(*(feed(actor) for actor in actors for _ in range(slots)))
        finally:
            if limiter is not None:
                ray.kill(limiter)
        if self._cancelling:  # chunks left after every actor died stay missing instead
            for index in (i for chunk in chunks for i in chunk):
                if self._results[index] is None:
                    self._results[index] = RowResult(index, ExecutionStatus.CANCELLED)

    def _take(self, batch: list[Any]) -> None:
        for item in batch:
            if isinstance(item, RowResult):
                self._results[item.index] = item
            else:
                self._channel.emit(item)

    def _status(self) -> ExecutionStatus:
        rows = self._results
        if self._cancelling or any(r and r.status is ExecutionStatus.CANCELLED for r in rows):
            return ExecutionStatus.CANCELLED
        if any(r is None or not r.ok for r in rows):
            return ExecutionStatus.ERROR
        return ExecutionStatus.SUCCESS

    def _finish(self, started: float) -> DatasetResult:
        result = self.result
        error = None
        if result.status is ExecutionStatus.ERROR:
            missing = sum(row is None for row in result.rows)
            message = f"{len(result.failed)} of {len(self.rows)} rows failed"
            if missing:
                message += f", {missing} lost with an actor (a resume runs them again)"
            error = ErrorInfo(message=message)
        self._channel.emit(
            RunCompleted.fast(
                run_id=self.run_id,
                status=result.status,
                error=error,
                latency_ms=(time.perf_counter() - started) * 1000,
                at=time.time(),
            )
        )
        self._channel.close()
        return result
