"""Calling an executor: plain, async or an async generator of chunks, timed as a result."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bridge.types import Executor
from runnable.redaction import redact_text
from runnable.types import (
    ErrorInfo,
    ExecutionMetrics,
    ExecutionResult,
    ExecutionStatus,
    RunnableData,
)

__all__ = ["call_executor", "join_chunks", "run_executor"]


async def call_executor(
    execute: Executor, runnable: RunnableData, inputs: Mapping[str, Any]
) -> Any:
    """Start `execute`: an async generator as it is, else the awaited (or threaded) result.

    A plain function runs in a worker thread so that a blocking executor does not stall
    the event loop.
    """
    if inspect.isasyncgenfunction(execute) or inspect.iscoroutinefunction(execute):
        result = execute(runnable, inputs)
    else:
        result = await asyncio.to_thread(execute, runnable, inputs)
    if inspect.isawaitable(result):
        return await result
    return result


def join_chunks(chunks: list[Any]) -> Any:
    """The output of a streamed run: text chunks joined, other chunks as a list."""
    if all(isinstance(chunk, str) for chunk in chunks):
        return "".join(chunks)
    return chunks


def _completed(result: ExecutionResult, started_at: datetime, started: float) -> ExecutionResult:
    updates: dict[str, Any] = {}
    if result.started_at is None:
        updates["started_at"] = started_at
    if result.completed_at is None:
        updates["completed_at"] = datetime.now(UTC)
    if result.metrics.latency_ms is None:
        metrics = result.metrics.model_copy(
            update={"latency_ms": (time.perf_counter() - started) * 1000}
        )
        updates["metrics"] = metrics
    return result.model_copy(update=updates) if updates else result


async def run_executor(
    execute: Executor,
    runnable: RunnableData,
    inputs: Mapping[str, Any],
    *,
    on_chunk: Callable[[Any], Any] | None = None,
) -> ExecutionResult:
    """Run to the end and report an `ExecutionResult` with timings.

    A streaming executor's chunks go to `on_chunk` as they arrive (and are joined into
    the output).

    An executor that raises gives a result with status error (its message and type); a
    `NotImplementedError` and cancellation are raised, not reported.
    """
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    ttft_ms: float | None = None
    try:
        output = await call_executor(execute, runnable, inputs)
        if isinstance(output, AsyncIterator) or inspect.isasyncgen(output):
            chunks: list[Any] = []
            async for chunk in output:
                if ttft_ms is None:
                    ttft_ms = (time.perf_counter() - started) * 1000
                chunks.append(chunk)
                if on_chunk is not None:
                    on_chunk(chunk)
            output = join_chunks(chunks)
    except (NotImplementedError, asyncio.CancelledError):
        raise
    except Exception as exc:
        return ExecutionResult(
            status=ExecutionStatus.ERROR,
            started_at=started_at,
            completed_at=datetime.now(UTC),
            error=ErrorInfo(
                message=redact_text(str(exc)) or type(exc).__name__, type=type(exc).__name__
            ),
            metrics=ExecutionMetrics(latency_ms=(time.perf_counter() - started) * 1000),
        )
    if isinstance(output, ExecutionResult):
        return _completed(output, started_at, started)
    return ExecutionResult(
        status=ExecutionStatus.SUCCESS,
        started_at=started_at,
        completed_at=datetime.now(UTC),
        output=output,
        metrics=ExecutionMetrics(
            latency_ms=(time.perf_counter() - started) * 1000, ttft_ms=ttft_ms
        ),
    )
