"""The bridge's selector atoms: the standard selectors of every kind, and one kind's own.

Selectors return atoms, the same atom for the same ref on every call:

    store.get(bridge.selectors.input_ports("prompt:p1"))   # list[RunnablePort]

A bare id is read by asking every kind's molecule (each fetches it once); it resolves
when exactly one kind has it, raises `AmbiguousRunnableIdError` when several do, and shows an
unknown id (an error query) when none does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from bridge.errors import AmbiguousRunnableIdError, UnknownRunnableIdError
from bridge.registry import KindRegistry
from bridge.types import RefLike, RunnableType, family_selectors
from molecules import Atom, AtomFamily, Getter, QueryState, atom_family, derived, entity_id
from runnable.types import RunnableData, RunnablePort, RunnableRef

__all__ = ["STANDARD_SELECTORS", "BridgeSelectors", "RunnableKind", "SelectorAtoms"]

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


class SelectorAtoms:
    """The atoms behind the standard selectors, one family per (selector, kind)."""

    def __init__(self, registry: KindRegistry) -> None:
        self._registry = registry
        self._lock = threading.RLock()
        self._families: dict[tuple[str, str], AtomFamily[Any, Atom[Any]]] = {}
        self._bare: dict[str, AtomFamily[Any, Atom[Any]]] = {}

    def forget(self, kind: str) -> None:
        """Drop the atoms of `kind` (it was replaced or removed); later calls make new ones."""
        with self._lock:
            for key in [k for k in self._families if k[1] == kind]:
                del self._families[key]
            # Bare ids may resolve differently now.
            self._bare.clear()

    def selector(self, name: str, ref: RefLike) -> Atom[Any]:
        """The atom of the standard selector `name` for `ref` (see STANDARD_SELECTORS)."""
        if name not in STANDARD_SELECTORS:
            raise ValueError(
                f"unknown bridge selector {name!r}; expected one of {', '.join(STANDARD_SELECTORS)}"
            )
        parsed = self._registry.parse(ref)
        if parsed.kind is None:
            return self._bare_family(name)(parsed.id)
        return self.kind_atom(name, parsed.kind, parsed.id)

    def kind_atom(self, name: str, kind: str, key: str) -> Atom[Any]:
        """The atom of selector `name` for the entity `key` of `kind`."""
        runnable_type = self._registry.type(kind)
        kind = self._registry.canonical(kind)
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
        t = self._registry.type(kind)
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
                    ("request", t.request),
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
        kinds = dict(self._registry.items())

        def read(get: Getter) -> Any:
            kind = _resolve_reactively(get, kinds, key)
            if kind is None:
                return _PENDING[name]
            if isinstance(kind, UnknownRunnableIdError):
                return QueryState("error", None, kind) if name == "query" else _PENDING[name]
            return get(self.kind_atom(name, kind, key))

        return derived(read, name=f"bridge.{name}({key})")


def _resolve_reactively(
    get: Getter, kinds: Mapping[str, RunnableType], key: str
) -> str | UnknownRunnableIdError | None:
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
        raise AmbiguousRunnableIdError(key, found)
    if pending:
        return None
    if found:
        return found[0]
    return UnknownRunnableIdError(key, list(kinds))


class BridgeSelectors:
    """`bridge.selectors.<name>(ref)`: the atom of a standard selector, for any kind.

    `data` is the `RunnableData` (None until loaded), `query` the entity's QueryState,
    `is_dirty`, `input_ports` / `output_ports` (lists of RunnablePort), `configuration`,
    `invocation_url` and `schemas` as the RunnableData has them.
    """

    def __init__(self, atoms: SelectorAtoms) -> None:
        self._atoms = atoms

    def data(self, ref: RefLike) -> Atom[Any]:
        """The runnable as RunnableData (None while it has no data)."""
        return self._atoms.selector("data", ref)

    def query(self, ref: RefLike) -> Atom[Any]:
        """Where the fetch of the runnable's entity stands (a QueryState)."""
        return self._atoms.selector("query", ref)

    def is_dirty(self, ref: RefLike) -> Atom[Any]:
        """True while the runnable has unsaved changes."""
        return self._atoms.selector("is_dirty", ref)

    def input_ports(self, ref: RefLike) -> Atom[Any]:
        """The runnable's input ports."""
        return self._atoms.selector("input_ports", ref)

    def output_ports(self, ref: RefLike) -> Atom[Any]:
        """The runnable's output ports."""
        return self._atoms.selector("output_ports", ref)

    def configuration(self, ref: RefLike) -> Atom[Any]:
        """The configuration the runnable runs with."""
        return self._atoms.selector("configuration", ref)

    def invocation_url(self, ref: RefLike) -> Atom[Any]:
        """The URL the runnable is called at, for kinds served over HTTP."""
        return self._atoms.selector("invocation_url", ref)

    def schemas(self, ref: RefLike) -> Atom[Any]:
        """The JSON schemas the runnable declares."""
        return self._atoms.selector("schemas", ref)


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

    def __init__(self, atoms: SelectorAtoms, kind: str, runnable_type: RunnableType) -> None:
        self.name = kind
        self.type = runnable_type
        self.molecule = runnable_type.molecule
        selectors: dict[str, Callable[[Any], Atom[Any]]] = {}
        for name in ("input_ports", "output_ports", "configuration", "invocation_url", "schemas"):
            selectors[name] = self._standard(atoms, name)
        selectors["runnable"] = self._standard(atoms, "data")
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

    def _standard(self, atoms: SelectorAtoms, name: str) -> Callable[[Any], Atom[Any]]:
        kind = self.name
        return lambda key: atoms.kind_atom(name, kind, entity_id(key))
