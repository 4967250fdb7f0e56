"""The runnable bridge: one selector API and one way to run, over every kind of runnable.

A ref is a `RunnableRef`, a "kind:id" text, or a bare id. A bare id is read by asking
every kind's molecule (each fetches it once); it resolves when exactly one kind has it,
raises `AmbiguousRunnableId` when several do, and is an unknown id when none does.
Selectors return atoms, the same atom for the same ref on every call:

    store.get(bridge.selectors.input_ports("prompt:p1"))   # list[RunnablePort]

`execute`/`stream` load the runnable into the store, check the inputs against its input
ports (a clear error naming each bad input, and no call made), then call the kind's
executor.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

from bridge.chains import run_chain, run_chain_dataset
from bridge.errors import (
    AmbiguousRunnableId,
    ExecutorNotAvailable,
    InvalidInputsError,
    InvalidRunnableTypeError,
    RunnableExecutionError,
    RunnableNotFoundError,
    UnknownRunnableId,
    UnknownRunnableType,
)
from bridge.execution import call_executor, run_executor
from bridge.selectors import BridgeSelectors, RunnableKind
from bridge.types import RunnableType
from molecules import (
    Atom,
    AtomFamily,
    Getter,
    MoleculesError,
    QueryState,
    Store,
    atom_family,
    derived,
    entity_id,
)
from molecules.engine import ConversationEngine
from runnable.chain import Chain
from runnable.errors import InputValidationError
from runnable.ports import validate_inputs
from runnable.runner import DatasetRun, GraphRun
from runnable.types import (
    ExecutionResult,
    ExecutionStatus,
    RunnableData,
    RunnablePort,
    RunnableRef,
)

__all__ = ["STANDARD_SELECTORS", "RunnableBridge", "create_runnable_bridge"]

STANDARD_SELECTORS = (
    "data",
    "query",
    "is_dirty",
    "input_ports",
    "output_ports",
    "configuration",
    "invocation_url",
    "schemas",
)

# What a selector of a bare id shows while its kind is being found (or no kind has it).
_PENDING: dict[str, Any] = {
    "data": None,
    "query": QueryState("loading"),
    "is_dirty": False,
    "input_ports": [],
    "output_ports": [],
    "configuration": None,
    "invocation_url": None,
    "schemas": None,
}
_OWN_FAMILIES = ("input_ports", "output_ports", "invocation_url", "schemas", "configuration")

RefLike = RunnableRef | str | Mapping[str, Any]


class RunnableBridge:
    """Runnable kinds by name, their selectors, and execution (see the module docstring)."""

    def __init__(self, runnables: Mapping[str, RunnableType] | None = None) -> None:
        # The conversation engine over this bridge's prompts (create_default_bridge sets it).
        self.conversations: ConversationEngine | None = None
        self._lock = threading.RLock()
        self._types: dict[str, RunnableType] = {}
        self._families: dict[tuple[str, str], AtomFamily[Any, Atom[Any]]] = {}
        self._bare: dict[str, AtomFamily[Any, Atom[Any]]] = {}
        for kind, runnable_type in (runnables or {}).items():
            self._check(kind, runnable_type)
            self._types[kind] = runnable_type
        self.selectors = BridgeSelectors(self)

    def __repr__(self) -> str:
        return f"<RunnableBridge kinds={list(self._types)}>"

    # -- kinds -------------------------------------------------------------------------

    @property
    def kinds(self) -> tuple[str, ...]:
        """The registered kind names, in registration order."""
        with self._lock:
            return tuple(self._types)

    def __contains__(self, kind: object) -> bool:
        return kind in self._types

    def type(self, kind: str) -> RunnableType:
        """The RunnableType of `kind`; `UnknownRunnableType` if there is none."""
        found = self._types.get(kind)
        if found is None:
            raise UnknownRunnableType(kind, list(self._types))
        return found

    def register(self, kind: str, runnable_type: RunnableType) -> None:
        """Add a kind (or replace one) while the bridge is in use."""
        self._check(kind, runnable_type)
        with self._lock:
            self._types[kind] = runnable_type
            for key in [k for k in self._families if k[1] == kind]:
                del self._families[key]
            # Bare ids may resolve differently now: later selector calls get new atoms.
            self._bare.clear()

    def unregister(self, kind: str) -> None:
        """Remove a kind."""
        with self._lock:
            self.type(kind)
            del self._types[kind]
            for key in [k for k in self._families if k[1] == kind]:
                del self._families[key]
            self._bare.clear()

    def runnable(self, kind: str) -> RunnableKind:
        """One kind's own selectors (its molecule's and extras) and actions."""
        return RunnableKind(self, kind, self.type(kind))

    @staticmethod
    def _check(kind: Any, runnable_type: Any) -> None:
        if not isinstance(kind, str) or not kind.strip() or ":" in kind:
            raise InvalidRunnableTypeError(
                f"a runnable kind must be a non-empty name without ':', got {kind!r}"
            )
        if not isinstance(runnable_type, RunnableType):
            raise InvalidRunnableTypeError(
                f"kind {kind!r} must be registered with a RunnableType, "
                f"got {type(runnable_type).__name__}"
            )

    # -- refs and selectors ------------------------------------------------------------

    def parse(self, ref: RefLike) -> RunnableRef:
        """`ref` as a RunnableRef; a ref naming an unregistered kind raises UnknownRunnableType."""
        parsed = RunnableRef.parse(dict(ref) if isinstance(ref, Mapping) else ref)
        if parsed.kind is not None:
            self.type(parsed.kind)
        return parsed

    def selector(self, name: str, ref: RefLike) -> Atom[Any]:
        """The atom of the standard selector `name` for `ref` (see STANDARD_SELECTORS)."""
        if name not in STANDARD_SELECTORS:
            raise ValueError(
                f"unknown bridge selector {name!r}; expected one of {', '.join(STANDARD_SELECTORS)}"
            )
        parsed = self.parse(ref)
        if parsed.kind is None:
            return self._bare_family(name)(parsed.id)
        return self.kind_atom(name, parsed.kind, parsed.id)

    def kind_atom(self, name: str, kind: str, key: str) -> Atom[Any]:
        """The atom of selector `name` for the entity `key` of `kind`."""
        runnable_type = self.type(kind)
        molecule = runnable_type.molecule
        if name == "query":
            found: Atom[Any] = molecule.query(key)
            return found
        if name == "is_dirty":
            found = molecule.is_dirty(key)
            return found
        own = getattr(runnable_type, name) if name in _OWN_FAMILIES else None
        if own is not None:
            found = own(key)
            return found
        return self._family(name, kind)(key)

    def _family(self, name: str, kind: str) -> AtomFamily[Any, Atom[Any]]:
        with self._lock:
            family = self._families.get((name, kind))
            if family is None:
                family = atom_family(
                    lambda key: self._derive(name, kind, entity_id(key)), key=entity_id
                )
                self._families[(name, kind)] = family
            return family

    def _derive(self, name: str, kind: str, key: str) -> Atom[Any]:
        t = self.type(kind)
        entity_atom = t.molecule.data(key)

        def read_data(get: Getter) -> RunnableData | None:
            entity = get(entity_atom)
            if entity is None:
                return None
            runnable = RunnableData.model_validate(t.to_runnable(entity))
            updates = {
                field: get(family(key))
                for field, family in (
                    ("invocation_url", t.invocation_url),
                    ("schemas", t.schemas),
                    ("configuration", t.configuration),
                )
                if family is not None
            }
            updates = {k: v for k, v in updates.items() if v is not None}
            return runnable.model_copy(update=updates) if updates else runnable

        def read_ports(get: Getter) -> list[Any]:
            entity = get(entity_atom)
            if entity is None:
                return []
            getter = t.get_input_ports if name == "input_ports" else t.get_output_ports
            return [RunnablePort.model_validate(port) for port in getter(entity)]

        def read_field(get: Getter) -> Any:
            runnable = get(self.kind_atom("data", kind, key))
            return None if runnable is None else getattr(runnable, name)

        label = f"bridge.{name}({kind}:{key})"
        if name == "data":
            return derived(read_data, name=label)
        if name in ("input_ports", "output_ports"):
            return derived(read_ports, name=label)
        return derived(read_field, name=label)

    def _bare_family(self, name: str) -> AtomFamily[Any, Atom[Any]]:
        with self._lock:
            family = self._bare.get(name)
            if family is None:
                family = atom_family(lambda key: self._derive_bare(name, entity_id(key)))
                self._bare[name] = family
            return family

    def _derive_bare(self, name: str, key: str) -> Atom[Any]:
        kinds = dict(self._types)

        def read(get: Getter) -> Any:
            kind = self._resolve_reactively(get, kinds, key)
            if kind is None:
                return _PENDING[name]
            if isinstance(kind, UnknownRunnableId):
                return QueryState("error", None, kind) if name == "query" else _PENDING[name]
            return get(self.kind_atom(name, kind, key))

        return derived(read, name=f"bridge.{name}({key})")

    @staticmethod
    def _resolve_reactively(
        get: Getter, kinds: Mapping[str, RunnableType], key: str
    ) -> str | UnknownRunnableId | None:
        found: list[str] = []
        pending = False
        for kind, t in kinds.items():
            molecule = t.molecule
            is_new = getattr(molecule, "is_new", None)
            if is_new is not None and get(is_new(key)):
                found.append(kind)
                continue
            state = get(molecule.query(key))
            if state.status == "success" and state.data is not None:
                found.append(kind)
            elif state.status in ("idle", "loading"):
                pending = True
        if len(found) > 1:
            raise AmbiguousRunnableId(key, found)
        if pending:
            return None
        if found:
            return found[0]
        return UnknownRunnableId(key, list(kinds))

    # -- loading -----------------------------------------------------------------------

    async def resolve(self, ref: RefLike, *, store: Store) -> RunnableRef:
        """`ref` with its kind: a bare id is looked up in every kind (loading it there)."""
        parsed = self.parse(ref)
        if parsed.kind is not None:
            return parsed
        kinds = list(self._types.items())
        loads = [self._try_load(store, t, parsed.id) for _, t in kinds]
        outcomes = await asyncio.gather(*loads)
        found = [kind for (kind, _), ok in zip(kinds, outcomes, strict=True) if ok]
        if len(found) > 1:
            raise AmbiguousRunnableId(parsed.id, found)
        if not found:
            raise UnknownRunnableId(parsed.id, [kind for kind, _ in kinds])
        return RunnableRef(found[0], parsed.id)

    @staticmethod
    async def _try_load(store: Store, t: RunnableType, key: str) -> bool:
        try:
            return await store.set(t.molecule.load, key) is not None
        except MoleculesError:
            return False

    async def load(self, ref: RefLike, *, store: Store) -> RunnableData:
        """Load the runnable (and what its ports need) into `store`; its RunnableData."""
        resolved = await self.resolve(ref, store=store)
        assert resolved.kind is not None
        t = self.type(resolved.kind)
        try:
            await store.set(t.molecule.load, resolved.id)
        except MoleculesError as exc:
            raise RunnableNotFoundError(str(resolved), str(exc)) from exc
        if t.prepare is not None:
            await t.prepare(store, resolved.id)
        runnable: RunnableData | None = store.get(self.kind_atom("data", *_split(resolved)))
        if runnable is None:
            raise RunnableNotFoundError(str(resolved), "its molecule has no data for it")
        return runnable

    def adopt(self, kind: str, entity: Any, *, store: Store) -> RunnableRef:
        """Put an entity held in hand into `store` as a new local entity of `kind`."""
        new_id: str = store.set(self.type(kind).molecule.create, entity)
        return RunnableRef(kind, new_id)

    def kind_of(self, entity: Any) -> str:
        """The kind whose `entity_type` `entity` is (the most specific one)."""
        matches = [
            (kind, t.entity_type)
            for kind, t in self._types.items()
            if t.entity_type is not None and isinstance(entity, t.entity_type)
        ]
        for kind, entity_type in matches:
            if type(entity) is entity_type:
                return kind
        if len(matches) == 1:
            return matches[0][0]
        raise InvalidRunnableTypeError(
            f"cannot tell the kind of a {type(entity).__name__}; pass kind=..."
        )

    # -- running -----------------------------------------------------------------------

    async def _prepare_run(
        self, target: Any, inputs: Mapping[str, Any] | None, store: Store | None, kind: str | None
    ) -> tuple[RunnableRef, RunnableData, dict[str, Any], RunnableType]:
        if isinstance(target, RunnableRef | str) or (isinstance(target, Mapping) and kind is None):
            store = store if store is not None else Store()
            ref = await self.resolve(target, store=store)
        else:
            # An entity held in hand runs from a store of its own: the caller's store (a
            # UI's) must not grow a new entity it did not ask for.
            store = Store()
            ref = self.adopt(kind or self.kind_of(target), target, store=store)
        runnable = await self.load(ref, store=store)
        assert ref.kind is not None
        values = dict(inputs or {})
        ports = store.get(self.kind_atom("input_ports", ref.kind, ref.id))
        try:
            validate_inputs(ports, values)
        except InputValidationError as exc:
            raise InvalidInputsError(str(ref), exc.errors) from None
        t = self.type(ref.kind)
        if t.execute is None:
            raise ExecutorNotAvailable(ref.kind, "its RunnableType has no execute")
        return ref, runnable, values, t

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
        _, runnable, values, t = await self._prepare_run(ref, inputs, store, kind)
        assert t.execute is not None
        return await run_executor(t.execute, runnable, values, on_chunk=on_chunk)

    async def stream(
        self,
        ref: Any,
        inputs: Mapping[str, Any] | None = None,
        *,
        store: Store | None = None,
        kind: str | None = None,
    ) -> AsyncIterator[Any]:
        """Run `ref` and yield its chunks (one chunk, the output, for a non-streaming kind)."""
        resolved, runnable, values, t = await self._prepare_run(ref, inputs, store, kind)
        assert t.execute is not None
        output = await call_executor(t.execute, runnable, values)
        if isinstance(output, AsyncIterator):
            async for chunk in output:
                yield chunk
            return
        if isinstance(output, ExecutionResult):
            if output.status != ExecutionStatus.SUCCESS:
                message = output.error.message if output.error else output.status.value
                raise RunnableExecutionError(str(resolved), message)
            output = output.output
        yield output

    async def run_chain(
        self,
        chain: Chain | Mapping[str, Any],
        *,
        store: Store,
        testcase: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> GraphRun:
        """Run a chain of this bridge's runnables (see `bridge.chains.run_chain`)."""
        return await run_chain(self, chain, store=store, testcase=testcase, **options)

    async def run_dataset(
        self,
        chain: Chain | Mapping[str, Any],
        rows: Iterable[Mapping[str, Any]],
        *,
        store: Store,
        **options: Any,
    ) -> DatasetRun:
        """Run a chain once per row (see `bridge.chains.run_chain_dataset`)."""
        return await run_chain_dataset(self, chain, rows, store=store, **options)


def _split(ref: RunnableRef) -> tuple[str, str]:
    assert ref.kind is not None
    return ref.kind, ref.id


def create_runnable_bridge(runnables: Mapping[str, RunnableType]) -> RunnableBridge:
    """A bridge over the given kinds (name -> RunnableType); more may be registered later."""
    return RunnableBridge(runnables)
