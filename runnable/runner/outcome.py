"""What an executor's answer means: a stream of chunks, or an `ExecutionResult`.

A plain value (or the value of an awaitable) is the node's output as it is. A stream
yields text (`str` or `ChatDelta`: each a `Chunk`), `ChatDone` (the provider's whole
completion: output and metrics) or any other value (the output); without one, the
output is the joined text. An `ExecutionResult` gives its output, metrics and trace,
or fails the node (status error) or cancels it (status cancelled).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runnable.chat.completion import ChatDelta, ChatDone
from runnable.runner.context import NodeContext
from runnable.runner.errors import NodeExecutionError
from runnable.types import ErrorInfo, ExecutionMetrics, ExecutionResult, ExecutionStatus

__all__ = ["ExecutorCancelled", "consume_stream", "measured", "unpack_result"]

_NOTHING: Any = object()


class ExecutorCancelled(Exception):
    """The executor reported its own cancellation (an `ExecutionResult` with that status)."""


def unpack_result(result: ExecutionResult, ctx: NodeContext) -> Any:
    """The output of an `ExecutionResult`, reporting its metrics and trace to `ctx`."""
    if result.status is ExecutionStatus.ERROR:
        raise NodeExecutionError(result.error or ErrorInfo(message="the node failed"))
    if result.status is ExecutionStatus.CANCELLED:
        raise ExecutorCancelled()
    if result.metrics.model_fields_set:
        ctx.set_metrics(result.metrics)
    if result.trace is not None:
        ctx.set_trace(result.trace)
    return result.output


async def consume_stream(
    stream: Any, ctx: NodeContext, chunk: Callable[[str], Any] | None = None
) -> Any:
    """Read a stream to its end, reporting each piece of text as a chunk; the output.

    `chunk(text)` reports a piece (default: `ctx.chunk`; the runner passes its own, one
    call cheaper: this loop runs once per token).
    """
    parts: list[str] = []
    final = _NOTHING
    if chunk is None:
        chunk = ctx.chunk
    try:
        async for item in stream:
            if type(item) is str:
                text = item
            elif isinstance(item, ChatDelta):
                text = item.text
            elif isinstance(item, ChatDone):
                final = item.completion.text
                ctx.set_metrics(item.completion.metrics())
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
    """The node's metrics: what the executor reported, with latency and TTFT filled in.

    None for a node that reported nothing and streamed nothing (its latency is on the
    completion event): building metrics for every plain node would cost more than it.
    """
    if reported is None and first_chunk is None:
        return None
    ttft = (first_chunk - started) * 1000 if first_chunk is not None else None
    if reported is None:
        return ExecutionMetrics(latency_ms=latency, ttft_ms=ttft)
    return reported.model_copy(
        update={
            "latency_ms": reported.latency_ms if reported.latency_ms is not None else latency,
            "ttft_ms": reported.ttft_ms if reported.ttft_ms is not None else ttft,
        }
    )
