"""The scheduling algorithm of a graph run, in one place (its public face is `GraphRun`).

Up to `max_concurrency` worker tasks run the nodes. A worker that finishes a node counts
it in each child and runs the next ready node itself (no task per node, no trip through
the event loop); new workers start only when more nodes are ready than workers run. So
a node starts the moment its last parent finishes, never waiting for a level.

Node states are small ints in a list indexed like the plan, and every transition to a
terminal state checks that the node is not over already: a terminal status is final.
A failure skips everything downstream; cancelling cancels the worker tasks, which
closes in-flight requests and streams where they wait.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from runnable.chain import Node
from runnable.ids import new_id
from runnable.outcome import (
    ExecutorCancelledError,
    consume_stream,
    measured,
    set_current_reporter,
    unpack_result,
)
from runnable.runner.channel import EventChannel
from runnable.runner.context import NodeContext
from runnable.runner.errors import RunOptionsError, error_info
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
from runnable.runner.plan import GraphPlan
from runnable.runner.results import NodeResult
from runnable.runner.retry import RetryLike, is_retryable_error, retry_policy_for
from runnable.types import ErrorInfo, ExecutionMetrics, ExecutionResult, ExecutionStatus, TraceInfo

__all__ = ["Execute", "Scheduler"]

Execute = Callable[[Node, dict[str, Any], NodeContext], Any]

# Node states as small ints: the hot path compares them on every event.
PENDING, RUNNING, SUCCESS, ERROR, SKIPPED, CANCELLED = range(6)
STATUS = {
    PENDING: ExecutionStatus.PENDING,
    RUNNING: ExecutionStatus.RUNNING,
    SUCCESS: ExecutionStatus.SUCCESS,
    ERROR: ExecutionStatus.ERROR,
    SKIPPED: ExecutionStatus.SKIPPED,
    CANCELLED: ExecutionStatus.CANCELLED,
}


class Scheduler:
    """The state and the algorithm of one run; `GraphRun` adds the public face."""

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
        active: list[bool],
        cached: dict[int, NodeResult],
        channel: EventChannel,
        row: int | None,
        kind: RunKind,
    ) -> None:
        if max_concurrency < 1:
            raise RunOptionsError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.plan = plan
        self.run_id = run_id or new_id()
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
        self._state = [PENDING] * n
        self._final: list[Event | None] = [None] * n
        self._outputs: dict[str, Any] = {}
        self._metrics: dict[int, ExecutionMetrics] = {}
        self._traces: dict[int, TraceInfo] = {}
        self._requests: dict[int, dict[str, Any]] = {}
        self._chunks = [0] * n
        self._ttft: dict[int, float] = {}
        self._ready: deque[int] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._live = 0
        self._started = False
        self._finished = False
        self._cancelling = False
        self._channel = channel
        self._emit = channel.emit
        self._done: asyncio.Future[None] | None = None
        self._t0 = 0.0
        self._active = active
        self._cached = cached
        self._waiting = [
            sum(1 for q in p.parents if active[q]) if active[p.index] else 0 for p in plan.nodes
        ]
        self._remaining = sum(active)

    # -- starting and stopping ----------------------------------------------------------

    def _begin(self) -> None:
        """Emit `RunStarted` and the reused results, then start the ready nodes."""
        self._started = True
        self._done = asyncio.get_running_loop().create_future()
        self._t0 = time.perf_counter()
        nodes = self.plan.nodes
        active = self._active
        cached = self._cached
        partial = bool(cached) or not all(active)
        self._emit(
            RunStarted.fast(
                run_id=self.run_id,
                kind=self.kind,
                node_ids=tuple(p.node.id for p in nodes if active[p.index] or p.index in cached),
                parent_run_id=self.parent_run,
                rerun_of=tuple(p.node.id for p in nodes if active[p.index]) if partial else (),
                row=self.row,
                at=time.time(),
            )
        )
        for index, result in sorted(cached.items()):
            self._reuse(index, result)
        if self._cancelling:
            self._cancel_pending()
        else:
            waiting = self._waiting
            self._ready.extend(i for i in range(len(nodes)) if active[i] and not waiting[i])
            self._fill()
        if not self._remaining:
            self._finish()

    def _stop(self) -> None:
        """Cancel: pending nodes end cancelled now, running ones when their worker stops."""
        self._cancel_pending()
        for task in self._tasks:
            task.cancel()
        if not self._remaining:
            self._finish()

    # -- workers ------------------------------------------------------------------------

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
            task = asyncio.current_task()
            if task is not None:
                self._tasks.discard(task)

    def _release(self, index: int) -> None:
        """A node succeeded: count it in each child and queue the children now ready."""
        active = self._active
        waiting = self._waiting
        state = self._state
        for child in self.plan.nodes[index].children:
            if active[child] and state[child] == PENDING:
                waiting[child] -= 1
                if not waiting[child]:
                    self._ready.append(child)

    # -- one node -----------------------------------------------------------------------

    async def _run_node(self, index: int) -> None:
        node = self.plan.nodes[index].node
        started = time.perf_counter()
        try:
            inputs = self.plan.nodes[index].gather(self._outputs, self.testcase)
        except Exception as exc:
            self._fail(index, exc, None, 0)
            return
        self._state[index] = RUNNING
        self._emit(
            NodeStarted.fast(run_id=self.run_id, node_id=node.id, inputs=inputs, at=time.time())
        )
        ctx = NodeContext(self, index, node)
        # Executors find their reporter here (`runnable.outcome.current_reporter`).
        set_current_reporter(ctx)
        policy = self._policies[index] if self._policies is not None else None
        while True:
            try:
                output = self._execute(node, inputs, ctx)
                if hasattr(output, "__await__"):
                    output = await output
                if hasattr(output, "__anext__"):
                    output = await consume_stream(output, ctx, partial(self._chunk, index))
                if isinstance(output, ExecutionResult):
                    output = unpack_result(output, ctx)
                break
            except asyncio.CancelledError:
                if not self._cancelling:
                    # Someone cancelled the worker itself (a loop shutting down): the run ends.
                    self.cancel()
                self._cancelled(index, started=True)
                return
            except ExecutorCancelledError:
                self._cancelled(index, started=True)
                return
            except Exception as exc:
                if self._state[index] != RUNNING:
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

    def cancel(self) -> None:
        """Cancel the run (see `GraphRun.cancel`)."""
        if self._finished or self._cancelling:
            return
        self._cancelling = True
        if self._started:
            self._stop()

    def _chunk(self, index: int, text: str) -> None:
        if self._state[index] != RUNNING:
            return  # the node is over: a late chunk is dropped
        count = self._chunks[index]
        if not count:
            self._ttft[index] = time.perf_counter()
        self._chunks[index] = count + 1
        node_id = self.plan.nodes[index].node.id
        self._emit(Chunk.fast(run_id=self.run_id, node_id=node_id, text=text, index=count))

    # -- terminal transitions (each checks the node is not over already) ----------------

    def _complete(self, index: int, output: Any, started: float, attempts: int) -> None:
        if self._state[index] != RUNNING:
            return
        latency = (time.perf_counter() - started) * 1000
        node_id = self.plan.nodes[index].node.id
        self._state[index] = SUCCESS
        self._outputs[node_id] = output
        event: Event = NodeCompleted.fast(
            run_id=self.run_id,
            node_id=node_id,
            output=output,
            metrics=measured(self._metrics.get(index), self._ttft.get(index), started, latency),
            trace=self._traces.get(index),
            request=self._requests.get(index),
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
        self._state[index] = SUCCESS
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
        if self._state[index] not in (PENDING, RUNNING):
            return
        node_id = self.plan.nodes[index].node.id
        self._state[index] = ERROR
        event: Event = NodeFailed.fast(
            run_id=self.run_id,
            node_id=node_id,
            error=error_info(error),
            output=getattr(error, "output", None),
            request=self._requests.get(index),
            metrics=self._metrics.get(index),
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
        if self._state[index] not in (PENDING, RUNNING):
            return
        node_id = self.plan.nodes[index].node.id
        self._state[index] = CANCELLED
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
            if self._state[child] != PENDING:
                continue
            self._state[child] = SKIPPED
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
        for index, state in enumerate(self._state):
            if state == PENDING and self._active[index]:
                self._cancelled(index, started=False)

    def _outcome(self) -> ExecutionStatus:
        if self._cancelling or CANCELLED in self._state:
            return ExecutionStatus.CANCELLED
        if ERROR in self._state:
            return ExecutionStatus.ERROR
        return ExecutionStatus.SUCCESS

    def _finish(self) -> None:
        if self._finished:
            return
        status = self._outcome()
        error = None
        if status is ExecutionStatus.ERROR:
            first = next(e for e in self._final if isinstance(e, NodeFailed))
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
