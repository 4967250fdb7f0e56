"""The graph runner: run a chain's nodes as soon as their parents finish, as events.

```python
run = run_graph(chain, execute, testcase={"question": "..."}, max_concurrency=8)
async for event in run:          # RunStarted, NodeStarted, Chunk, NodeCompleted, ...
    ...
run.results["b"].output          # NodeResult per node; run.cancel() stops everything
again = run.rerun("b")           # b and its dependents again, upstream outputs reused
```

`execute(node, inputs, ctx)` runs one node. It returns the output, or an awaitable of
it, or an async iterator of text chunks, or an `ExecutionResult` (see
`runnable.runner.outcome`). A node that fails makes every node downstream of it
`skipped`; a node's terminal status is final (a late chunk or completion is dropped).
`cancel()` closes in-flight HTTP requests and provider streams at once; running and
pending nodes end `cancelled`. The algorithm is in `runnable.runner.scheduler`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any

from runnable.chain import Chain, InputMapping
from runnable.runner.channel import EventCallback, EventChannel, await_run
from runnable.runner.errors import RunOptionsError
from runnable.runner.events import Event, RunKind
from runnable.runner.plan import GraphPlan, PortsLike, plan_graph
from runnable.runner.results import NodeResult
from runnable.runner.retry import RetryLike
from runnable.runner.scheduler import STATUS, Execute, Scheduler
from runnable.runner.selection import select_nodes
from runnable.types import ExecutionStatus

__all__ = ["Execute", "GraphRun", "run_graph"]


class GraphRun(Scheduler):
    """One run of a planned chain: an async iterator of its events, and its handle.

    Iterating starts the run (as do `start`, `wait`, `await run` and `async with`).
    Events reach the iterator from the moment it is made, and `on_event` always.
    Cancelling the task that iterates or awaits the run cancels the run.
    """

    @property
    def status(self) -> ExecutionStatus:
        """Idle before the start, running until the end, then success, error or cancelled."""
        if not self._started:
            return ExecutionStatus.IDLE
        if not self._finished:
            return ExecutionStatus.RUNNING
        return self._outcome()

    @property
    def done(self) -> bool:
        """True once `RunCompleted` was emitted."""
        return self._finished

    @property
    def results(self) -> dict[str, NodeResult]:
        """Each node that reached a terminal status (reused ones included), in plan order."""
        return {
            event.node_id or "": NodeResult.from_event(event)
            for event in self._final
            if event is not None
        }

    @property
    def outputs(self) -> dict[str, Any]:
        """The output of every node that succeeded (or was reused), by node id."""
        return dict(self._outputs)

    def node_status(self, node_id: str) -> ExecutionStatus:
        """Where one node stands."""
        return STATUS[self._state[self.plan.index[node_id]]]

    def start(self) -> GraphRun:
        """Start the run (needs a running event loop); starting twice does nothing."""
        if not self._started:
            self._begin()
        return self

    def cancel(self) -> None:
        """Cancel the run: pending nodes end cancelled now, running ones as soon as they stop.

        Call it from the run's event loop thread (`loop.call_soon_threadsafe(run.cancel)`).
        """
        super().cancel()

    async def wait(self) -> GraphRun:
        """Run to the end and return this run (cancelling the waiter cancels the run)."""
        self.start()
        assert self._done is not None
        await await_run(self._done, self.cancel)
        return self

    def __await__(self) -> Generator[Any, None, GraphRun]:
        return self.wait().__await__()

    async def aclose(self) -> None:
        """Cancel the run if it is still going, and wait for its end."""
        if self._started and not self._finished:
            self.cancel()
            await self.wait()

    async def __aenter__(self) -> GraphRun:
        return self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __aiter__(self) -> GraphRun:
        self._channel.open()
        return self

    async def __anext__(self) -> Event:
        if not self._started:
            self._channel.open()
            self.start()
        return await self._channel.next(self.cancel)

    def rerun(
        self,
        node_id: str,
        *,
        execute: Execute | None = None,
        on_event: EventCallback | None = None,
        **options: Any,
    ) -> GraphRun:
        """A new run of `node_id` and its dependents reusing this run's other outputs.

        The new run's `parent_run` is this run's id; `options` override this run's
        options (`max_concurrency`, `retry`...).
        """
        settings: dict[str, Any] = {
            "testcase": self.testcase,
            "max_concurrency": self._max,
            "retry": self._retry,
            "retry_on": self._retry_on,
            "row": self.row,
            "kind": self.kind,
        }
        settings.update(options)
        return run_graph(
            self.plan,
            execute or self._execute,
            parent_run=self.run_id,
            previous_results=self.results,
            rerun_from=node_id,
            on_event=on_event,
            **settings,
        )


def run_graph(
    chain: Chain | GraphPlan | Mapping[str, Any],
    execute: Execute,
    *,
    testcase: Mapping[str, Any] | None = None,
    ports: PortsLike = None,
    node_inputs: Mapping[str, Mapping[str, Any]] | None = None,
    input_mappings: Mapping[str, Iterable[InputMapping | Mapping[str, Any]]] | None = None,
    max_concurrency: int = 8,
    retry: RetryLike = None,
    retry_on: Callable[[BaseException], bool] | None = None,
    run_id: str | None = None,
    parent_run: str | None = None,
    previous_results: Mapping[str, Any] | None = None,
    rerun_from: str | None = None,
    only: Iterable[str] | None = None,
    on_event: EventCallback | None = None,
    row: int | None = None,
    kind: RunKind = "chain",
) -> GraphRun:
    """Plan `chain` and return its run, not started yet (iterate it, or `await run.wait()`).

    Planning happens here: a cycle, or an ambiguous or missing required input, raises
    before any call (see `plan_graph` for `ports`, `node_inputs` and `input_mappings`).
    `rerun_from` runs that node and its dependents (and `only` exactly the nodes
    named), taking every other node's output from `previous_results`
    (`{node_id: NodeResult or output}`, e.g. an earlier run's `results`); a node the
    re-run reads from without a successful earlier result raises `RerunError`.
    `retry` is a `RetryPolicy` for every node, or per node id, or a function of the
    node; `retry_on(error)` decides which failures are retried (default:
    `is_retryable_error`).
    """
    if testcase is not None and not isinstance(testcase, Mapping):
        raise RunOptionsError(f"testcase must be a mapping, got {type(testcase).__name__}")
    if isinstance(chain, GraphPlan):
        plan = chain
    else:
        plan = plan_graph(
            chain,
            ports=ports,
            testcase_keys=testcase or (),
            node_inputs=node_inputs,
            input_mappings=input_mappings,
        )
    execute_ids: set[str] | None = None
    if rerun_from is not None or only is not None:
        execute_ids = set(only or ())
        if rerun_from is not None:
            root = plan.indices([rerun_from])
            execute_ids |= {plan.nodes[i].node.id for i in plan.descendants(root)}
    active, cached = select_nodes(plan, previous_results, execute_ids)
    return GraphRun(
        plan,
        execute,
        testcase=testcase,
        max_concurrency=max_concurrency,
        retry=retry,
        retry_on=retry_on,
        run_id=run_id,
        parent_run=parent_run,
        active=active,
        cached=cached,
        channel=EventChannel(on_event),
        row=row,
        kind=kind,
    )
