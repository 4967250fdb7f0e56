"""Run a chain over the rows of a dataset: rows side by side, each row its own graph run.

```python
run = run_dataset(chain, rows, execute, row_concurrency=4)
result = await run.wait()                  # DatasetResult, rows in row order
again = await run_dataset(chain, rows, execute, resume=result).wait()  # failed/missing only
```

At most `row_concurrency` rows run at once (each with up to `max_concurrency` nodes).
A row's failure, even a row its planning refuses (a missing column), stays in that row.
Events: `RunStarted(kind="dataset")`, then each row's own run events (its `RunStarted`
carries `row` and the dataset run as `parent_run_id`), then the dataset's `RunCompleted`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import Any

import attrs

from runnable.chain import Chain
from runnable.ids import new_id
from runnable.runner.channel import EventCallback, EventChannel, await_run
from runnable.runner.errors import RunnerError, RunOptionsError, error_info
from runnable.runner.events import Event, RunCompleted, RunStarted
from runnable.runner.graph import Execute, GraphRun, run_graph
from runnable.runner.plan import GraphPlan, PortsLike, plan_graph
from runnable.runner.results import NodeResult
from runnable.runner.retry import RetryLike
from runnable.types import ErrorInfo, ExecutionStatus

__all__ = ["DatasetResult", "DatasetRun", "RowResult", "run_dataset"]


@attrs.frozen(slots=True)
class RowResult:
    """One row's outcome: status, its run, each node's result, and the row's output."""

    index: int
    status: ExecutionStatus
    run_id: str | None = None
    results: Mapping[str, NodeResult] = attrs.field(factory=dict)
    output: Any = None
    error: ErrorInfo | None = None

    @property
    def ok(self) -> bool:
        """True when every node of the row succeeded."""
        return self.status is ExecutionStatus.SUCCESS


@attrs.frozen(slots=True)
class DatasetResult:
    """Every row's result in row order (None for a row that never ran)."""

    run_id: str
    status: ExecutionStatus
    rows: tuple[RowResult | None, ...]

    @property
    def outputs(self) -> list[Any]:
        """Each row's output in row order (None where the row did not succeed)."""
        return [row.output if row is not None and row.ok else None for row in self.rows]

    @property
    def failed(self) -> list[int]:
        """Indices of the rows that ran and did not succeed."""
        return [row.index for row in self.rows if row is not None and not row.ok]

    def to_run(self, total: int) -> list[int]:
        """The rows of a dataset of `total` rows that a resume must run: failed or missing."""
        done = {row.index for row in self.rows if row is not None and row.ok}
        return [i for i in range(total) if i not in done]


def _row_output(plan: GraphPlan, run: GraphRun) -> Any:
    """The output of the chain's last node(s): one sink gives its output, several a dict."""
    sinks = [p.node.id for p in plan.nodes if not p.children]
    outputs = run.outputs
    if len(sinks) == 1:
        return outputs.get(sinks[0])
    return {node_id: outputs.get(node_id) for node_id in sinks}


class DatasetRun:
    """A dataset run: an async iterator of every event, `wait()` for the `DatasetResult`."""

    def __init__(
        self,
        chain: Chain,
        rows: Sequence[Any],
        execute: Execute,
        *,
        row_concurrency: int,
        run_id: str | None,
        resume: DatasetResult | None,
        on_event: EventCallback | None,
        graph_options: dict[str, Any],
        ports: PortsLike,
        node_inputs: Mapping[str, Mapping[str, Any]] | None,
        indices: Sequence[int] | None = None,
        on_row: Callable[[RowResult], object] | None = None,
    ) -> None:
        if row_concurrency < 1:
            raise RunOptionsError(f"row_concurrency must be at least 1, got {row_concurrency}")
        self.chain = chain
        self.rows = rows
        self.run_id = run_id or new_id()
        self.resume = resume
        self._execute = execute
        self._row_concurrency = row_concurrency
        self._graph_options = graph_options
        self._ports = ports
        self._node_inputs = node_inputs
        if indices is not None and len(indices) != len(rows):
            raise RunOptionsError(f"{len(indices)} row numbers given for {len(rows)} rows")
        self._numbers = list(range(len(rows))) if indices is None else list(indices)
        self._on_row = on_row
        self._plans: dict[frozenset[str], GraphPlan | RunnerError] = {}
        self._results: list[RowResult | None] = [None] * len(rows)
        if resume is not None:
            for row in resume.rows[: len(rows)]:
                if row is not None and row.ok:
                    self._results[row.index] = row
        self._todo: deque[int] = deque(i for i in range(len(rows)) if self._results[i] is None)
        # Each row's run id, named before any row starts, so that a recorder can write the
        # rows' runs ahead of them (`row_run_ids`).
        self._row_run_ids = {index: new_id() for index in self._todo}
        self._running: dict[int, GraphRun] = {}
        self._channel = EventChannel(on_event)
        self._started = False
        self._cancelling = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._done: asyncio.Future[DatasetResult] | None = None
        self._t0 = 0.0
        # Planning fails fast on what no row can fix (a cycle), before any call.
        chain.order()

    @property
    def result(self) -> DatasetResult:
        """The rows so far, in row order."""
        return DatasetResult(self.run_id, self._status(), tuple(self._results))

    @property
    def row_run_ids(self) -> list[tuple[int, str]]:
        """(row number, run id) of every row this run will start, in the order they start."""
        return [(self._numbers[index], self._row_run_ids[index]) for index in self._todo]

    def start(self) -> DatasetRun:
        """Start the rows (needs a running event loop); starting twice does nothing."""
        if self._started:
            return self
        self._started = True
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        self._t0 = time.perf_counter()
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
        if self._cancelling:
            self._todo.clear()
        for _ in range(min(self._row_concurrency, len(self._todo))):
            task = loop.create_task(self._worker())
            self._tasks.add(task)
        if not self._tasks:
            self._finish()
        return self

    def cancel(self) -> None:
        """Cancel every running row and every row not started yet."""
        if self._cancelling:
            return
        self._cancelling = True
        for index in self._todo:
            self._results[index] = RowResult(self._numbers[index], ExecutionStatus.CANCELLED)
        self._todo.clear()
        for run in list(self._running.values()):
            run.cancel()
        if self._started and not self._tasks and self._done and not self._done.done():
            self._finish()

    async def wait(self) -> DatasetResult:
        """Run every row to its end; cancelling the waiter cancels the run."""
        self.start()
        assert self._done is not None
        return await await_run(self._done, self.cancel)

    def __await__(self) -> Generator[Any, None, DatasetResult]:
        return self.wait().__await__()

    def __aiter__(self) -> DatasetRun:
        self._channel.open()
        return self

    async def __anext__(self) -> Event:
        if not self._started:
            self._channel.open()
            self.start()
        return await self._channel.next(self.cancel)

    def _plan_for(self, row: Mapping[str, Any]) -> GraphPlan | RunnerError:
        # Auto-mapping depends on the columns: one plan per distinct set of them.
        keys = frozenset(row)
        found = self._plans.get(keys)
        if found is None:
            try:
                found = plan_graph(
                    self.chain, ports=self._ports, testcase_keys=keys, node_inputs=self._node_inputs
                )
            except RunnerError as exc:
                found = exc
            self._plans[keys] = found
        return found

    async def _worker(self) -> None:
        try:
            while self._todo and not self._cancelling:
                index = self._todo.popleft()
                try:
                    await self._run_row(index)
                except Exception as exc:
                    # Whatever went wrong belongs to this row alone.
                    self._refuse(index, exc)
        finally:
            task = asyncio.current_task()
            if task is not None:
                self._tasks.discard(task)
            if not self._tasks:
                self._finish()

    async def _run_row(self, index: int) -> None:
        row = self.rows[index]
        if not isinstance(row, Mapping):
            problem = RunOptionsError(f"row {index} is a {type(row).__name__}, not a mapping")
            self._refuse(index, problem)
            return
        plan = self._plan_for(row)
        if isinstance(plan, RunnerError):
            self._refuse(index, plan)
            return
        run = run_graph(
            plan,
            self._execute,
            testcase=row,
            run_id=self._row_run_ids.pop(index),
            parent_run=self.run_id,
            row=self._numbers[index],
            on_event=self._channel.emit,
            **self._graph_options,
        )
        self._running[index] = run
        try:
            await run.wait()
        finally:
            del self._running[index]
        status = run.status
        completed = None
        if status is ExecutionStatus.ERROR:
            failures = [r.error for r in run.results.values() if r.error is not None]
            completed = failures[0] if failures else None
        self._finish_row(
            index,
            RowResult(
                self._numbers[index],
                status,
                run.run_id,
                run.results,
                _row_output(plan, run),
                completed,
            ),
        )

    def _finish_row(self, index: int, result: RowResult) -> None:
        self._results[index] = result
        if self._on_row is not None:
            self._on_row(result)

    def _refuse(self, index: int, problem: Exception) -> None:
        """A row that cannot even start: its own run begins and ends in error, no call made."""
        # Its named run id, unless its graph run took it (and failed in an unforeseen way).
        run_id = self._row_run_ids.pop(index, None) or new_id()
        error = error_info(problem)
        now = time.time()
        emit = self._channel.emit
        number = self._numbers[index]
        emit(RunStarted.fast(run_id=run_id, parent_run_id=self.run_id, row=number, at=now))
        emit(RunCompleted.fast(run_id=run_id, status=ExecutionStatus.ERROR, error=error, at=now))
        self._finish_row(index, RowResult(number, ExecutionStatus.ERROR, run_id, error=error))

    def _status(self) -> ExecutionStatus:
        rows = self._results
        if self._cancelling or any(r and r.status is ExecutionStatus.CANCELLED for r in rows):
            return ExecutionStatus.CANCELLED
        if any(r is not None and not r.ok for r in rows):
            return ExecutionStatus.ERROR
        if any(r is None for r in rows):
            return ExecutionStatus.RUNNING
        return ExecutionStatus.SUCCESS

    def _finish(self) -> None:
        if self._done is None or self._done.done():
            return
        result = self.result
        failed = result.failed
        error = None
        if result.status is ExecutionStatus.ERROR:
            error = ErrorInfo(message=f"{len(failed)} of {len(self.rows)} rows failed")
        self._channel.emit(
            RunCompleted.fast(
                run_id=self.run_id,
                status=result.status,
                error=error,
                latency_ms=(time.perf_counter() - self._t0) * 1000,
                at=time.time(),
            )
        )
        self._channel.close()
        self._done.set_result(result)


def run_dataset(
    chain: Chain | Mapping[str, Any],
    rows: Iterable[Mapping[str, Any]],
    execute: Execute,
    *,
    row_concurrency: int = 4,
    max_concurrency: int = 8,
    ports: PortsLike = None,
    node_inputs: Mapping[str, Mapping[str, Any]] | None = None,
    retry: RetryLike = None,
    retry_on: Callable[[BaseException], bool] | None = None,
    resume: DatasetResult | None = None,
    run_id: str | None = None,
    on_event: EventCallback | None = None,
    indices: Sequence[int] | None = None,
    on_row: Callable[[RowResult], object] | None = None,
) -> DatasetRun:
    """Run `chain` once per row (the row is the testcase); not started until awaited/iterated.

    `resume` (an earlier `DatasetResult` over the same rows) keeps the rows that
    succeeded and runs only the rows that failed, were cancelled, or are missing.
    `indices` numbers the rows when they are a part of a larger dataset (a chunk run
    elsewhere): events and `RowResult.index` carry these numbers. `on_row(RowResult)` is
    called as each row finishes.
    """
    if not isinstance(chain, Chain):
        chain = Chain.model_validate(chain)
    if max_concurrency < 1:
        raise RunOptionsError(f"max_concurrency must be at least 1, got {max_concurrency}")
    options: dict[str, Any] = {
        "max_concurrency": max_concurrency,
        "retry": retry,
        "retry_on": retry_on,
    }
    return DatasetRun(
        chain,
        list(rows),
        execute,
        row_concurrency=row_concurrency,
        run_id=run_id,
        resume=resume,
        on_event=on_event,
        graph_options=options,
        ports=ports,
        node_inputs=node_inputs,
        indices=indices,
        on_row=on_row,
    )
