"""Entity ids and the atom families keyed by them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from molecules.core.atom import Atom, Getter
from molecules.core.family import AtomFamily, atom_family
from molecules.errors import InvalidEntityIdError

__all__ = ["Family", "KeyedRead", "entity_id", "id_family"]

Family = AtomFamily[Any, Atom[Any]]


def entity_id(key: object) -> str:
    """The entity id in `key`: a non-empty str, or an object (a RunnableRef) with a str `id`."""
    if isinstance(key, str):
        if key:
            return key
    else:
        ident = getattr(key, "id", None)
        if isinstance(ident, str) and ident:
            return ident
    raise InvalidEntityIdError(
        None, None, f"an entity id must be a non-empty str or a ref with an id, got {key!r}"
    )


def id_family(factory: Callable[[str], Atom[Any]]) -> Family:
    """An atom family keyed by entity id that also accepts refs (`f(ref) is f(ref.id)`)."""
    return atom_family(lambda key: factory(entity_id(key)), key=entity_id)


class KeyedRead:
    """`read(get, key)` as a one-argument read; slots keep it smaller than a closure."""

    __slots__ = ("key", "read")

    def __init__(self, read: Callable[[Getter, str], Any], key: str) -> None:
        self.read = read
        self.key = key

    def __call__(self, get: Getter) -> Any:
        return self.read(get, self.key)
