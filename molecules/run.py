"""The run molecule: a run's events folded into atoms (status, nodes, outputs, text, metrics).

```python
m = run_molecule()
run = run_graph(chain, execute, on_event=m.listener(store))   # or: await m.consume(store, run)
store.sub(m.node_status("b"), push)          # per-node status, output, streamed text...
```

The state is `reduce_run(state, event)` folded over the events, a pure function: a
state replayed from stored events equals the live one. A terminal status (of the run,
of a node, of a step) is never overwritten by a later event, and events of other runs
are ignored (the first `RunStarted` names the run unless `run_molecule(run_id)` did).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from molecules.core import Atom, AtomFamily, Getter, Setter, Store, atom, atom_family, derived
from molecules.stream_text import StreamText
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
    RunStarted,
    StepCompleted,
    StepStarted,
)
from runnable.runner.results import NodeResult
from runnable.types import ErrorInfo, ExecutionMetrics, ExecutionStatus

__all__ = [
    "NodeRunState",
    "RunMolecule",
    "RunState",
    "TextLog",
    "fold_run",
    "reduce_run",
    "run_molecule",
]

_PENDING = ExecutionStatus.PENDING
_RUNNING = ExecutionStatus.RUNNING
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _is(a: object, b: object) -> bool:
    return a is b


# The run molecule's streamed text is the reactive layer's one text log.
TextLog = StreamText


EMPTY_TEXT = TextLog()


@attrs.frozen(slots=True)
class NodeRunState:
    """One node's state in a run."""

    node_id: str
    status: ExecutionStatus = _PENDING
    inputs: Mapping[str, Any] | None = None
    output: Any = None
    error: ErrorInfo | None = None
    text: TextLog = EMPTY_TEXT
    metrics: ExecutionMetrics | None = None
    latency_ms: float | None = None
    attempts: int = 0
    cached: bool = False
    skipped_because: str | None = None

    @property
    def streamed_text(self) -> str:
        """The text streamed so far."""
        return str(self.text)


@attrs.frozen(slots=True)
class RunState:
    """A run's state: the fold of its events."""

    run_id: str | None = None
    status: ExecutionStatus = ExecutionStatus.IDLE
    kind: str | None = None
    parent_run_id: str | None = None
    node_ids: tuple[str, ...] = ()
    nodes: Mapping[str, NodeRunState] = _EMPTY
    steps: Mapping[str, ExecutionStatus] = _EMPTY
    error: ErrorInfo | None = None
    metrics: ExecutionMetrics = attrs.field(factory=ExecutionMetrics)

    def node(self, node_id: str) -> NodeRunState:
        """A node's state (pending when the run has not mentioned it yet)."""
        found = self.nodes.get(node_id)
        return found if found is not None else NodeRunState(node_id)


def _with_node(state: RunState, node: NodeRunState, **changes: Any) -> RunState:
    nodes = dict(state.nodes)
    nodes[node.node_id] = node
    if changes:
        return attrs.evolve(state, nodes=nodes, **changes)
    # Positional construction: `evolve` costs more than the rest of a chunk's fold.
    return RunState(
        state.run_id,
        state.status,
        state.kind,
        state.parent_run_id,
        state.node_ids,
        nodes,
        state.steps,
        state.error,
        state.metrics,
    )


def _sum(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else a + b


def _add_metrics(total: ExecutionMetrics, more: ExecutionMetrics | None) -> ExecutionMetrics:
    if more is None:
        return total
    tokens_in = _sum(total.tokens_in, more.tokens_in)
    tokens_out = _sum(total.tokens_out, more.tokens_out)
    return ExecutionMetrics(
        latency_ms=total.latency_ms,
        ttft_ms=total.ttft_ms if total.ttft_ms is not None else more.ttft_ms,
        tokens_in=int(tokens_in) if tokens_in is not None else None,
        tokens_out=int(tokens_out) if tokens_out is not None else None,
        cost=_sum(total.cost, more.cost),
    )


def _reduce_node(state: RunState, event: Event, node: NodeRunState) -> RunState:
    if isinstance(event, Chunk):
        # The hot path of streaming: only the text (and maybe the status) changes.
        n = node
        changed = NodeRunState(
            n.node_id,
            _RUNNING,
            n.inputs,
            n.output,
            n.error,
            n.text.append(event.text),
            n.metrics,
            n.latency_ms,
            n.attempts,
            n.cached,
            n.skipped_because,
        )
        return _with_node(state, changed)
    if isinstance(event, NodeStarted):
        changed = attrs.evolve(node, status=_RUNNING, inputs=event.inputs, attempts=1)
        return _with_node(state, changed)
    if isinstance(event, NodeRetrying):
        changed = attrs.evolve(node, status=_RUNNING, attempts=event.attempt + 1)
        return _with_node(state, changed)
    if isinstance(event, NodeCompleted | NodeFailed):
        # A terminal event means what the runner's own `NodeResult` says it means.
        result = NodeResult.from_event(event)
        changed = attrs.evolve(
            node,
            status=result.status,
            output=result.output if result.status is ExecutionStatus.SUCCESS else node.output,
            error=result.error,
            metrics=result.metrics if result.metrics is not None else node.metrics,
            latency_ms=result.latency_ms,
            attempts=result.attempts,
            cached=result.cached,
        )
        add = isinstance(event, NodeCompleted) and not event.cached
        metrics = _add_metrics(state.metrics, event.metrics) if add else state.metrics
        return _with_node(state, changed, metrics=metrics)
    if isinstance(event, NodeSkipped):
        changed = attrs.evolve(node, status=ExecutionStatus.SKIPPED, skipped_because=event.because)
        return _with_node(state, changed)
    if isinstance(event, NodeCancelled):
        return _with_node(state, attrs.evolve(node, status=ExecutionStatus.CANCELLED))
    return state


def reduce_run(state: RunState, event: Event) -> RunState:
    """The state after `event`: pure; returns `state` itself when the event changes nothing."""
    if state.run_id is not None and event.run_id != state.run_id:
        return state
    if state.status.is_terminal:
        return state
    if isinstance(event, RunStarted):
        if state.status is not ExecutionStatus.IDLE:
            return state
        nodes = dict(state.nodes)
        for node_id in event.node_ids:
            nodes.setdefault(node_id, NodeRunState(node_id))
        return attrs.evolve(
            state,
            run_id=event.run_id,
            status=_RUNNING,
            kind=event.kind,
            parent_run_id=event.parent_run_id,
            node_ids=event.node_ids,
            nodes=nodes,
        )
    if state.run_id is None:
        return state  # not following any run yet: only a RunStarted can begin one
    target = event.node_id
    if target is not None:
        node = state.nodes.get(target)
        if node is None:
            node = NodeRunState(target)
        elif node.status.is_terminal:
            return state
        return _reduce_node(state, event, node)
    if isinstance(event, RunCompleted):
        metrics = state.metrics.model_copy(update={"latency_ms": event.latency_ms})
        return attrs.evolve(state, status=event.status, error=event.error, metrics=metrics)
    if isinstance(event, StepStarted | StepCompleted):
        current = state.steps.get(event.step_id)
        if current is not None and current.is_terminal:
            return state
        status = event.status if isinstance(event, StepCompleted) else _RUNNING
        if current is status:
            return state
        return attrs.evolve(state, steps={**state.steps, event.step_id: status})
    return state


def fold_run(events: Iterable[Event], state: RunState | None = None) -> RunState:
    """The state after every event in order (a replay)."""
    current = state if state is not None else RunState()
    for event in events:
        current = reduce_run(current, event)
    return current


class RunMolecule:
    """The atoms of one run. Write events with `store.set(m.apply, event)`.

    `state` holds the whole `RunState`; the other atoms are slices of it that notify
    only when their own slice changes: `status`, `error`, `metrics`, and per node
    `node(id)`, `node_status(id)`, `output(id)`, `stream(id)` (the `TextLog`, cheap on
    every chunk) and `text(id)` (the joined text: read it, or subscribe to `stream`
    when a stream is long).
    """

    def __init__(self, run_id: str | None = None) -> None:
        self.state: Atom[RunState] = atom(RunState(run_id=run_id), eq=_is, name="run.state")
        state = self.state

        def apply(get: Getter, set: Setter, event: Event) -> RunState:
            before = get(state)
            after = reduce_run(before, event)
            if after is not before:
                set(state, after)
            return after

        def apply_all(get: Getter, set: Setter, events: Iterable[Event]) -> RunState:
            after = fold_run(events, get(state))
            set(state, after)
            return after

        self.apply: Atom[None] = derived(write=apply, name="run.apply")
        self.apply_all: Atom[None] = derived(write=apply_all, name="run.apply_all")
        self.status: Atom[ExecutionStatus] = derived(lambda get: get(state).status)
        self.error: Atom[ErrorInfo | None] = derived(lambda get: get(state).error)
        self.metrics: Atom[ExecutionMetrics] = derived(lambda get: get(state).metrics, eq=_is)
        self.steps: Atom[Mapping[str, ExecutionStatus]] = derived(lambda get: get(state).steps)
        self.node: AtomFamily[str, Atom[NodeRunState]] = atom_family(
            lambda node_id: derived(lambda get: get(state).node(node_id), eq=_node_eq)
        )
        # Slices read the state directly: one derived level per event, not two.
        self.node_status: AtomFamily[str, Atom[ExecutionStatus]] = atom_family(
            lambda node_id: derived(lambda get: _field(get(state), node_id, "status", _PENDING))
        )
        self.output: AtomFamily[str, Atom[Any]] = atom_family(
            lambda node_id: derived(lambda get: _field(get(state), node_id, "output", None), eq=_is)
        )
        self.stream: AtomFamily[str, Atom[TextLog]] = atom_family(
            lambda node_id: derived(
                lambda get: _field(get(state), node_id, "text", EMPTY_TEXT), eq=_is
            )
        )
        self.text: AtomFamily[str, Atom[str]] = atom_family(
            lambda node_id: derived(lambda get: str(get(self.stream(node_id))))
        )

    def listener(self, store: Store) -> Callable[[Event], None]:
        """A callback for `run_graph(..., on_event=...)` that folds each event into `store`."""
        apply = self.apply

        def on_event(event: Event) -> None:
            store.set(apply, event)

        return on_event

    async def consume(self, store: Store, events: AsyncIterable[Event]) -> RunState:
        """Fold every event of an async stream (a run) into `store`; returns the last state."""
        async for event in events:
            store.set(self.apply, event)
        return store.get(self.state)


def _field(state: RunState, node_id: str, name: str, default: Any) -> Any:
    found = state.nodes.get(node_id)
    return default if found is None else getattr(found, name)


def _node_eq(a: NodeRunState, b: NodeRunState) -> bool:
    # A node absent from the state is rebuilt as pending on each read: equal, not identical.
    return a is b or (a.status is _PENDING and b.status is _PENDING and a == b)


def run_molecule(run_id: str | None = None) -> RunMolecule:
    """The atoms of one run (the run named by `run_id`, or by the first `RunStarted`)."""
    return RunMolecule(run_id)
