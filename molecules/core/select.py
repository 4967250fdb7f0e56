"""`select_atom`: a slice of an atom that keeps its old object while the slice is equal."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from molecules.core.atom import Atom, Equality, Getter, default_eq, derived

S = TypeVar("S")
T = TypeVar("T")


def select_atom(a: Atom[S], selector: Callable[[S], T], eq: Equality | None = None) -> Atom[T]:
    """An atom of `selector(value of a)`; subscribers hear of it only when the slice changes."""

    def read(get: Getter) -> T:
        return selector(get(a))

    return derived(read, eq=eq or default_eq, name=f"select({a!r})")
