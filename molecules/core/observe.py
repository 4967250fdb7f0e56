"""Atoms as reactivex Observables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import reactivex
from reactivex import operators as ops
from reactivex.disposable import Disposable

if TYPE_CHECKING:
    from reactivex import Observable
    from reactivex.abc import DisposableBase, ObserverBase, SchedulerBase

    from molecules.core.atom import Atom
    from molecules.core.store import Store

T = TypeVar("T")


def observe_atom(store: Store, a: Atom[T], scheduler: SchedulerBase | None = None) -> Observable[T]:
    """An Observable of `a` in `store`: its current value on subscribe, then each change.

    Each subscription is one store subscription, so N observers share one mount. A read
    that raises ends the subscription with `on_error`. With `scheduler`, values are
    delivered on it (for example an AsyncIOScheduler, to hop onto an asyncio loop).
    """

    def subscribe(observer: ObserverBase[T], _: SchedulerBase | None = None) -> DisposableBase:
        done = False
        unsubscribe: Any = None

        def push() -> None:
            nonlocal done
            if done:
                return
            try:
                value = store.get(a)
            except Exception as exc:
                done = True
                if unsubscribe is not None:
                    unsubscribe()
                observer.on_error(exc)
                return
            observer.on_next(value)

        # The first value is read under the store's lock together with the subscription,
        # so no change can slip between them.
        with store._lock:
            unsubscribe = store.sub(a, push)
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
