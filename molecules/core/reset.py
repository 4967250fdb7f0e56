"""Atoms that can be reset: `atom_with_reset`, `atom_with_default` and the `RESET` value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from molecules.core.atom import Atom, Getter, Setter, atom, derived, is_coroutine_function

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
    """A writable atom whose value is `get_default(get)` until written (and after RESET).

    With an `async def` default, the default is an async derived read: `store.get` gives
    one shared future, reads after an `await` are tracked, and a change of what it read
    runs it again; writing a value replaces it, and RESET runs the default again.
    """
    base: Atom[Any] = atom(_EMPTY)
    if is_coroutine_function(get_default):
        return _with_async_default(base, get_default)

    def read(get: Getter) -> T:
        value = get(base)
        return get_default(get) if value is _EMPTY else value

    def write(get: Getter, set: Setter, value: Any) -> None:
        set(base, _EMPTY if value is RESET else value)

    return derived(read, write)


def _with_async_default(base: Atom[Any], get_default: Callable[[Getter], Any]) -> Atom[Any]:
    resets = atom(0)  # bumped by RESET, so the default runs again

    async def default_read(get: Getter) -> Any:
        get(resets)
        return await get_default(get)

    default = derived(default_read, name="default")

    def read(get: Getter) -> Any:
        value = get(base)
        return get(default) if value is _EMPTY else value

    def write(get: Getter, set: Setter, value: Any) -> None:
        if value is RESET:
            if get(base) is not _EMPTY:
                set(resets, get(resets) + 1)
            set(base, _EMPTY)
        else:
            set(base, value)

    return derived(read, write)
