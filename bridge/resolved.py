"""A chain's nodes resolved once into a self-contained executor, to run rows elsewhere.

A dataset run on other processes (`runnable.runner.RayBackend`) cannot take the bridge,
the store or the recorder along: they hold locks, loops and connections. What a row
needs is, per node, the runnable's data and its kind's executor: `resolve_nodes` takes
these from the caller's store (the chain is loaded already), and `ResolvedExecutor`
runs a node from them alone, as `BridgeRunner.node_executor` does. It pickles
(cloudpickle) when the kinds' executors do: the built-in HTTP ones do; an executor
holding an open client does not, and the run says so before any row starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import attrs

from bridge.errors import ExecutorNotAvailableError
from bridge.running import BridgeRunner
from bridge.types import Executor
from molecules import Store
from runnable.chain import Chain, Node
from runnable.deadline import await_within, within_deadline
from runnable.outcome import call_executor
from runnable.runner import NodeContext
from runnable.types import RunnableData

__all__ = ["ResolvedExecutor", "ResolvedNode", "resolve_nodes"]


@attrs.frozen(slots=True)
class ResolvedNode:
    """What running one node needs: its runnable and its kind's executor."""

    runnable: RunnableData
    execute: Executor


@attrs.frozen(slots=True)
class ResolvedExecutor:
    """The runner's `execute(node, inputs, ctx)` over resolved nodes (no bridge, no store)."""

    nodes: Mapping[str, ResolvedNode]
    deadline: float | None = None

    async def __call__(self, node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        """Run `node`: what its kind's executor returns (the runner interprets it)."""
        found = self.nodes.get(node.id)
        if found is None:
            raise ValueError(f"chain node {node.id!r} has no runnable ref to run")
        runnable = found.runnable
        what = f"{runnable.kind}:{runnable.id}"
        call = call_executor(found.execute, runnable, dict(inputs))
        output = await await_within(call, self.deadline, what)
        if self.deadline is not None and hasattr(output, "__anext__"):
            return within_deadline(output, self.deadline, what)
        return output


async def resolve_nodes(
    runner: BridgeRunner, chain: Chain, *, store: Store, deadline: float | None = None
) -> ResolvedExecutor:
    """Each node's runnable (loaded into `store` if it is not yet) and executor.

    `deadline` bounds each node's whole call, as `node_deadline` does locally.
    """

    async def resolve(node: Node) -> ResolvedNode:
        assert node.ref is not None
        ref = await runner.resolve(node.ref, store=store)
        runnable = await runner.load(ref, store=store)
        assert ref.kind is not None
        execute = runner.registry.type(ref.kind).execute
        if execute is None:
            raise ExecutorNotAvailableError(ref.kind, "its RunnableType has no execute")
        return ResolvedNode(runnable, execute)

    nodes = [node for node in chain.nodes if node.ref is not None]
    resolved = await asyncio.gather(*(resolve(node) for node in nodes))
    found = {node.id: one for node, one in zip(nodes, resolved, strict=True)}
    return ResolvedExecutor(found, deadline)
