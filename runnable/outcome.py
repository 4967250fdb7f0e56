"""The one executor protocol: what an executor's answer means, for every way of running.

An executor is called with its inputs and returns one of:
- a plain value (or an awaitable of one): the output as it is;
- an `ExecutionResult`: its output, metrics and trace, or a failure (status error) or
  its own cancellation (status cancelled);
- an async iterator of stream events: text pieces (`str` or `ChatDelta`, each reported
  as a chunk), a final `ChatDone` (the whole completion: its text is the output, its
  usage the metrics) or any other value (the output). Without a final value the output
  is the joined text.

A plain (non-async) executor runs in a worker thread, so it cannot stall the event loop.
The graph runner (`runnable.runner`) applies this to every node; the bridge's `execute`
and `stream`, chains, datasets, flows and prompt turns all run through the runner, so
nothing else interprets an executor's answer.

While an executor runs, `current_reporter()` is the `Reporter` of its execution: an
executor reports what it sent (`set_request`) there, and the run store records it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, Protocol

from runnable.chat.completion import ChatDelta, ChatDone
from runnable.errors import RunnableError
from runnable.types import ErrorInfo, ExecutionMetrics, ExecutionResult, ExecutionStatus, TraceInfo

__all__ = [
    "ExecutionFailedError",
    "ExecutorCancelledError",
    "Reporter",
    "call_executor",
    "consume_stream",
    "current_reporter",
    "measured",
    "set_current_reporter",
    "unpack_result",
]

_NOTHING: Any = object()


class Reporter(Protocol):
    """Where an execution reports what is not its output (`NodeContext` is one)."""

    def chunk(self, text: str) -> None:
        """A piece of streamed text."""
        ...

    def set_metrics(self, metrics: ExecutionMetrics | None = None, **fields: Any) -> None:
        """Token usage, cost or timings."""
        ...

    def set_trace(self, trace: TraceInfo) -> None:
        """Where the execution's trace can be found."""
        ...

    def set_request(self, request: Mapping[str, Any]) -> None:
        """What was actually sent (rendered messages and settings, or an HTTP body)."""
        ...


_current: ContextVar[Reporter | None] = ContextVar("runnable_reporter", default=None)


def current_reporter() -> Reporter | None:
    """The reporter of the execution running in this task, or None outside one."""
    return _current.get()


def set_current_reporter(reporter: Reporter | None) -> None:
    """Make `reporter` the current one in this task (the runner does, per node)."""
    _current.set(reporter)


class ExecutorCancelledError(Exception):
    """The executor reported its own cancellation (an `ExecutionResult` with that status)."""


class ExecutionFailedError(RunnableError):
    """The executor returned a failed `ExecutionResult`; `error` is its ErrorInfo."""

    def __init__(self, error: ErrorInfo) -> None:
        self.error = error
        super().__init__(error.message or "the execution failed")


async def call_executor(execute: Callable[..., Any], *args: Any) -> Any:
    """Start `execute(*args)`: a coroutine is awaited, a plain function runs in a thread.

    An async generator (a stream) comes back as it is, to be read with `consume_stream`.
    """
    if inspect.iscoroutinefunction(execute) or inspect.isasyncgenfunction(execute):
        result = execute(*args)
    else:
        result = await asyncio.to_thread(execute, *args)
    if inspect.isawaitable(result):
        return await result
    return result


def unpack_result(result: ExecutionResult, reporter: Reporter) -> Any:
    """The output of an `ExecutionResult`, reporting its metrics and trace."""
    if result.status is ExecutionStatus.ERROR:
        raise ExecutionFailedError(result.error or ErrorInfo(message="the execution failed"))
    if result.status is ExecutionStatus.CANCELLED:
        raise ExecutorCancelledError()
    if result.metrics.model_fields_set:
        reporter.set_metrics(result.metrics)
    if result.trace is not None:
        reporter.set_trace(result.trace)
    return result.output


async def consume_stream(
    stream: Any, reporter: Reporter, chunk: Callable[[str], Any] | None = None
) -> Any:
    """Read a stream to its end, reporting each piece of text as a chunk; the output.

    `chunk(text)` reports a piece (default: `reporter.chunk`; the runner passes its own,
    one call cheaper: this loop runs once per token).
    """
    parts: list[str] = []
    final = _NOTHING
    if chunk is None:
        chunk = reporter.chunk
    try:
        async for item in stream:
            if type(item) is str:
                text = item
            elif isinstance(item, ChatDelta):
                text = item.text
            elif isinstance(item, ChatDone):
                completion = item.completion
                final = completion.text
                reporter.set_metrics(completion.metrics())
                continue
            else:
                final = item
                continue
            if text:
                parts.append(text)
                chunk(text)
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
    return "".join(parts) if final is _NOTHING else final


def measured(
    reported: ExecutionMetrics | None, first_chunk: float | None, started: float, latency: float
) -> ExecutionMetrics | None:
    """The metrics of an execution: what it reported, timed by the runner.

    One clock times a node: `latency_ms` is always the runner's (from the call to the
    end), and `ttft_ms` the runner's first chunk when it saw one (else what the executor
    reported). None for an execution that reported nothing and streamed nothing (its
    latency is on the completion event): building metrics for every plain node would
    cost more than it.
    """
    if reported is None and first_chunk is None:
        return None
    ttft = (first_chunk - started) * 1000 if first_chunk is not None else None
    if reported is None:
        return ExecutionMetrics(latency_ms=latency, ttft_ms=ttft)
    return reported.model_copy(
        update={"latency_ms": latency, "ttft_ms": ttft if ttft is not None else reported.ttft_ms}
    )
