"""The runnable bridge: one selector API and one way to run, over every kind of runnable.

The face wires three rooms, each of which imports only the one before it:
`registry` (kinds and refs) <- `selectors` (the selector atoms) <- `running` (load,
execute, stream) <- `chains` (chains and datasets of bridge runnables) <- `flows`
(flows by ref, steps and actions re-run inside an earlier run, runs kept by id).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bridge.chains import run_chain, run_chain_dataset
from bridge.errors import InvalidInputsError
from bridge.flows import BridgeFlows, RunLike
from bridge.handle import RunnableHandle
from bridge.registry import KindRegistry
from bridge.running import BridgeRunner, RunStream
from bridge.selectors import STANDARD_SELECTORS, BridgeSelectors, RunnableKind, SelectorAtoms
from bridge.types import RefLike, RunnableType
from molecules import Atom, Store
from molecules.engine import ConversationEngine
from molecules.runs import RunRegistry
from runnable.chain import Chain
from runnable.runner import DatasetRun, FlowRun, GraphRun
from runnable.runner.ray_backend import RayDatasetRun
from runnable.tracking import RunRecorder
from runnable.types import ExecutionResult, RunnableData, RunnableRef

__all__ = ["STANDARD_SELECTORS", "RunnableBridge", "create_runnable_bridge"]


class RunnableBridge:
    """Runnable kinds by name, their selectors, and execution."""

    def __init__(self, runnables: Mapping[str, RunnableType] | None = None) -> None:
        # The conversation engine over this bridge's prompts (create_default_bridge sets it).
        self.conversations: ConversationEngine | None = None
        self._registry = KindRegistry(runnables)
        self._atoms = SelectorAtoms(self._registry)
        self._runner = BridgeRunner(self._registry, self._atoms)
        self._flows = BridgeFlows(self._runner)
        self.selectors = BridgeSelectors(self._atoms)

    def __repr__(self) -> str:
        return f"<RunnableBridge kinds={list(self.kinds)}>"

    @property
    def recorder(self) -> RunRecorder | None:
        """Where every execution of this bridge is recorded (None: nowhere)."""
        return self._runner.recorder

    @recorder.setter
    def recorder(self, recorder: RunRecorder | None) -> None:
        self._runner.recorder = recorder

    # -- kinds -------------------------------------------------------------------------

    @property
    def kinds(self) -> tuple[str, ...]:
        """The registered kind names, in registration order."""
        return self._registry.kinds

    def __contains__(self, kind: object) -> bool:
        return kind in self._registry

    def type(self, kind: str) -> RunnableType:
        """The RunnableType of `kind`; `UnknownRunnableTypeError` if there is none."""
        return self._registry.type(kind)

    def register(self, kind: str, runnable_type: RunnableType) -> None:
        """Add a kind (or replace one) while the bridge is in use."""
        self._registry.register(kind, runnable_type)
        self._atoms.forget(kind)

    def unregister(self, kind: str) -> None:
        """Remove a kind."""
        self._registry.unregister(kind)
        self._atoms.forget(kind)

    def runnable(self, kind: str) -> RunnableKind:
        """One kind's own selectors (its molecule's and extras) and actions."""
        return RunnableKind(self._atoms, self._registry.canonical(kind), self.type(kind))

    def use_runnable(self, ref: RefLike, store: Store) -> RunnableHandle:
        """A handle on `ref` in `store`: data, ports, is_dirty, execute and stream in one."""
        return RunnableHandle(self, self.parse(ref), store)

    def kind_of(self, entity: Any) -> str:
        """The kind whose `entity_type` `entity` is (the most specific one)."""
        return self._registry.kind_of(entity)

    # -- refs and selectors ------------------------------------------------------------

    def parse(self, ref: RefLike) -> RunnableRef:
        """`ref` as a RunnableRef (an unregistered kind: `UnknownRunnableTypeError`)."""
        return self._registry.parse(ref)

    def selector(self, name: str, ref: RefLike) -> Atom[Any]:
        """The atom of the standard selector `name` for `ref` (see STANDARD_SELECTORS)."""
        return self._atoms.selector(name, ref)

    def kind_atom(self, name: str, kind: str, key: str) -> Atom[Any]:
        """The atom of selector `name` for the entity `key` of `kind`."""
        return self._atoms.kind_atom(name, kind, key)

    # -- loading and running -----------------------------------------------------------

    async def resolve(self, ref: RefLike, *, store: Store) -> RunnableRef:
        """`ref` with its kind: a bare id is looked up in every kind (loading it there)."""
        return await self._runner.resolve(ref, store=store)

    async def load(self, ref: RefLike, *, store: Store) -> RunnableData:
        """Load the runnable (and what its ports need) into `store`; its RunnableData."""
        return await self._runner.load(ref, store=store)

    def adopt(self, kind: str, entity: Any, *, store: Store) -> RunnableRef:
        """Put an entity held in hand into `store` as a new local entity of `kind`."""
        return self._runner.adopt(kind, entity, store=store)

    async def execute(
        self,
        ref: Any,
        inputs: Mapping[str, Any] | None = None,
        *,
        store: Store | None = None,
        kind: str | None = None,
        on_chunk: Callable[[Any], Any] | None = None,
    ) -> ExecutionResult:
        """Run `ref` (or an entity held in hand, of `kind`) with `inputs`; an ExecutionResult.

        A streaming kind's chunks also go to `on_chunk` as they arrive.
        """
        _check_inputs(ref, inputs)
        return await self._runner.execute(ref, inputs, store=store, kind=kind, on_chunk=on_chunk)

    def stream(
        self,
        ref: Any,
        inputs: Mapping[str, Any] | None = None,
        *,
        store: Store | None = None,
        kind: str | None = None,
    ) -> RunStream:
        """Run `ref` and yield its text chunks as they arrive (the whole output at once for a
        non-streaming kind); the stream's `result` is the ExecutionResult once it ends."""
        _check_inputs(ref, inputs)
        return self._runner.stream(ref, inputs, store=store, kind=kind)

    async def run_chain(
        self,
        chain: Chain | Mapping[str, Any],
        *,
        store: Store,
        testcase: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> GraphRun:
        """Run a chain of this bridge's runnables (see `bridge.chains.run_chain`)."""
        return await run_chain(self._runner, chain, store=store, testcase=testcase, **options)

    async def run_dataset(
        self,
        chain: Chain | Mapping[str, Any],
        rows: Iterable[Mapping[str, Any]],
        *,
        store: Store,
        **options: Any,
    ) -> DatasetRun | RayDatasetRun:
        """Run a chain once per row (see `bridge.chains.run_chain_dataset`)."""
        return await run_chain_dataset(self._runner, chain, rows, store=store, **options)

    # -- flows -------------------------------------------------------------------------

    @property
    def runs(self) -> RunRegistry:
        """Flow runs kept by id: `bridge.runs(run_id)` is that run's `RunMolecule`."""
        return self._flows.runs

    def runs_for(self, ref: RefLike) -> Atom[tuple[str, ...]]:
        """The atom of the ids of a flow's runs (in a store), oldest first."""
        return self._flows.runs.runs_for(ref)

    async def run_flow(
        self,
        ref: RefLike,
        *,
        store: Store,
        inputs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> FlowRun:
        """Run every step of flow `ref` in a new run (see `bridge.flows`)."""
        return await self._flows.run_flow(ref, store=store, inputs=inputs, **options)

    async def run_step(
        self,
        ref: RefLike,
        step_index: int,
        run: RunLike | None = None,
        *,
        store: Store,
        inputs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> FlowRun:
        """Run one step of flow `ref`: inside the earlier `run` when given, else anew."""
        return await self._flows.run_step(
            ref, step_index, run=run, store=store, inputs=inputs, **options
        )

    async def run_action(
        self,
        ref: RefLike,
        step_index: int,
        action_index: int,
        run: RunLike | None = None,
        *,
        store: Store,
        inputs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> FlowRun:
        """Run one action of flow `ref`: inside the earlier `run` when given, else anew."""
        return await self._flows.run_action(
            ref, step_index, action_index, run=run, store=store, inputs=inputs, **options
        )


def create_runnable_bridge(runnables: Mapping[str, RunnableType]) -> RunnableBridge:
    """A bridge over the given kinds (name -> RunnableType); more may be registered later."""
    return RunnableBridge(runnables)


def _check_inputs(ref: Any, inputs: Any) -> None:
    """Refuse inputs that are not a mapping of names to values, naming what was given."""
    if inputs is None or isinstance(inputs, Mapping):
        return
    problem = f"inputs must be a mapping of input names to values, not {type(inputs).__name__}"
    raise InvalidInputsError(str(ref), {"inputs": [f"{problem} ({inputs!r:.60})"]})
