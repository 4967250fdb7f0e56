"""Atoms that can be reset: `atom_with_reset`, `atom_with_default` and the `RESET` value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from molecules.core.atom import Atom, Getter, Setter, atom, derived

T = TypeVar("T")


class _Reset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "RESET"


RESET: Final = _Reset()
"""Write this to an `atom_with_reset` or `atom_with_default` to restore its initial value."""

_EMPTY: Any = object()


def atom_with_reset(initial: T) -> Atom[T]:
    """A writable atom that `store.set(a, RESET)` returns to `initial`."""
    base = atom(initial)

    def read(get: Getter) -> T:
        return get(base)

    def write(get: Getter, set: Setter, value: Any) -> None:
        set(base, initial if value is RESET else value)

    return derived(read, write)


def atom_with_default(get_default: Callable[[Getter], T]) -> Atom[T]:
    """A writable atom whose value is `get_default(get)` until written (and after RESET)."""
    base: Atom[Any] = atom(_EMPTY)

    def read(get: Getter) -> T:
        value = get(base)
        return get_default(get) if value is _EMPTY else value

    def write(get: Getter, set: Setter, value: Any) -> None:
        set(base, _EMPTY if value is RESET else value)

    return derived(read, write)
