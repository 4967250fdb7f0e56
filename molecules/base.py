"""MoleculeBase: a molecule's options, its per-id state atoms, and its registry of members.

The per-id state is five primitive atoms, the only ones a molecule has: the query state,
the draft, the "new" and "deleted" flags and the task of a fetch in flight. Everything
public is derived from them (see `LoadingMolecule` and `Molecule`).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from molecules.core.atom import Atom, Getter, atom, derived
from molecules.hooks import MoleculeHooks
from molecules.ids import Family, KeyedRead, id_family
from molecules.query import IDLE

__all__ = ["Fetch", "MoleculeBase", "Save", "as_document", "as_fields"]

T = TypeVar("T")
Fetch = Callable[[str], Any]
Save = Callable[[str, Any], Any]


def _not_entity_data(value: Any) -> TypeError:
    kind = type(value).__name__
    return TypeError(f"entity data must be a mapping or a pydantic model, not {kind}")


def as_document(value: Any) -> dict[str, Any]:
    """Entity data as a plain JSON-ready dict (a pydantic model is dumped in JSON mode)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return dict(value)
    raise _not_entity_data(value)


def as_fields(value: Any) -> dict[str, Any]:
    """Entity data or changes as a dict of fields (a model gives the fields it was given)."""
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=True)
    if isinstance(value, Mapping):
        return dict(value)
    raise _not_entity_data(value)


def is_async(fn: Callable[..., Any] | None) -> bool:
    """True for an `async def` function (or an object whose `__call__` is one)."""
    return fn is not None and (
        inspect.iscoroutinefunction(fn)
        or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004
    )


class MoleculeBase(Generic[T]):
    """Options, per-id state and the registry of selectors and actions of a molecule."""

    # Members the subclasses define; declared here for the code that reads them.
    query: Family
    data: Family
    is_dirty: Family

    def __init__(
        self,
        name: str,
        fetch: Fetch,
        *,
        save: Save | None = None,
        transform: Callable[[Any], T] | None = None,
        merge: Callable[[T, dict[str, Any]], T] | None = None,
        is_dirty: Callable[[T, T], bool] | None = None,
        is_new: Callable[[str], bool] | None = None,
        exclude_fields: Collection[str] = (),
        ttl: float | None = None,
        remove: Callable[[str], Any] | None = None,
        hooks: MoleculeHooks | Mapping[str, Any] | None = None,
        where: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a molecule needs a non-empty name, got {name!r}")
        if not callable(fetch):
            raise TypeError(f"molecule {name!r}: fetch must be callable, got {fetch!r}")
        if ttl is not None and ttl <= 0:
            raise ValueError(f"molecule {name!r}: ttl must be a positive number of seconds")
        self.name = name
        self.where = where
        self.ttl = ttl
        self.exclude_fields = tuple(exclude_fields)
        self._fetch = fetch
        self._fetch_is_async = is_async(fetch)
        self._save = save
        self._remove = remove
        self._transform = transform
        self._merge = merge
        self._is_dirty = is_dirty
        self._is_new = is_new
        self._hooks = MoleculeHooks.of(hooks)
        self._clock = clock
        self._selectors: dict[str, Family] = {}
        self._actions: dict[str, Atom[Any]] = {}

        self._state = id_family(lambda _: atom(IDLE))
        self._draft = id_family(lambda _: atom(None))
        self._new = id_family(lambda key: atom(bool(is_new and is_new(key))))
        self._deleted = id_family(lambda _: atom(False))
        self._inflight = id_family(lambda _: atom(None))

    def __repr__(self) -> str:
        return f"<Molecule {self.name}>"

    @property
    def selectors(self) -> Mapping[str, Family]:
        """Every selector family by name (subclasses add theirs with `selector`)."""
        return MappingProxyType(self._selectors)

    @property
    def actions(self) -> Mapping[str, Atom[Any]]:
        """Every action atom by name (subclasses add theirs with `action`)."""
        return MappingProxyType(self._actions)

    def selector(
        self,
        name: str,
        read: Callable[[Getter, str], Any],
        *,
        eq: Callable[[Any, Any], bool] | None = None,
    ) -> Family:
        """Register a selector: an atom family whose member for `id` reads `read(get, id)`."""
        label = self.name

        def factory(key: str) -> Atom[Any]:
            return derived(KeyedRead(read, key), eq=eq, name=f"{label}.{name}({key})")

        return self.register_selector(name, id_family(factory))

    def register_selector(self, name: str, family: Family) -> Family:
        """Register a selector family made some other way (it must be keyed by id)."""
        self._selectors[name] = family
        return family

    def action(self, name: str, write: Callable[..., Any]) -> Atom[Any]:
        """Register an action: a write-only atom, `store.set(m.<name>, *args)`."""
        made: Atom[Any] = derived(write=write, name=f"{self.name}.{name}")
        self._actions[name] = made
        return made

    def transform(self, raw: Any) -> T:
        """Raw data as this molecule's entity data (`transform`, else a plain dict)."""
        if self._transform is not None:
            return self._transform(raw)
        result: T = raw if isinstance(raw, BaseModel) else dict(raw)  # type: ignore[assignment]
        return result

    def apply(self, key: str, server: T | None, draft: Mapping[str, Any]) -> T:
        """The entity `server` with `draft` applied (`transform` runs on the result)."""
        if server is None:
            return self.transform({"id": key, **draft})
        if self._merge is not None:
            return self._merge(server, dict(draft))
        return self.transform({**as_fields(server), **draft})

    def _peek(self, get: Getter, family: Family, key: str, default: Any = None) -> Any:
        """In a write: a per-id state value, without making its atom if it has none yet.

        Only for writes: a read must `get` the atom itself, or it would not be told when
        the atom is made and set later.
        """
        return get(family(key)) if key in family else default

    def _new_now(self, get: Getter, key: str) -> bool:
        """In a write: whether `key` is new (see `_peek`)."""
        if key in self._new:
            return bool(get(self._new(key)))
        return bool(self._is_new is not None and self._is_new(key))

    def _after_load(self, get: Getter, set: Any, key: str) -> None:
        """In a write: called when fresh server data arrived for `key` (drafts recheck)."""
