"""Flows: steps of actions, run by the graph runner.

A flow is a list of steps; a step is a set of actions. The actions of a step run in
parallel; a step starts when every action of the step before it has finished (a flow
is compiled to a chain in which each action reads from every action of the step
before). A failed action skips every later step. `run_flow`, `run_step`, `run_action`
and `cancel` are thin layers over `run_graph`; their log is the event stream, with
`StepStarted`/`StepCompleted` around each step's node events.

An action's inputs: the flow inputs and the outputs of the step before (pass-through),
unless it names `mappings` (`{"question": "testcase.q", "draft": "write.outputs.text"}`
: a path starting with an earlier action's id reads that action's output); its fixed
`inputs` always win.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runnable.chain import Chain, Connection, InputMapping, Node
from runnable.runner.channel import EventCallback, EventChannel
from runnable.runner.errors import FlowError
from runnable.runner.events import Event, StepCompleted, StepStarted
from runnable.runner.graph import Execute, GraphRun, run_graph
from runnable.runner.results import NodeResult
from runnable.types import ExecutionStatus, RunnableRef

__all__ = ["Action", "Flow", "FlowRun", "Step", "cancel", "run_action", "run_flow", "run_step"]

_TERMINAL_EVENTS = frozenset({"node_completed", "node_failed", "node_skipped", "node_cancelled"})
_NODE_STATUS = {
    "node_completed": ExecutionStatus.SUCCESS,
    "node_failed": ExecutionStatus.ERROR,
    "node_skipped": ExecutionStatus.SKIPPED,
    "node_cancelled": ExecutionStatus.CANCELLED,
}


class Action(BaseModel):
    """One action of a step: the runnable it runs, fixed inputs, and input mappings."""

    model_config = ConfigDict(frozen=True)

    id: str
    ref: RunnableRef | None = None
    label: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    mappings: dict[str, str] = Field(default_factory=dict)


class Step(BaseModel):
    """Actions that run in parallel."""

    model_config = ConfigDict(frozen=True)

    id: str
    label: str | None = None
    actions: tuple[Action, ...] = ()


class Flow(BaseModel):
    """Steps that run in order; action ids are unique across the flow."""

    model_config = ConfigDict(frozen=True)

    id: str = "flow"
    steps: tuple[Step, ...] = ()

    @model_validator(mode="after")
    def _unique_ids_and_backward_mappings(self) -> Flow:
        steps = [step.id for step in self.steps]
        if len(set(steps)) != len(steps):
            raise FlowError(f"flow {self.id!r} repeats a step id: {', '.join(steps)}")
        seen: set[str] = set()
        for step in self.steps:
            here = [action.id for action in step.actions]
            for action in step.actions:
                if action.id in seen or here.count(action.id) > 1:
                    raise FlowError(f"flow {self.id!r} repeats the action id {action.id!r}")
                for key, path in action.mappings.items():
                    head = path.removeprefix("$.").split(".", 1)[0].split("[", 1)[0]
                    if head != "testcase" and head not in seen:
                        raise FlowError(
                            f"action {action.id!r} maps {key!r} from {path!r}, but {head!r} "
                            "is no action of an earlier step (nor 'testcase')"
                        )
            seen.update(here)
        return self

    def step(self, step_id: str) -> Step:
        """The step with this id; `FlowError` when there is none."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise FlowError(f"flow {self.id!r} has no step {step_id!r}")

    def step_of(self, action_id: str) -> Step:
        """The step holding this action; `FlowError` when no step does."""
        for step in self.steps:
            if any(action.id == action_id for action in step.actions):
                return step
        raise FlowError(f"flow {self.id!r} has no action {action_id!r}")

    def to_chain(self) -> Chain:
        """The chain the runner runs: each action reads from every action of the step before."""
        nodes = [
            Node(action.id, ref=action.ref, label=action.label)
            for step in self.steps
            for action in step.actions
        ]
        connections: list[Connection] = []
        before: tuple[Action, ...] = ()
        for step in self.steps:
            for action in step.actions:
                connections.extend(Connection(prior.id, action.id) for prior in before)
                for key, path in action.mappings.items():
                    head, _, rest = path.removeprefix("$.").partition(".")
                    if head != "testcase":
                        mapping = InputMapping(key, rest or "outputs")
                        connections.append(Connection(head, action.id, [mapping]))
            before = step.actions or before
        return Chain(nodes, connections)

    def input_mappings(self) -> dict[str, list[InputMapping]]:
        """Each action's mappings from the flow inputs (`testcase.x`), by action id."""
        found: dict[str, list[InputMapping]] = {}
        for step in self.steps:
            for action in step.actions:
                for key, path in action.mappings.items():
                    text = path.removeprefix("$.")
                    if text.partition(".")[0] == "testcase":
                        found.setdefault(action.id, []).append(InputMapping(key, text))
        return found

    def node_inputs(self) -> dict[str, dict[str, Any]]:
        """Each action's fixed inputs, by action id."""
        return {
            action.id: dict(action.inputs)
            for step in self.steps
            for action in step.actions
            if action.inputs
        }


class FlowRun:
    """A run of a flow (or of one step or action): its events and results, by action."""

    def __init__(self, flow: Flow, on_event: EventCallback | None) -> None:
        self.flow = flow
        self._channel = EventChannel(on_event)
        self._step_of = {action.id: step.id for step in flow.steps for action in step.actions}
        self._left = {step.id: len(step.actions) for step in flow.steps}
        self._statuses: dict[str, list[ExecutionStatus]] = {step.id: [] for step in flow.steps}
        self._step_status: dict[str, ExecutionStatus] = {}
        self._started: set[str] = set()
        self.graph: GraphRun | None = None

    def _attach(self, graph: GraphRun) -> FlowRun:
        self.graph = graph
        return self

    @property
    def run(self) -> GraphRun:
        """The graph run underneath."""
        assert self.graph is not None
        return self.graph

    @property
    def run_id(self) -> str:
        """This run's id."""
        return self.run.run_id

    @property
    def status(self) -> ExecutionStatus:
        """The run's status (see `GraphRun.status`)."""
        return self.run.status

    @property
    def results(self) -> dict[str, NodeResult]:
        """Each action's result, by action id."""
        return self.run.results

    @property
    def outputs(self) -> dict[str, Any]:
        """Each successful action's output, by action id."""
        return self.run.outputs

    def step_status(self, step_id: str) -> ExecutionStatus:
        """A step's status: pending until its first action event, then as its actions end."""
        if step_id in self._step_status:
            return self._step_status[step_id]
        if self._statuses.get(step_id) or step_id in self._started:
            return ExecutionStatus.RUNNING
        return ExecutionStatus.PENDING

    def _observe(self, event: Event) -> None:
        """Forward a graph event, framing each step with its start and completion."""
        step_id = self._step_of.get(event.node_id or "")
        if step_id is not None and step_id not in self._started:
            self._started.add(step_id)
            self._channel.emit(
                StepStarted.fast(run_id=event.run_id, step_id=step_id, at=_at(event))
            )
        self._channel.emit(event)
        if step_id is not None and event.type in _TERMINAL_EVENTS:
            statuses = self._statuses[step_id]
            statuses.append(_NODE_STATUS[event.type])
            if len(statuses) == self._left[step_id]:
                status = _step_outcome(statuses)
                self._step_status[step_id] = status
                self._channel.emit(
                    StepCompleted.fast(
                        run_id=event.run_id, step_id=step_id, status=status, at=_at(event)
                    )
                )
        if event.type == "run_completed":
            self._channel.close()

    def start(self) -> FlowRun:
        """Start the run (needs a running event loop)."""
        self.run.start()
        return self

    def cancel(self) -> None:
        """Cancel the run: running and waiting actions end cancelled."""
        self.run.cancel()

    async def wait(self) -> FlowRun:
        """Run to the end and return this run."""
        await self.run.wait()
        return self

    def __await__(self) -> Generator[Any, None, FlowRun]:
        return self.wait().__await__()

    def __aiter__(self) -> FlowRun:
        self._channel.open()
        return self

    async def __anext__(self) -> Event:
        self._channel.open()
        self.run.start()
        return await self._channel.next(self.cancel)


def _at(event: Event) -> float:
    at = getattr(event, "at", 0.0)
    return float(at) if isinstance(at, int | float) else 0.0


def _step_outcome(statuses: list[ExecutionStatus]) -> ExecutionStatus:
    for status in (ExecutionStatus.CANCELLED, ExecutionStatus.ERROR):
        if status in statuses:
            return status
    if all(s is ExecutionStatus.SKIPPED for s in statuses):
        return ExecutionStatus.SKIPPED
    return ExecutionStatus.SUCCESS


def _as_flow(flow: Flow | Mapping[str, Any]) -> Flow:
    return flow if isinstance(flow, Flow) else Flow.model_validate(flow)


def _start_flow(
    flow: Flow,
    execute: Execute,
    inputs: Mapping[str, Any] | None,
    on_event: EventCallback | None,
    options: dict[str, Any],
) -> FlowRun:
    run = FlowRun(flow, on_event)
    graph = run_graph(
        flow.to_chain(),
        execute,
        testcase=inputs,
        node_inputs=flow.node_inputs(),
        input_mappings=flow.input_mappings(),
        on_event=run._observe,
        kind="flow",
        **options,
    )
    return run._attach(graph)


def run_flow(
    flow: Flow | Mapping[str, Any],
    execute: Execute,
    *,
    inputs: Mapping[str, Any] | None = None,
    on_event: EventCallback | None = None,
    **options: Any,
) -> FlowRun:
    """Run every step in order (`options` go to `run_graph`: `max_concurrency`, `retry`...)."""
    return _start_flow(_as_flow(flow), execute, inputs, on_event, options)


def run_step(
    flow: Flow | Mapping[str, Any],
    step_id: str,
    execute: Execute,
    *,
    inputs: Mapping[str, Any] | None = None,
    previous_results: Mapping[str, Any] | None = None,
    on_event: EventCallback | None = None,
    **options: Any,
) -> FlowRun:
    """Run one step's actions; earlier steps' outputs come from `previous_results`."""
    flow = _as_flow(flow)
    only = [action.id for action in flow.step(step_id).actions]
    options.update(only=only, previous_results=previous_results or {})
    return _start_flow(flow, execute, inputs, on_event, options)


def run_action(
    flow: Flow | Mapping[str, Any],
    action_id: str,
    execute: Execute,
    *,
    inputs: Mapping[str, Any] | None = None,
    previous_results: Mapping[str, Any] | None = None,
    on_event: EventCallback | None = None,
    **options: Any,
) -> FlowRun:
    """Run one action; earlier steps' outputs come from `previous_results`."""
    flow = _as_flow(flow)
    flow.step_of(action_id)
    options.update(only=[action_id], previous_results=previous_results or {})
    return _start_flow(flow, execute, inputs, on_event, options)


def cancel(run: FlowRun | GraphRun | Any) -> None:
    """Cancel a flow, graph or dataset run (anything with `cancel()`)."""
    run.cancel()
