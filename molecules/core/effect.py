"""`effect`: a tracked function re-run after each change of what it read (like atomEffect).

Built only from the public API: the effect is a derived atom whose read runs the
function, and a private primitive atom whose `on_mount` switches it on in each store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from molecules.core.atom import Atom, Getter, Setter, atom, derived, is_coroutine_function
from molecules.core.node import ReadContext

EffectFn = Callable[[Getter, Setter], Callable[[], Any] | None]


class _Run:
    """One mount of an effect in one store: whether it is on, and the cleanup to run."""

    __slots__ = ("active", "cleanup")

    def __init__(self) -> None:
        self.active = True
        self.cleanup: Callable[[], Any] | None = None

    def stop(self) -> None:
        self.active = False
        cleanup, self.cleanup = self.cleanup, None
        if cleanup is not None:
            cleanup()


def effect(fn: EffectFn, *, name: str | None = None) -> Atom[None]:
    """An atom that, while mounted, runs `fn(get, set)` and re-runs it after each change.

    Mount it with `store.sub(eff, listener)`. `fn` reads atoms with `get` (tracked, as in a
    derived read) and may write with `set`; a write to an atom it reads does not re-run
    it at once. `fn` may return a cleanup, which runs before the next run and at unmount.
    Reading the atom runs nothing when it is not mounted. If `fn` raises, the error is
    the atom's: `store.get(eff)` raises it, and a listener that calls `store.get(eff)`
    turns it into `ListenerError` for the write that caused it.
    """
    if is_coroutine_function(fn):
        raise TypeError(
            "effect() takes a plain function: run async work from it as a task, or read an "
            "async derived atom"
        )
    label = name or getattr(fn, "__name__", "effect")

    def on_mount(set_self: Callable[..., Any]) -> Callable[[], None]:
        run = _Run()
        set_self(run)  # a new value: the effect runs in this store's flush
        return run.stop

    switch: Atom[_Run | None] = atom(None, on_mount=on_mount, name=f"{label}.on")

    def read(get: Getter, ctx: ReadContext) -> None:
        run = get(switch)
        if run is None or not run.active:
            return
        cleanup, run.cleanup = run.cleanup, None
        if cleanup is not None:
            cleanup()
        result = fn(get, ctx.store.set)
        run.cleanup = result if callable(result) else None

    return derived(read, name=f"effect({label})")
