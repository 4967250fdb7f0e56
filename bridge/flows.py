"""Flows of the bridge: the kind `flow`, run by ref, and re-run in place by index.

```python
run = await bridge.run_flow("flow:review", store=store, inputs={"topic": "tides"})
await run                                                   # every step, in order
again = await bridge.run_action("flow:review", 1, 0, run=run, store=store)
await again                                                 # same run id, that action anew
store.get(bridge.runs(run.run_id).node_status("s1a0"))    # the run's state, kept by id
store.get(bridge.runs_for("flow:review"))                  # the flow's run ids
```

A flow is an entity of kind `flow` (`molecules.entities.flow`): its steps are lists of
action refs. Running it loads the flow through the bridge's molecule in the caller's
store (a draft runs as edited), loads every action once, and runs them with the runner's
flow functions (`runnable.runner.flow`) through the bridge's one execution path
(`BridgeRunner.node_executor`, via `bridge.chains.load_chain`) and its recorder.

`run_step(ref, i, run=r)` and `run_action(ref, i, j, run=r)` with an earlier run `r`
(a `FlowRun` or its id) run INSIDE it: same run id, the other actions' outputs taken
from the run as it stands in the store, the run's state (and its run-store rows)
overwritten for what runs again. Without `run`, they start a fresh run (actions they
read from must then have no earlier step, or `RerunError` says which are missing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bridge.chains import LoadedChain, load_chain
from bridge.running import BridgeRunner
from molecules import Store
from molecules.entities.flow import FlowData
from molecules.runs import RunRegistry
from runnable.ids import new_id
from runnable.runner.channel import EventCallback
from runnable.runner.errors import FlowError
from runnable.runner.events import Event
from runnable.runner.flow import Flow, FlowRun, run_action, run_flow, run_step
from runnable.types import ExecutionStatus, RunnableRef

__all__ = ["BridgeFlows", "RunLike"]

RunLike = FlowRun | str
"""An earlier run: the `FlowRun` itself, or its run id."""

_Rerun = Callable[..., FlowRun]
"""`runnable.runner.flow.run_step` or `run_action`: (flow, id, execute, **keywords)."""


class BridgeFlows:
    """Runs the bridge's flows and keeps their runs by id (see the module docstring)."""

    def __init__(self, runner: BridgeRunner) -> None:
        self.runner = runner
        self.runs = RunRegistry()

    async def load(self, ref: Any, *, store: Store) -> tuple[RunnableRef, FlowData]:
        """The flow `ref` names, as loaded in `store` (drafts included)."""
        resolved = await self.runner.resolve(ref, store=store)
        if resolved.kind != "flow":
            raise FlowError(f"{resolved} is a {resolved.kind}, not a flow")
        await self.runner.load(resolved, store=store)
        molecule = self.runner.registry.type("flow").molecule
        data = store.get(molecule.data(resolved.id))
        return resolved, data if isinstance(data, FlowData) else FlowData.model_validate(data)

    async def _prepare(
        self, ref: Any, store: Store, node_deadline: float | None
    ) -> tuple[RunnableRef, FlowData, Flow, LoadedChain]:
        """The flow and its actions, each loaded once (the same path as a chain's nodes)."""
        resolved, data = await self.load(ref, store=store)
        flow = data.to_flow()
        loaded = await load_chain(
            self.runner, flow.to_chain(), store=store, node_deadline=node_deadline
        )
        return resolved, data, flow, loaded

    async def run_flow(
        self,
        ref: Any,
        *,
        store: Store,
        inputs: Mapping[str, Any] | None = None,
        on_event: EventCallback | None = None,
        node_deadline: float | None = None,
        **options: Any,
    ) -> FlowRun:
        """Run every step of flow `ref` in a new run (not started: await or iterate it)."""
        resolved, _, flow, loaded = await self._prepare(ref, store, node_deadline)
        run_id = new_id()
        events = _Relay()
        made = run_flow(
            flow, loaded.execute, inputs=inputs, on_event=events, run_id=run_id, **options
        )
        self._keep(events, store, resolved, flow, loaded, run_id, inputs, on_event, False)
        return made

    async def run_step(
        self,
        ref: Any,
        step_index: int,
        *,
        store: Store,
        run: RunLike | None = None,
        inputs: Mapping[str, Any] | None = None,
        on_event: EventCallback | None = None,
        node_deadline: float | None = None,
        **options: Any,
    ) -> FlowRun:
        """Run step `step_index` of flow `ref` (inside `run` when given)."""
        return await self._rerun(
            ref, (step_index,), run_step, store, run, inputs, on_event, node_deadline, options
        )

    async def run_action(
        self,
        ref: Any,
        step_index: int,
        action_index: int,
        *,
        store: Store,
        run: RunLike | None = None,
        inputs: Mapping[str, Any] | None = None,
        on_event: EventCallback | None = None,
        node_deadline: float | None = None,
        **options: Any,
    ) -> FlowRun:
        """Run action `action_index` of step `step_index` of flow `ref` (inside `run`)."""
        return await self._rerun(
            ref,
            (step_index, action_index),
            run_action,
            store,
            run,
            inputs,
            on_event,
            node_deadline,
            options,
        )

    async def _rerun(
        self,
        ref: Any,
        index: tuple[int, ...],
        start: _Rerun,
        store: Store,
        run: RunLike | None,
        inputs: Mapping[str, Any] | None,
        on_event: EventCallback | None,
        node_deadline: float | None,
        options: dict[str, Any],
    ) -> FlowRun:
        """Run the step or action at `index` with `start`, in `run` or in a fresh one."""
        resolved, data, flow, loaded = await self._prepare(ref, store, node_deadline)
        target = data.action_id(*index)
        run_id, previous, inputs = self._place(store, resolved, run, inputs)
        events = _Relay()
        made = start(
            flow,
            target,
            loaded.execute,
            inputs=inputs,
            previous_results=previous,
            on_event=events,
            run_id=run_id,
            **options,
        )
        reopen = run is not None
        self._keep(events, store, resolved, flow, loaded, run_id, inputs, on_event, reopen)
        return made

    def _place(
        self,
        store: Store,
        ref: RunnableRef,
        run: RunLike | None,
        inputs: Mapping[str, Any] | None,
    ) -> tuple[str, dict[str, Any], Mapping[str, Any] | None]:
        """Where a step or action runs: (run id, earlier outputs, flow inputs)."""
        if run is None:
            return new_id(), {}, inputs
        run_id = run if isinstance(run, str) else run.run_id
        kept = self.runs.ref_of(run_id)
        if kept is None:
            raise FlowError(f"run {run_id!r} is not a run of this bridge's flows")
        if kept != str(ref):
            raise FlowError(f"run {run_id!r} is a run of {kept}, not of {ref}")
        state = store.get(self.runs(run_id).state)
        previous: dict[str, Any] = {
            node_id: node.output
            for node_id, node in state.nodes.items()
            if node.status is ExecutionStatus.SUCCESS
        }
        if state.status is ExecutionStatus.IDLE and isinstance(run, FlowRun):
            previous = {k: r for k, r in run.results.items() if r.ok}  # another store's run
        return run_id, previous, inputs if inputs is not None else self.runs.inputs_of(run_id)

    def _keep(
        self,
        events: _Relay,
        store: Store,
        ref: RunnableRef,
        flow: Flow,
        loaded: LoadedChain,
        run_id: str,
        inputs: Mapping[str, Any] | None,
        on_event: EventCallback | None,
        reopen: bool,
    ) -> None:
        """Once the run is planned (nothing kept for one refused earlier), send its events
        to the recorder, to the kept run's state, and to the caller."""
        step_of = {action.id: step.id for step in flow.steps for action in step.actions}
        recorder = self.runner.recorder
        if recorder is not None:
            recorder.expect(
                run_id, ref=ref, inputs=inputs, node_refs=loaded.node_refs(), reopen=reopen
            )
            events.to.append(recorder.on_event)
        kept = self.runs.listener(store, run_id, ref=ref, inputs=inputs, step_of=step_of)
        events.to.append(kept)
        if on_event is not None:
            events.to.append(on_event)


class _Relay:
    """An event callback that calls those added to `to` (added once the run is planned)."""

    def __init__(self) -> None:
        self.to: list[EventCallback] = []

    def __call__(self, event: Event) -> None:
        for callback in self.to:
            callback(event)
