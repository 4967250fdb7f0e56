"""`use_runnable(ref, store)`: one runnable's values and actions in one object.

The Python face of Agenta's `useRunnable(type, id)`: instead of
`store.get(bridge.selectors.input_ports(ref))` and `bridge.execute(ref, inputs,
store=store)`, a handle reads `handle.input_ports` and runs `await handle.execute(inputs)`.
Built only from the bridge's public methods; the values are read from `store` each time
(a handle holds no state of its own), and `handle.selectors` gives the atoms to subscribe.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from molecules import Atom, QueryState, Store
from runnable.types import ExecutionResult, RunnableData, RunnablePort, RunnableRef

__all__ = ["RunnableHandle"]


class HandledBridge(Protocol):
    """What a handle uses of its bridge (`RunnableBridge` is one; it imports this module)."""

    def selector(self, name: str, ref: Any) -> Atom[Any]: ...

    async def load(self, ref: Any, *, store: Store) -> RunnableData: ...

    async def execute(
        self, ref: Any, inputs: Mapping[str, Any] | None = None, *, store: Store | None = None
    ) -> ExecutionResult: ...

    def stream(
        self, ref: Any, inputs: Mapping[str, Any] | None = None, *, store: Store | None = None
    ) -> AsyncIterator[Any]: ...


class RunnableHandle:
    """One runnable in one store: `data`, ports, `is_dirty`, and `execute` / `stream`."""

    def __init__(self, bridge: HandledBridge, ref: RunnableRef, store: Store) -> None:
        self.bridge = bridge
        self.ref = ref
        self.store = store

    def __repr__(self) -> str:
        return f"<RunnableHandle {self.ref}>"

    def atom(self, name: str) -> Atom[Any]:
        """The atom of the standard selector `name` (see `STANDARD_SELECTORS`), to subscribe."""
        return self.bridge.selector(name, self.ref)

    @property
    def data(self) -> RunnableData | None:
        """The runnable as RunnableData (None until it is loaded)."""
        value: RunnableData | None = self.store.get(self.atom("data"))
        return value

    @property
    def query(self) -> QueryState[Any]:
        """Where the fetch of the runnable stands (`is_loading`, `error`...)."""
        value: QueryState[Any] = self.store.get(self.atom("query"))
        return value

    @property
    def input_ports(self) -> list[RunnablePort]:
        """The runnable's input ports."""
        value: list[RunnablePort] = self.store.get(self.atom("input_ports"))
        return value

    @property
    def output_ports(self) -> list[RunnablePort]:
        """The runnable's output ports."""
        value: list[RunnablePort] = self.store.get(self.atom("output_ports"))
        return value

    @property
    def is_dirty(self) -> bool:
        """True while the runnable has unsaved changes."""
        return bool(self.store.get(self.atom("is_dirty")))

    async def load(self) -> RunnableData:
        """Load the runnable (and what its ports need, like an app's interface) into the store."""
        return await self.bridge.load(self.ref, store=self.store)

    async def execute(self, inputs: Mapping[str, Any] | None = None) -> ExecutionResult:
        """Run it with `inputs` (checked against its input ports first)."""
        return await self.bridge.execute(self.ref, inputs, store=self.store)

    def stream(self, inputs: Mapping[str, Any] | None = None) -> AsyncIterator[Any]:
        """Run it and yield its chunks (one chunk, the output, for a kind that does not stream)."""
        return self.bridge.stream(self.ref, inputs, store=self.store)
