"""Chains and datasets of bridge runnables: the runner, fed by the bridge's kinds.

The runner (`runnable.runner`) knows nothing of kinds or stores; this module gives it
what it needs from the bridge: each node's ports (for auto-mapping) and an executor per
node. Every node is loaded and prepared ONCE per run, here, and then runs through the
same executor as `bridge.execute` (`BridgeRunner.node_executor`). With a recorder (the
bridge's own when it has a run store) every run and node lands in a `RunStore`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from bridge.resolved import resolve_nodes
from bridge.running import BridgeRunner, both_callbacks
from molecules import Store
from runnable.chain import Chain, Node
from runnable.ids import new_id
from runnable.runner import DatasetRun, GraphRun, NodeContext, NodePorts, run_dataset, run_graph
from runnable.runner.channel import EventCallback
from runnable.runner.ray_backend import RayDatasetRun
from runnable.runner.scheduler import Execute
from runnable.tracking import RunRecorder
from runnable.types import RunnableData

__all__ = ["LoadedChain", "load_chain", "run_chain", "run_chain_dataset"]

_NO_RECORDER: Any = object()


class LoadedChain:
    """A chain whose nodes are loaded: their ports, and one executor that runs any node."""

    def __init__(
        self, chain: Chain, ports: dict[str, NodePorts], executors: dict[str, Execute]
    ) -> None:
        self.chain = chain
        self.ports = ports
        self._executors = executors

    async def execute(self, node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        """The runner's executor: the node's own, made when it was loaded."""
        found = self._executors.get(node.id)
        if found is None:
            raise ValueError(f"chain node {node.id!r} has no runnable ref to run")
        return await found(node, inputs, ctx)

    def node_refs(self) -> dict[str, object]:
        """The ref each node runs, by node id."""
        return {node.id: node.ref for node in self.chain.nodes if node.ref is not None}


async def load_chain(
    runner: BridgeRunner,
    chain: Chain | Mapping[str, Any],
    *,
    store: Store,
    node_deadline: float | None = None,
) -> LoadedChain:
    """Load every node's runnable into `store` once (concurrently): ports and executors.

    `node_deadline` bounds each node's whole call (`DeadlineExceededError` past it).
    """
    plan = chain if isinstance(chain, Chain) else Chain.model_validate(chain)
    nodes = [node for node in plan.nodes if node.ref is not None]

    async def load(node: Node) -> tuple[NodePorts, Execute]:
        assert node.ref is not None
        ref = await runner.resolve(node.ref, store=store)
        runnable: RunnableData = await runner.load(ref, store=store)
        assert ref.kind is not None
        ports = NodePorts(
            inputs=store.get(runner.atoms.kind_atom("input_ports", ref.kind, ref.id)),
            outputs=store.get(runner.atoms.kind_atom("output_ports", ref.kind, ref.id)),
        )
        t = runner.registry.type(ref.kind)
        return ports, runner.node_executor(t, runnable, deadline=node_deadline)

    loaded = await asyncio.gather(*(load(node) for node in nodes))
    return LoadedChain(
        plan,
        {node.id: ports for node, (ports, _) in zip(nodes, loaded, strict=True)},
        {node.id: execute for node, (_, execute) in zip(nodes, loaded, strict=True)},
    )


def _recorder(runner: BridgeRunner, given: Any) -> RunRecorder | None:
    return runner.recorder if given is _NO_RECORDER else given


async def run_chain(
    runner: BridgeRunner,
    chain: Chain | Mapping[str, Any],
    *,
    store: Store,
    testcase: Mapping[str, Any] | None = None,
    recorder: RunRecorder | None = _NO_RECORDER,
    on_event: EventCallback | None = None,
    node_deadline: float | None = None,
    **options: Any,
) -> GraphRun:
    """Plan `chain` over the bridge's runnables and return its run (iterate it or await it).

    Inputs are auto-mapped from the testcase and the parents' output ports; an ambiguous
    or missing required input raises `ChainInputError` here, before any call. Other
    options go to `run_graph` (max_concurrency, retry, previous_results, rerun_from...).
    `recorder` defaults to the bridge's (None records nothing); `node_deadline` bounds
    each node's whole call.
    """
    loaded = await load_chain(runner, chain, store=store, node_deadline=node_deadline)
    recorder = _recorder(runner, recorder)
    if recorder is not None:
        run_id = options.setdefault("run_id", new_id())
        recorder.expect(run_id, inputs=testcase, node_refs=loaded.node_refs())
    return run_graph(
        loaded.chain,
        loaded.execute,
        testcase=testcase,
        ports=loaded.ports,
        on_event=both_callbacks(recorder.on_event if recorder else None, on_event),
        **options,
    )


async def run_chain_dataset(
    runner: BridgeRunner,
    chain: Chain | Mapping[str, Any],
    rows: Iterable[Mapping[str, Any]],
    *,
    store: Store,
    recorder: RunRecorder | None = _NO_RECORDER,
    on_event: EventCallback | None = None,
    node_deadline: float | None = None,
    **options: Any,
) -> DatasetRun | RayDatasetRun:
    """Run `chain` once per row (each row is the testcase); see `run_dataset` for options.

    `backend=RayBackend(...)` runs the rows on Ray actors (a `RayDatasetRun`, awaited
    and iterated the same way); the recorder then writes each row as it comes back.
    """
    backend = options.pop("backend", None)
    loaded = await load_chain(runner, chain, store=store, node_deadline=node_deadline)
    rows = list(rows)
    recorder = _recorder(runner, recorder)
    if recorder is not None:
        run_id = options.setdefault("run_id", new_id())
        recorder.expect(run_id, rows=rows, node_refs=loaded.node_refs())
    callback = both_callbacks(recorder.on_event if recorder else None, on_event)
    if backend is not None:
        execute = await resolve_nodes(runner, loaded.chain, store=store, deadline=node_deadline)
        ray_run: RayDatasetRun = backend.run(
            loaded.chain,
            rows,
            execute,
            ports=loaded.ports,
            on_event=callback,
            **options,
        )
        return ray_run
    run = run_dataset(
        loaded.chain, rows, loaded.execute, ports=loaded.ports, on_event=callback, **options
    )
    if recorder is not None:  # the rows' runs are written ahead of the rows
        recorder.expect(run.run_id, row_runs=run.row_run_ids)
    return run
