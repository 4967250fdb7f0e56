"""The bridge's selector faces: the standard selectors of every kind, and one kind's own."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from bridge.types import RunnableType, family_selectors
from molecules import Atom, entity_id
from runnable.types import RunnableRef

if TYPE_CHECKING:
    from bridge.bridge import RefLike, RunnableBridge

__all__ = ["BridgeSelectors", "RunnableKind"]


class BridgeSelectors:
    """`bridge.selectors.<name>(ref)`: the atom of a standard selector, for any kind.

    `data` is the `RunnableData` (None until loaded), `query` the entity's QueryState,
    `is_dirty`, `input_ports` / `output_ports` (lists of RunnablePort), `configuration`,
    `invocation_url` and `schemas` as the RunnableData has them.
    """

    def __init__(self, bridge: RunnableBridge) -> None:
        self._bridge = bridge

    def data(self, ref: RefLike) -> Atom[Any]:
        """The runnable as RunnableData (None while it has no data)."""
        return self._bridge.selector("data", ref)

    def query(self, ref: RefLike) -> Atom[Any]:
        """Where the fetch of the runnable's entity stands (a QueryState)."""
        return self._bridge.selector("query", ref)

    def is_dirty(self, ref: RefLike) -> Atom[Any]:
        """True while the runnable has unsaved changes."""
        return self._bridge.selector("is_dirty", ref)

    def input_ports(self, ref: RefLike) -> Atom[Any]:
        """The runnable's input ports."""
        return self._bridge.selector("input_ports", ref)

    def output_ports(self, ref: RefLike) -> Atom[Any]:
        """The runnable's output ports."""
        return self._bridge.selector("output_ports", ref)

    def configuration(self, ref: RefLike) -> Atom[Any]:
        """The configuration the runnable runs with."""
        return self._bridge.selector("configuration", ref)

    def invocation_url(self, ref: RefLike) -> Atom[Any]:
        """The URL the runnable is called at, for kinds served over HTTP."""
        return self._bridge.selector("invocation_url", ref)

    def schemas(self, ref: RefLike) -> Atom[Any]:
        """The JSON schemas the runnable declares."""
        return self._bridge.selector("schemas", ref)


class _Namespace(Mapping[str, Any]):
    """Read-only attribute and item access to named members."""

    def __init__(self, what: str, kind: str, members: Mapping[str, Any]) -> None:
        self._what = what
        self._kind = kind
        self._members = dict(members)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._members[name]
        except KeyError:
            known = ", ".join(sorted(self._members))
            raise AttributeError(
                f"kind {self._kind!r} has no {self._what} {name!r}; it has: {known}"
            ) from None

    def __getitem__(self, name: str) -> Any:
        return self._members[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def __dir__(self) -> list[str]:
        return sorted(self._members)


class RunnableKind:
    """One kind as the bridge offers it: `selectors`, `actions`, its molecule and type.

    `selectors` holds the molecule's own selectors (`data` there is the entity, not the
    RunnableData), the type's `extra_selectors`, `runnable` (the RunnableData) and the
    standard port and config selectors; each takes an id or a ref. `actions` holds the
    molecule's actions and the type's `extra_actions` (write-only atoms for `store.set`).
    """

    def __init__(self, bridge: RunnableBridge, kind: str, runnable_type: RunnableType) -> None:
        self.name = kind
        self.type = runnable_type
        self.molecule = runnable_type.molecule
        selectors: dict[str, Callable[[Any], Atom[Any]]] = {}
        for name in ("input_ports", "output_ports", "configuration", "invocation_url", "schemas"):
            selectors[name] = self._standard(bridge, name)
        selectors["runnable"] = self._standard(bridge, "data")
        selectors.update(family_selectors(self.molecule))
        selectors.update(runnable_type.extra_selectors)
        actions = dict(getattr(self.molecule, "actions", None) or {})
        actions.update(runnable_type.extra_actions)
        self.selectors = _Namespace("selector", kind, selectors)
        self.actions = _Namespace("action", kind, actions)

    def __repr__(self) -> str:
        return f"<RunnableKind {self.name}>"

    def ref(self, key: Any) -> RunnableRef:
        """The ref of entity `key` (an id or a ref) of this kind."""
        return RunnableRef(self.name, entity_id(key))

    def _standard(self, bridge: RunnableBridge, name: str) -> Callable[[Any], Atom[Any]]:
        kind = self.name
        return lambda key: bridge.kind_atom(name, kind, entity_id(key))
