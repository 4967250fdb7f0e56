"""Async atoms as plain values: `loadable` (state, data, error) and `unwrap` (value or fallback)."""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any, Generic, Literal, TypeVar

import attrs

from molecules.core.atom import Atom, Getter, derived
from molecules.core.node import ReadContext

T = TypeVar("T")

LoadableState = Literal["loading", "has_data", "has_error"]


@attrs.frozen(slots=True)
class Loadable(Generic[T]):
    """The state of a possibly-async atom: loading, has_data (with `data`) or has_error."""

    state: LoadableState
    data: T | None = None
    error: BaseException | None = None


LOADING: Loadable[Any] = Loadable("loading")

_loadables: weakref.WeakKeyDictionary[Atom[Any], Atom[Loadable[Any]]] = weakref.WeakKeyDictionary()
_loadables_lock = threading.Lock()


def _settled(value: Any, ctx: ReadContext) -> Loadable[Any]:
    if not isinstance(value, asyncio.Future):
        return Loadable("has_data", data=value)
    if not value.done():
        store, me = ctx.store, ctx.atom
        value.add_done_callback(lambda _: store.refresh(me))
        return LOADING
    if value.cancelled():
        return Loadable("has_error", error=asyncio.CancelledError())
    exc = value.exception()
    if exc is not None:
        return Loadable("has_error", error=exc)
    return Loadable("has_data", data=value.result())


def loadable(a: Atom[Any]) -> Atom[Loadable[Any]]:
    """An atom of `Loadable` for `a`: errors and pending futures become values, never raise."""
    with _loadables_lock:
        found = _loadables.get(a)
        if found is not None:
            return found

        def read(get: Getter, ctx: ReadContext) -> Loadable[Any]:
            try:
                value = get(a)
            except Exception as exc:
                return Loadable("has_error", error=exc)
            return _settled(value, ctx)

        made: Atom[Loadable[Any]] = derived(read, name=f"loadable({a!r})")
        _loadables[a] = made
        return made


def unwrap(a: Atom[Any], fallback: Any = None) -> Atom[Any]:
    """An atom of `a`'s settled value, `fallback` while it loads; an error is raised on read."""
    source = loadable(a)

    def read(get: Getter) -> Any:
        state = get(source)
        if state.state == "has_error":
            assert state.error is not None
            raise state.error
        if state.state == "loading":
            return fallback
        return state.data

    return derived(read, name=f"unwrap({a!r})")
