"""The graph runner: run a chain's nodes as soon as their parents finish, as events.

```python
run = run_graph(chain, execute, testcase={"question": "..."}, max_concurrency=8)
async for event in run:          # RunStarted, NodeStarted, Chunk, NodeCompleted, ...
    ...
run.results["b"].output          # NodeResult per node; run.cancel() stops everything
again = run.rerun("b")           # b and its dependents again, upstream outputs reused
```

`execute(node, inputs, ctx)` runs one node. It returns the output, or an awaitable of
it, or an async iterator of text chunks (a streaming node: its output is the joined
text, `ChatDelta`/`ChatDone` from `ChatProvider.stream` are understood), or an
`ExecutionResult` (its status, output, metrics and trace are taken over).

Scheduling: up to `max_concurrency` worker tasks; a worker that finishes a node runs the
next ready node itself (no task per node), and new workers start only for extra ready
nodes. So a node starts the moment its last parent finishes, never waiting for a level.
A node that fails makes every node downstream of it `skipped`; a node's terminal status
is final (a late chunk or completion is dropped). `cancel()` cancels the running
workers, which closes in-flight HTTP requests and provider streams at once; running and
pending nodes end `cancelled`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Collection, Generator, Iterable, Mapping
from typing import Any
from uuid import uuid4

from runnable.chain import Chain, InputMapping, Node, resolve_chain_inputs
from runnable.completion import ChatDelta, ChatDone
from runnable.runner.channel import EventCallback, EventChannel
from runnable.runner.errors import (
    ChainInputError,
    InputProblem,
    NodeExecutionError,
    RerunError,
    RunOptionsError,
)
from runnable.runner.events import (
    Chunk,
    Event,
    NodeCancelled,
    NodeCompleted,
    NodeFailed,
    NodeRetrying,
    NodeSkipped,
    NodeStarted,
    RunCompleted,
    RunKind,
    RunStarted,
)
from runnable.runner.plan import GraphPlan, PortsLike, plan_graph
from runnable.runner.results import NodeResult
from runnable.runner.retry import RetryLike, is_retryable_error, retry_policy_for
from runnable.types import ErrorInfo, ExecutionMetrics, ExecutionResult, ExecutionStatus, TraceInfo

__all__ = ["Execute", "GraphRun", "NodeContext", "error_info", "run_graph"]

Execute = Callable[[Node, dict[str, Any], "NodeContext"], Any]

# Node states as small ints: the hot path compares them on every event.
_PENDING, _RUNNING, _SUCCESS, _ERROR, _SKIPPED, _CANCELLED = range(6)
_STATUS = {
    _PENDING: ExecutionStatus.PENDING,
    _RUNNING: ExecutionStatus.RUNNING,
    _SUCCESS: ExecutionStatus.SUCCESS,
    _ERROR: ExecutionStatus.ERROR,
    _SKIPPED: ExecutionStatus.SKIPPED,
    _CANCELLED: ExecutionStatus.CANCELLED,
}
_NOTHING: Any = object()


class _NodeCancelled(Exception):
    """An executor reported its own cancellation (an `ExecutionResult` with that status)."""


def error_info(error: BaseException) -> ErrorInfo:
    """An exception as `ErrorInfo`: its message (or type), type name and HTTP status."""
    if isinstance(error, NodeExecutionError):
        return error.error
    status = getattr(error, "status_code", None)
    return ErrorInfo(
        message=str(error) or type(error).__name__,
        type=type(error).__name__,
        status_code=status if isinstance(status, int) else None,
    )


class NodeContext:
    """What an executor knows about its node's run, and how it reports chunks and metrics."""

    __slots__ = ("_index", "_run", "attempt", "node")

    def __init__(self, run: GraphRun, index: int, node: Node) -> None:
        self._run = run
        self._index = index
        self.node = node
        self.attempt = 1

    @property
    def run_id(self) -> str:
        """The id of the run this node belongs to."""
        return self._run.run_id

    @property
    def testcase(self) -> Mapping[str, Any] | None:
        """The run's testcase row, if any."""
        return self._run.testcase

    @property
    def upstream(self) -> dict[str, Any]:
        """The outputs of this node's parents, by parent id."""
        run = self._run
        ids = run.plan.nodes
        return {ids[p].node.id: run._outputs.get(ids[p].node.id) for p in ids[self._index].parents}

    @property
    def cancelled(self) -> bool:
        """True once the run is being cancelled."""
        return self._run._cancelling

    def chunk(self, text: str) -> None:
        """Report a piece of streamed text (for executors that stream by callback)."""
        self._run._chunk(self._index, text)

    def set_metrics(self, metrics: ExecutionMetrics | None = None, **fields: Any) -> None:
        """Report token usage, cost or timings (missing latency and TTFT are measured)."""
        self._run._metrics[self._index] = metrics or ExecutionMetrics(**fields)

    def set_trace(self, trace: TraceInfo) -> None:
        """Report where this node's trace can be found."""
        self._run._traces[self._index] = trace


class GraphRun:
    """One run of a planned chain: an async iterator of its events, and its handle.

    Iterating starts the run (as do `start`, `wait` and `async with`). Events reach the
    iterator from the moment it is made, and `on_event` always. Cancelling the task that
    iterates or awaits `wait()` cancels the run.
    """

    def __init__(
        self,
        plan: GraphPlan,
        execute: Execute,
        *,
        testcase: Mapping[str, Any] | None,
        max_concurrency: int,
        retry: RetryLike,
        retry_on: Callable[[BaseException], bool] | None,
        run_id: str | None,
        parent_run: str | None,
        previous_results: Mapping[str, Any] | None,
        execute_ids: Collection[str] | None,
        on_event: EventCallback | None,
        row: int | None,
        kind: RunKind,
    ) -> None:
        if max_concurrency < 1:
            raise RunOptionsError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.plan = plan
        self.run_id = run_id or uuid4().hex
        self.parent_run = parent_run
        self.testcase = testcase
        self.row = row
        self.kind = kind
        self._execute = execute
        self._max = max_concurrency
        self._retry = retry
        self._retry_on = retry_on or is_retryable_error
        n = len(plan.nodes)
        self._policies = [retry_policy_for(retry, p.node) for p in plan.nodes] if retry else None
        self._state = [_PENDING] * n
        self._final: list[Event | None] = [None] * n
        self._outputs: dict[str, Any] = {}
        self._metrics: dict[int, ExecutionMetrics] = {}
        self._traces: dict[int, TraceInfo] = {}
        self._chunks = [0] * n
        self._ttft: dict[int, float] = {}
        self._ready: deque[int] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._live = 0
        self._started = False
        self._finished = False
        self._cancelling = False
        self._channel = EventChannel(on_event)
        self._emit = self._channel.emit
        self._done: asyncio.Future[None] | None = None
        self._t0 = 0.0
        self._previous = previous_results
        self._active, self._cached = self._select(previous_results, execute_ids)
        self._waiting = [
            sum(1 for q in p.parents if self._active[q]) if self._active[p.index] else 0
            for p in plan.nodes
        ]
        self._remaining = sum(self._active)

    # -- selection (re-runs) ------------------------------------------------------------

    def _select(
        self, previous: Mapping[str, Any] | None, execute_ids: Collection[str] | None
    ) -> tuple[list[bool], dict[int, NodeResult]]:
        """Which nodes run, and which earlier results stand in for the others."""
        plan = self.plan
        n = len(plan.nodes)
        if execute_ids is None:
            return [True] * n, {}
        chosen = set(plan.indices(execute_ids))
        usable: dict[int, NodeResult] = {}
        for node_id, value in (previous or {}).items():
            if node_id in plan.index:
                result = value if isinstance(value, NodeResult) else None
                if result is None:
                    result = NodeResult(node_id, ExecutionStatus.SUCCESS, output=value)
                if result.ok:
                    usable[plan.index[node_id]] = result
        needed = plan.ancestors(chosen)
        lacking = [plan.nodes[i].node.id for i in sorted(needed) if i not in usable]
        if lacking:
            raise RerunError(
                "a re-run needs a successful earlier result for every node it reads from; "
                f"missing: {', '.join(lacking)}"
            )
        stale = plan.descendants(chosen) - chosen
        cached = {i: r for i, r in usable.items() if i not in chosen and i not in stale}
        return [i in chosen for i in range(n)], cached

    # -- public face --------------------------------------------------------------------

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
        return _STATUS[self._state[self.plan.index[node_id]]]

    def start(self) -> GraphRun:
        """Start the run (needs a running event loop); starting twice does nothing."""
        if self._started:
            return self
        self._started = True
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        self._t0 = time.perf_counter()
        plan = self.plan
        active = self._active
        self._emit(
            RunStarted.fast(
                run_id=self.run_id,
                kind=self.kind,
                node_ids=tuple(
                    p.node.id for p in plan.nodes if active[p.index] or p.index in self._cached
                ),
                parent_run_id=self.parent_run,
                rerun_of=tuple(p.node.id for p in plan.nodes if active[p.index])
                if self._cached or not all(active)
                else (),
                row=self.row,
                at=time.time(),
            )
        )
        for i, result in sorted(self._cached.items()):
            self._reuse(i, result)
        if self._cancelling:
            self._cancel_pending()
        else:
            self._ready.extend(
                i for i in range(len(plan.nodes)) if active[i] and not self._waiting[i]
            )
            self._fill()
        if self._remaining == 0:
            self._finish()
        return self

    def cancel(self) -> None:
        """Cancel the run: pending nodes end cancelled now, running ones as soon as they stop.

        Call it from the run's event loop thread (`loop.call_soon_threadsafe(run.cancel)`).
        """
        if self._finished or self._cancelling:
            return
        self._cancelling = True
        if not self._started:
            return
        self._cancel_pending()
        for task in self._tasks:
            task.cancel()
        if self._remaining == 0:
            self._finish()

    async def wait(self) -> GraphRun:
        """Run to the end and return this run (cancelling the waiter cancels the run)."""
        self.start()
        done = self._done
        assert done is not None
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            self.cancel()
            raise
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

    # -- scheduling ---------------------------------------------------------------------

    def _fill(self) -> None:
        """Start workers for ready nodes while fewer than `max_concurrency` run."""
        ready = self._ready
        while ready and self._live < self._max:
            self._live += 1
            task = asyncio.get_running_loop().create_task(self._worker(ready.popleft()))
            self._tasks.add(task)

    async def _worker(self, index: int) -> None:
        ready = self._ready
        try:
            while True:
                try:
                    await self._run_node(index)
                except Exception as exc:
                    # A fault outside the executor (a broken input, a bad output) is
                    # still this node's failure, never a worker stuck mid-run.
                    self._fail(index, exc, None, 1)
                if not ready or self._cancelling:
                    return
                # This worker takes the next ready node itself: no new task, no loop trip.
                index = ready.popleft()
                if ready:
                    self._fill()
        finally:
            self._live -= 1

    def _release(self, index: int) -> None:
        """A node succeeded: count it in each child and queue the children now ready."""
        active = self._active
        waiting = self._waiting
        state = self._state
        for child in self.plan.nodes[index].children:
            if active[child] and state[child] == _PENDING:
                waiting[child] -= 1
                if not waiting[child]:
                    self._ready.append(child)

    # -- one node -----------------------------------------------------------------------

    def _inputs(self, index: int) -> dict[str, Any]:
        plan = self.plan.nodes[index]
        outputs = self._outputs
        if plan.connections is None:
            inputs = dict(self.testcase) if self.testcase else {}
            nodes = self.plan.nodes
            for parent in plan.parents:
                parent_id = nodes[parent].node.id
                output = outputs[parent_id]
                if isinstance(output, Mapping):
                    inputs.update(output)
                else:
                    inputs[parent_id] = output
        else:
            inputs = resolve_chain_inputs(plan.connections, plan.node.id, outputs, self.testcase)
            if plan.required:
                missing = [k for k in plan.required if k not in inputs]
                if missing:
                    raise ChainInputError(
                        [
                            InputProblem(
                                plan.node.id, key, "missing", detail="its mapping found no value"
                            )
                            for key in missing
                        ]
                    )
        if plan.fixed:
            inputs.update(plan.fixed)
        return inputs

    async def _run_node(self, index: int) -> None:
        node = self.plan.nodes[index].node
        started = time.perf_counter()
        try:
            inputs = self._inputs(index)
        except Exception as exc:
            self._fail(index, exc, None, 0)
            return
        self._state[index] = _RUNNING
        self._emit(
            NodeStarted.fast(run_id=self.run_id, node_id=node.id, inputs=inputs, at=time.time())
        )
        ctx = NodeContext(self, index, node)
        policy = self._policies[index] if self._policies is not None else None
        while True:
            try:
                output = await self._call(index, node, inputs, ctx)
                break
            except asyncio.CancelledError:
                if not self._cancelling:
                    # Someone cancelled the worker itself (a loop shutting down): the run ends.
                    self.cancel()
                self._cancelled(index, started=True)
                return
            except _NodeCancelled:
                self._cancelled(index, started=True)
                return
            except Exception as exc:
                if self._state[index] != _RUNNING:
                    return
                delay = None
                # Chunks already sent cannot be taken back: a stream that began is not retried.
                if policy is not None and not self._chunks[index] and self._retry_on(exc):
                    delay = policy.delay(ctx.attempt - 1)
                if delay is None:
                    self._fail(index, exc, (time.perf_counter() - started) * 1000, ctx.attempt)
                    return
                self._emit(
                    NodeRetrying.fast(
                        run_id=self.run_id,
                        node_id=node.id,
                        attempt=ctx.attempt,
                        error=error_info(exc),
                        delay=delay,
                    )
                )
                try:
                    await asyncio.sleep(delay)
                except asyncio.CancelledError:
                    if not self._cancelling:
                        self.cancel()
                    self._cancelled(index, started=True)
                    return
                ctx.attempt += 1
        self._complete(index, output, started, ctx.attempt)

    async def _call(self, index: int, node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        result = self._execute(node, inputs, ctx)
        if hasattr(result, "__await__"):
            result = await result
        if hasattr(result, "__anext__"):
            result = await self._consume(index, result)
        if isinstance(result, ExecutionResult):
            result = self._unpack(index, result)
        return result

    def _unpack(self, index: int, result: ExecutionResult) -> Any:
        if result.status is ExecutionStatus.ERROR:
            raise NodeExecutionError(result.error or ErrorInfo(message="the node failed"))
        if result.status is ExecutionStatus.CANCELLED:
            raise _NodeCancelled()
        if result.metrics.model_fields_set:
            self._metrics[index] = result.metrics
        if result.trace is not None:
            self._traces[index] = result.trace
        return result.output

    async def _consume(self, index: int, stream: Any) -> Any:
        parts: list[str] = []
        final = _NOTHING
        try:
            async for item in stream:
                if type(item) is str:
                    text = item
                elif isinstance(item, ChatDelta):
                    text = item.text
                elif isinstance(item, ChatDone):
                    final = item.completion.text
                    self._metrics[index] = item.completion.metrics()
                    continue
                else:
                    final = item
                    continue
                if text:
                    parts.append(text)
                    self._chunk(index, text)
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
        return "".join(parts) if final is _NOTHING else final

    def _chunk(self, index: int, text: str) -> None:
        if self._state[index] != _RUNNING:
            return  # the node is over: a late chunk is dropped
        count = self._chunks[index]
        if not count:
            self._ttft[index] = time.perf_counter()
        self._chunks[index] = count + 1
        self._emit(
            Chunk.fast(
                run_id=self.run_id, node_id=self.plan.nodes[index].node.id, text=text, index=count
            )
        )

    def _measured(self, index: int, started: float, latency: float) -> ExecutionMetrics | None:
        metrics = self._metrics.get(index)
        first = self._ttft.get(index)
        if metrics is None and first is None:
            return None
        ttft = (first - started) * 1000 if first is not None else None
        if metrics is None:
            return ExecutionMetrics(latency_ms=latency, ttft_ms=ttft)
        return metrics.model_copy(
            update={
                "latency_ms": metrics.latency_ms if metrics.latency_ms is not None else latency,
                "ttft_ms": metrics.ttft_ms if metrics.ttft_ms is not None else ttft,
            }
        )

    # -- terminal transitions (each checks the node is not already over) ------------------

    def _complete(self, index: int, output: Any, started: float, attempts: int) -> None:
        if self._state[index] != _RUNNING:
            return
        latency = (time.perf_counter() - started) * 1000
        node_id = self.plan.nodes[index].node.id
        self._state[index] = _SUCCESS
        self._outputs[node_id] = output
        event: Event = NodeCompleted.fast(
            run_id=self.run_id,
            node_id=node_id,
            output=output,
            metrics=self._measured(index, started, latency),
            trace=self._traces.get(index),
            latency_ms=latency,
            attempts=attempts,
            at=time.time(),
        )
        self._final[index] = event
        self._emit(event)
        self._remaining -= 1
        self._release(index)
        if not self._remaining:
            self._finish()

    def _reuse(self, index: int, result: NodeResult) -> None:
        node_id = self.plan.nodes[index].node.id
        self._state[index] = _SUCCESS
        self._outputs[node_id] = result.output
        event: Event = NodeCompleted.fast(
            run_id=self.run_id,
            node_id=node_id,
            output=result.output,
            metrics=result.metrics,
            trace=result.trace,
            latency_ms=result.latency_ms,
            attempts=result.attempts,
            cached=True,
            source_run_id=result.run_id,
            at=time.time(),
        )
        self._final[index] = event
        self._emit(event)

    def _fail(self, index: int, error: Exception, latency: float | None, attempts: int) -> None:
        if self._state[index] not in (_PENDING, _RUNNING):
            return
        node_id = self.plan.nodes[index].node.id
        self._state[index] = _ERROR
        event: Event = NodeFailed.fast(
            run_id=self.run_id,
            node_id=node_id,
            error=error_info(error),
            latency_ms=latency,
            attempts=attempts,
            at=time.time(),
        )
        self._final[index] = event
        self._emit(event)
        self._remaining -= 1
        self._skip_below(index, f"upstream node {node_id!r} failed")
        if not self._remaining:
            self._finish()

    def _cancelled(self, index: int, *, started: bool) -> None:
        if self._state[index] not in (_PENDING, _RUNNING):
            return
        node_id = self.plan.nodes[index].node.id
        self._state[index] = _CANCELLED
        event: Event = NodeCancelled.fast(
            run_id=self.run_id, node_id=node_id, started=started, at=time.time()
        )
        self._final[index] = event
        self._emit(event)
        self._remaining -= 1
        if not self._cancelling:
            self._skip_below(index, f"upstream node {node_id!r} was cancelled")
        if not self._remaining:
            self._finish()

    def _skip_below(self, index: int, reason: str) -> None:
        nodes = self.plan.nodes
        because = nodes[index].node.id
        stack = [c for c in nodes[index].children if self._active[c]]
        while stack:
            child = stack.pop()
            if self._state[child] != _PENDING:
                continue
            self._state[child] = _SKIPPED
            event: Event = NodeSkipped.fast(
                run_id=self.run_id,
                node_id=nodes[child].node.id,
                because=because,
                reason=reason,
                at=time.time(),
            )
            self._final[child] = event
            self._emit(event)
            self._remaining -= 1
            stack.extend(c for c in nodes[child].children if self._active[c])

    def _cancel_pending(self) -> None:
        self._ready.clear()
        for i, state in enumerate(self._state):
            if state == _PENDING and self._active[i]:
                self._cancelled(i, started=False)

    def _outcome(self) -> ExecutionStatus:
        if self._cancelling or _CANCELLED in self._state:
            return ExecutionStatus.CANCELLED
        if _ERROR in self._state:
            return ExecutionStatus.ERROR
        return ExecutionStatus.SUCCESS

    def _finish(self) -> None:
        if self._finished:
            return
        status = self._outcome()
        error = None
        if status is ExecutionStatus.ERROR:
            failed = [e for e in self._final if isinstance(e, NodeFailed)]
            first = failed[0]
            error = ErrorInfo(
                message=f"node {first.node_id!r} failed: {first.error.message}",
                type=first.error.type,
                status_code=first.error.status_code,
            )
        self._emit(
            RunCompleted.fast(
                run_id=self.run_id,
                status=status,
                error=error,
                latency_ms=(time.perf_counter() - self._t0) * 1000,
                at=time.time(),
            )
        )
        self._finished = True
        self._channel.close()
        if self._done is not None and not self._done.done():
            self._done.set_result(None)


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
    return GraphRun(
        plan,
        execute,
        testcase=testcase,
        max_concurrency=max_concurrency,
        retry=retry,
        retry_on=retry_on,
        run_id=run_id,
        parent_run=parent_run,
        previous_results=previous_results,
        execute_ids=execute_ids,
        on_event=on_event,
        row=row,
        kind=kind,
    )
