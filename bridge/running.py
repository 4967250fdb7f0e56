"""Running a bridge runnable: load it into a store, check its inputs, call its kind.

`execute`/`stream` load the runnable into the store, check the inputs against its input
ports (a clear error naming each bad input, and no call made), then call the kind's
executor. Chains and datasets (`bridge.chains`) run their nodes through `execute`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from bridge.errors import (
    AmbiguousRunnableId,
    ExecutorNotAvailable,
    InvalidInputsError,
    RunnableExecutionError,
    RunnableNotFoundError,
    UnknownRunnableId,
)
from bridge.execution import call_executor, run_executor
from bridge.registry import KindRegistry
from bridge.selectors import SelectorAtoms
from bridge.types import RefLike, RunnableType
from molecules import MoleculesError, Store
from runnable.errors import InputValidationError
from runnable.ports import validate_inputs
from runnable.types import ExecutionResult, ExecutionStatus, RunnableData, RunnableRef

__all__ = ["BridgeRunner"]


class BridgeRunner:
    """Loads and runs the runnables of one registry, reading ports through its atoms."""

    def __init__(self, registry: KindRegistry, atoms: SelectorAtoms) -> None:
        self.registry = registry
        self.atoms = atoms

    async def resolve(self, ref: RefLike, *, store: Store) -> RunnableRef:
        """`ref` with its kind: a bare id is looked up in every kind (loading it there)."""
        parsed = self.registry.parse(ref)
        if parsed.kind is not None:
            return parsed
        kinds = self.registry.items()
        loads = [_try_load(store, t, parsed.id) for _, t in kinds]
        outcomes = await asyncio.gather(*loads)
        found = [kind for (kind, _), ok in zip(kinds, outcomes, strict=True) if ok]
        if len(found) > 1:
            raise AmbiguousRunnableId(parsed.id, found)
        if not found:
            raise UnknownRunnableId(parsed.id, [kind for kind, _ in kinds])
        return RunnableRef(found[0], parsed.id)

    async def load(self, ref: RefLike, *, store: Store) -> RunnableData:
        """Load the runnable (and what its ports need) into `store`; its RunnableData."""
        resolved = await self.resolve(ref, store=store)
        assert resolved.kind is not None
        t = self.registry.type(resolved.kind)
        try:
            await store.set(t.molecule.load, resolved.id)
        except MoleculesError as exc:
            raise RunnableNotFoundError(str(resolved), str(exc)) from exc
        if t.prepare is not None:
            await t.prepare(store, resolved.id)
        runnable: RunnableData | None = store.get(
            self.atoms.kind_atom("data", resolved.kind, resolved.id)
        )
        if runnable is None:
            raise RunnableNotFoundError(str(resolved), "its molecule has no data for it")
        return runnable

    def adopt(self, kind: str, entity: Any, *, store: Store) -> RunnableRef:
        """Put an entity held in hand into `store` as a new local entity of `kind`."""
        new_id: str = store.set(self.registry.type(kind).molecule.create, entity)
        return RunnableRef(kind, new_id)

    async def prepare(
        self, target: Any, inputs: Mapping[str, Any] | None, store: Store | None, kind: str | None
    ) -> tuple[RunnableRef, RunnableData, dict[str, Any], RunnableType]:
        """Load `target` and check `inputs` against its ports: (ref, runnable, inputs, type)."""
        if isinstance(target, RunnableRef | str) or (isinstance(target, Mapping) and kind is None):
            store = store if store is not None else Store()
            ref = await self.resolve(target, store=store)
        else:
            # An entity held in hand runs from a store of its own: the caller's store (a
            # UI's) must not grow a new entity it did not ask for.
            store = Store()
            ref = self.adopt(kind or self.registry.kind_of(target), target, store=store)
        runnable = await self.load(ref, store=store)
        assert ref.kind is not None
        values = dict(inputs or {})
        ports = store.get(self.atoms.kind_atom("input_ports", ref.kind, ref.id))
        try:
            validate_inputs(ports, values)
        except InputValidationError as exc:
            raise InvalidInputsError(str(ref), exc.errors) from None
        t = self.registry.type(ref.kind)
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
        """Run `ref` (or an entity held in hand, of `kind`) with `inputs`; an ExecutionResult."""
        _, runnable, values, t = await self.prepare(ref, inputs, store, kind)
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
        resolved, runnable, values, t = await self.prepare(ref, inputs, store, kind)
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


async def _try_load(store: Store, t: RunnableType, key: str) -> bool:
    try:
        return await store.set(t.molecule.load, key) is not None
    except MoleculesError:
        return False
