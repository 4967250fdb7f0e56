"""The outcome of one node in one run, read from its terminal event."""

from __future__ import annotations

from typing import Any

import attrs

from runnable.runner.events import (
    Event,
    NodeCancelled,
    NodeCompleted,
    NodeFailed,
    NodeSkipped,
)
from runnable.types import ErrorInfo, ExecutionMetrics, ExecutionStatus, TraceInfo

__all__ = ["NodeResult"]


@attrs.frozen(slots=True)
class NodeResult:
    """A node's status and output; `run_id` is the run that computed it (for reuse)."""

    node_id: str
    status: ExecutionStatus
    output: Any = None
    error: ErrorInfo | None = None
    metrics: ExecutionMetrics | None = None
    trace: TraceInfo | None = None
    latency_ms: float | None = None
    attempts: int = 0
    cached: bool = False
    run_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when the node succeeded (its output is usable downstream)."""
        return self.status is ExecutionStatus.SUCCESS

    @classmethod
    def from_event(cls, event: Event) -> NodeResult:
        """The result a terminal node event describes."""
        node_id = event.node_id or ""
        if isinstance(event, NodeCompleted):
            return cls(
                node_id,
                ExecutionStatus.SUCCESS,
                output=event.output,
                metrics=event.metrics,
                trace=event.trace,
                latency_ms=event.latency_ms,
                attempts=event.attempts,
                cached=event.cached,
                run_id=event.source_run_id or event.run_id,
            )
        if isinstance(event, NodeFailed):
            return cls(
                node_id,
                ExecutionStatus.ERROR,
                output=event.output,
                error=event.error,
                latency_ms=event.latency_ms,
                attempts=event.attempts,
                run_id=event.run_id,
            )
        if isinstance(event, NodeSkipped):
            return cls(node_id, ExecutionStatus.SKIPPED, run_id=event.run_id)
        if isinstance(event, NodeCancelled):
            return cls(node_id, ExecutionStatus.CANCELLED, run_id=event.run_id)
        raise TypeError(f"{type(event).__name__} is not a terminal node event")
