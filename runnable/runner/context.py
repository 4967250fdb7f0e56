"""What an executor receives besides its inputs: the node's run, and ways to report back.

A `NodeContext` is the `runnable.outcome.Reporter` of its node.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from runnable.chain import Node
from runnable.types import ExecutionMetrics, TraceInfo

__all__ = ["NodeContext"]


class NodeRun(Protocol):
    """What a context reads of its run (the scheduler has it; it imports this module)."""

    run_id: str
    testcase: Mapping[str, Any] | None
    plan: Any
    _outputs: dict[str, Any]
    _cancelling: bool
    _metrics: dict[int, ExecutionMetrics]
    _traces: dict[int, TraceInfo]
    _requests: dict[int, dict[str, Any]]

    def _chunk(self, index: int, text: str) -> None: ...


class NodeContext:
    """What an executor knows about its node's run, and how it reports chunks and metrics."""

    __slots__ = ("_index", "_run", "attempt", "node")

    def __init__(self, run: NodeRun, index: int, node: Node) -> None:
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
        nodes = self._run.plan.nodes
        outputs = self._run._outputs
        parent_ids = [nodes[p].node.id for p in nodes[self._index].parents]
        return {parent_id: outputs.get(parent_id) for parent_id in parent_ids}

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

    def set_request(self, request: Mapping[str, Any]) -> None:
        """Report what the node actually sent (rendered messages and settings, an HTTP body)."""
        self._run._requests[self._index] = dict(request)
