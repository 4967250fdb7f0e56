"""The Store: the public face over the propagation algorithm of internals.py.

`get`, `set` and `refresh` are the algorithm's own entry points (`StoreCore`); this
file adds subscriptions, batches and Observables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from molecules.core.atom import Atom
from molecules.core.errors import ListenerError
from molecules.core.internals import StoreCore
from molecules.core.node import ErrorSeen, Listener, Node, node_of

if TYPE_CHECKING:
    from reactivex import Observable
    from reactivex.abc import DisposableBase, ObserverBase, SchedulerBase

T = TypeVar("T")


class Store(StoreCore):
    """Holds the values of atoms; read with `get`, write with `set`, watch with `sub`."""

    def sub(self, a: Atom[Any], listener: Callable[[], Any]) -> Callable[[], None]:
        """Call `listener()` after each committed change of `a`; returns `unsubscribe`.

        If an `on_mount` that this subscription triggers raises, the subscription is
        undone and `ListenerError` raised.
        """
        rec = Listener(listener)
        with self._lock:
            self._writes += 1
            try:
                n = node_of(a, self._tok)
                if n.fresh < self._epoch:
                    self._ensure(n)
                if n.listeners is None:
                    n.listeners = [rec]
                else:
                    n.listeners.append(rec)
                n.notified = n.value if n.error is None else ErrorSeen(n.error)
                if not n.mounted:
                    self._mounts.mount(n, self._epoch)
            finally:
                self._writes -= 1
                after = self._finish() if self._writes == 0 else None

        # Released on unsubscribe, so a kept `unsubscribe` does not keep the atom alive.
        held: list[Node] = [n]

        def unsubscribe() -> None:
            with self._lock:
                if not held:
                    return
                n = held.pop()
                rec.active = False
                listeners = n.listeners
                if listeners is not None:
                    listeners.remove(rec)
                    if not listeners:
                        n.listeners = None
                        if not n.dependents:
                            self._mounts.unmount(n, self._epoch)
                mounts = self._mounts
                cleanups, mounts.cleanups = mounts.cleanups, []
            if cleanups:
                self._after(([], cleanups, []))

        if after is not None:
            mount_failed = bool(after[2])  # on_mount errors; listeners' come later
            try:
                self._after(after)
            except ListenerError:
                if mount_failed:
                    unsubscribe()
                raise
        return unsubscribe

    def refresh(self, a: Atom[Any]) -> None:
        """Make a derived atom read again (on next use, or now if mounted)."""
        if a.read is not None:
            self._commit(self._invalidate, node_of(a, self._tok))

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes: listeners are notified once, after the block, with settled values."""
        after = None
        try:
            with self._lock:
                self._writes += 1
                try:
                    yield
                finally:
                    self._writes -= 1
                    if self._writes == 0:
                        after = self._finish()
        finally:
            if after is not None:
                self._after(after)

    def observe(self, a: Atom[T], scheduler: SchedulerBase | None = None) -> Observable[T]:
        """A reactivex Observable: the current value on subscribe, then each change.

        Each subscription is one store subscription, so N observers share one mount. A
        read that raises ends the subscription with `on_error`. With `scheduler`, values
        are delivered on it (for example an AsyncIOScheduler, to hop onto an asyncio loop).
        """
        import reactivex
        from reactivex import operators as ops
        from reactivex.disposable import Disposable

        def subscribe(observer: ObserverBase[T], _: SchedulerBase | None = None) -> DisposableBase:
            done = False
            unsubscribe: Any = None

            def push() -> None:
                nonlocal done
                if done:
                    return
                try:
                    value = self.get(a)
                except Exception as exc:
                    done = True
                    if unsubscribe is not None:
                        unsubscribe()
                    observer.on_error(exc)
                    return
                observer.on_next(value)

            # The first value is read under the lock together with the subscription, so
            # no change can slip between them.
            with self._lock:
                unsubscribe = self.sub(a, push)
                push()

            def dispose() -> None:
                nonlocal done
                done = True
                unsubscribe()

            return Disposable(dispose)

        source: Observable[T] = reactivex.create(subscribe)
        if scheduler is not None:
            return source.pipe(ops.observe_on(scheduler))
        return source

    def is_mounted(self, a: Atom[Any]) -> bool:
        """True while `a` has a subscriber in this store, directly or through dependents."""
        with self._lock:
            return a in self._mounted
