"""Chains and datasets of bridge runnables: the runner, fed by the bridge's kinds.

The runner (`runnable.runner`) knows nothing of kinds or stores; this module gives it the
three things it needs from the bridge: each node's ports (for auto-mapping), an executor
that runs a node's ref through its kind, and, optionally, a `RunRecorder` so that every
run and node lands in a `RunStore` (the run row is written before the node's first call).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from bridge.running import BridgeRunner
from molecules import Store
from runnable.chain import Chain, Node
from runnable.runner import DatasetRun, GraphRun, NodeContext, NodePorts, run_dataset, run_graph
from runnable.runner.channel import EventCallback
from runnable.runner.events import Event
from runnable.tracking import RunRecorder
from runnable.types import ExecutionResult


async def chain_ports(runner: BridgeRunner, chain: Chain, *, store: Store) -> dict[str, NodePorts]:
    """Load every node's runnable into `store` (concurrently) and return its ports by node id."""
    nodes = [node for node in chain.nodes if node.ref is not None]

    async def ports_of(node: Node) -> NodePorts:
        assert node.ref is not None
        await runner.load(node.ref, store=store)
        return NodePorts(
            inputs=store.get(runner.atoms.selector("input_ports", node.ref)),
            outputs=store.get(runner.atoms.selector("output_ports", node.ref)),
        )

    found = await asyncio.gather(*(ports_of(node) for node in nodes))
    return {node.id: ports for node, ports in zip(nodes, found, strict=True)}


def bridge_executor(
    runner: BridgeRunner, *, store: Store, recorder: RunRecorder | None = None
) -> Any:
    """The runner's `execute(node, inputs, ctx)`: run the node's ref through its kind."""

    async def execute(node: Node, inputs: Mapping[str, Any], ctx: NodeContext) -> ExecutionResult:
        if node.ref is None:
            raise ValueError(f"chain node {node.id!r} has no runnable ref to run")
        if recorder is not None:
            await recorder.started(ctx.run_id)

        def on_chunk(chunk: Any) -> None:
            if isinstance(chunk, str):
                ctx.chunk(chunk)  # streamed text reaches the run's events as it arrives

        return await runner.execute(node.ref, inputs, store=store, on_chunk=on_chunk)

    return execute


def _chain(chain: Chain | Mapping[str, Any]) -> Chain:
    return chain if isinstance(chain, Chain) else Chain.model_validate(chain)


def _events(recorder: RunRecorder | None, on_event: EventCallback | None) -> EventCallback | None:
    if recorder is None:
        return on_event
    if on_event is None:
        return recorder.on_event

    def both(event: Event) -> None:
        recorder.on_event(event)
        on_event(event)

    return both


async def run_chain(
    runner: BridgeRunner,
    chain: Chain | Mapping[str, Any],
    *,
    store: Store,
    testcase: Mapping[str, Any] | None = None,
    recorder: RunRecorder | None = None,
    on_event: EventCallback | None = None,
    **options: Any,
) -> GraphRun:
    """Plan `chain` over the bridge's runnables and return its run (iterate it or await it).

    Inputs are auto-mapped from the testcase and the parents' output ports; an ambiguous
    or missing required input raises `ChainInputError` here, before any call. Other
    options go to `run_graph` (max_concurrency, retry, previous_results, rerun_from...).
    """
    plan = _chain(chain)
    ports = await chain_ports(runner, plan, store=store)
    if recorder is not None and testcase is not None:
        run_id = options.setdefault("run_id", uuid.uuid4().hex)
        recorder.inputs[run_id] = testcase
    return run_graph(
        plan,
        bridge_executor(runner, store=store, recorder=recorder),
        testcase=testcase,
        ports=ports,
        on_event=_events(recorder, on_event),
        **options,
    )


async def run_chain_dataset(
    runner: BridgeRunner,
    chain: Chain | Mapping[str, Any],
    rows: Iterable[Mapping[str, Any]],
    *,
    store: Store,
    recorder: RunRecorder | None = None,
    on_event: EventCallback | None = None,
    **options: Any,
) -> DatasetRun:
    """Run `chain` once per row (each row is the testcase); see `run_dataset` for options."""
    plan = _chain(chain)
    ports = await chain_ports(runner, plan, store=store)
    rows = list(rows)
    if recorder is not None:
        recorder.rows[options.setdefault("run_id", uuid.uuid4().hex)] = rows
    return run_dataset(
        plan,
        rows,
        bridge_executor(runner, store=store, recorder=recorder),
        ports=ports,
        on_event=_events(recorder, on_event),
        **options,
    )
