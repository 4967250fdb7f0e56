"""Runs kept by id: `runs(run_id)` is that run's molecule, `runs.runs_for(ref)` the ids of a
runnable's runs (as the FlowRunner keeps its runs by run id).

```python
runs = RunRegistry()
run = flow_run(..., on_event=runs.listener(store, run_id, ref="flow:f1"))
store.get(runs(run_id).status); store.get(runs.runs_for("flow:f1"))   # ("<run id>",)
```

A run may run part of itself again in place (a flow's step or action re-run INSIDE an
earlier run): its `RunStarted` then names the nodes run again (`rerun_of`), and the
registry reopens the run's state before folding it: those nodes (and the steps holding
them) go back to pending, every other node keeps its result, and the run is running
until its new `RunCompleted`. The molecules are shared by every store; each store has
its own values, like any atom.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from molecules.core.atom import Atom, Getter, Setter, atom, derived
from molecules.core.family import AtomFamily, atom_family
from molecules.core.store import Store
from molecules.run import RunMolecule, RunState, reduce_run
from runnable.runner.events import Event, RunStarted
from runnable.types import ExecutionStatus, RunnableRef

__all__ = ["RunRegistry", "reopen_run"]


def reopen_run(
    state: RunState, event: RunStarted, step_of: Mapping[str, str] | None = None
) -> RunState:
    """The state of a run that starts again in place: the nodes of `event.rerun_of` (and
    their steps) pending, the others as they were, the run running (pure)."""
    again = set(event.rerun_of)
    steps = {(step_of or {}).get(node) for node in again}
    reset = RunState(
        run_id=state.run_id,
        kind=state.kind,
        parent_run_id=state.parent_run_id,
        node_ids=state.node_ids,
        nodes={k: v for k, v in state.nodes.items() if k not in again},
        steps={k: v for k, v in state.steps.items() if k not in steps},
        metrics=state.metrics,
    )
    started = reduce_run(reset, event)
    added = tuple(n for n in started.node_ids if n not in state.node_ids)
    return attrs.evolve(started, node_ids=state.node_ids + added)


def _ref_text(ref: object) -> str:
    return str(RunnableRef.parse(ref)) if isinstance(ref, str | RunnableRef) else str(ref)


class RunRegistry:
    """Run molecules by run id, and the run ids of each runnable (see the module docstring)."""

    def __init__(self) -> None:
        self._runs: dict[str, RunMolecule] = {}
        self._refs: dict[str, str] = {}
        self._inputs: dict[str, Mapping[str, Any] | None] = {}
        self._by_ref: AtomFamily[str, Atom[tuple[str, ...]]] = atom_family(
            lambda ref: atom((), name=f"runs_for({ref})")
        )
        self._add: Atom[None] = derived(write=self._write_add, name="runs.add")

    def __call__(self, run_id: str) -> RunMolecule:
        """The molecule of run `run_id` (made on first use)."""
        found = self._runs.get(run_id)
        if found is None:
            found = self._runs[run_id] = RunMolecule(run_id)
        return found

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._runs

    def ref_of(self, run_id: str) -> str | None:
        """The runnable a kept run ran ("flow:f1"), or None."""
        return self._refs.get(run_id)

    def inputs_of(self, run_id: str) -> Mapping[str, Any] | None:
        """The inputs a kept run was last given (None: none, or not kept)."""
        return self._inputs.get(run_id)

    def runs_for(self, ref: object) -> Atom[tuple[str, ...]]:
        """The atom of the ids of `ref`'s runs in a store, oldest first."""
        return self._by_ref(_ref_text(ref))

    def forget(self, run_id: str) -> None:
        """Stop keeping run `run_id` (stores keep the values they hold until dropped)."""
        self._runs.pop(run_id, None)
        self._refs.pop(run_id, None)
        self._inputs.pop(run_id, None)

    def _write_add(self, get: Getter, set: Setter, ref: str, run_id: str) -> None:
        slot = self._by_ref(ref)
        ids = get(slot)
        if run_id not in ids:
            set(slot, (*ids, run_id))

    def listener(
        self,
        store: Store,
        run_id: str,
        *,
        ref: object = None,
        inputs: Mapping[str, Any] | None = None,
        step_of: Mapping[str, str] | None = None,
    ) -> Callable[[Event], None]:
        """A runner callback that folds run `run_id`'s events into `store` (the run is kept,
        under `ref` when given, with its `inputs`); `step_of` maps node ids to steps for a
        re-run in place."""
        molecule = self(run_id)
        self._inputs[run_id] = inputs
        if ref is not None:
            self._refs[run_id] = _ref_text(ref)
            store.set(self._add, _ref_text(ref), run_id)
        apply = molecule.apply
        state = molecule.state

        def on_event(event: Event) -> None:
            if isinstance(event, RunStarted) and event.run_id == run_id and event.rerun_of:
                current = store.get(state)
                if current.status is not ExecutionStatus.IDLE:
                    store.set(state, reopen_run(current, event, step_of))
                    return
            store.set(apply, event)

        return on_event
