"""What an executor receives besides its inputs: the node's run, and ways to report back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runnable.chain import Node
from runnable.types import ExecutionMetrics, TraceInfo

if TYPE_CHECKING:
    from runnable.runner.scheduler import Scheduler

__all__ = ["NodeContext"]


class NodeContext:
    """What an executor knows about its node's run, and how it reports chunks and metrics."""

    __slots__ = ("_index", "_run", "attempt", "node")

    def __init__(self, run: Scheduler, index: int, node: Node) -> None:
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
