"""Adapters for the push-only libraries: psygnal and RxPY (neither is glitch-free).

Neither has computed values, so a computed's sources are found by running it once and
wired as eager push handlers; their dependencies are static.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar

from benchmarks.reactive_framework import ComputeFn, EffectFn, Get, Unsupported


def track_sources(fn: ComputeFn, read: Get) -> tuple[Any, list[Any]]:
    """Run `fn` once, returning its value and the distinct nodes it read, in order."""
    deps: list[Any] = []
    seen: set[int] = set()

    def get(node: Any) -> Any:
        if id(node) not in seen:
            seen.add(id(node))
            deps.append(node)
        return read(node)

    value = fn(get)
    if not deps:
        raise Unsupported("a computed with no sources cannot be wired to push updates")
    return value, deps


class _Cell:
    """A value and the psygnal signal that announces its changes."""

    __slots__ = ("changed", "value")

    def __init__(self, value: Any, changed: Any) -> None:
        self.value = value
        self.changed = changed


class PsygnalAdapter:
    """psygnal: one SignalInstance per node; computeds hand-wired as eager push handlers.

    psygnal has no computed values: a computed's sources are found by running it once,
    and each source's signal re-runs it. Dependencies are static, so shapes whose sources
    change between runs are n/a. Eager push recomputes a diamond's join once per changed
    input, so effects may see intermediate values (not glitch-free).
    """

    name: ClassVar[str] = "psygnal"
    glitch_free: ClassVar[bool] = False
    features: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        import psygnal

        self._signal_instance = psygnal.SignalInstance
        self.read: Callable[[Any], Any] = operator.attrgetter("value")

    def signal(self, value: Any) -> Any:
        """A cell with its own SignalInstance."""
        return _Cell(value, self._signal_instance())

    def computed(self, fn: ComputeFn) -> Any:
        """A cell recomputed by a handler connected to each source's signal."""
        value, sources = track_sources(fn, self.read)
        cell = _Cell(value, self._signal_instance())
        read = self.read

        def recompute() -> None:
            new = fn(read)
            old = cell.value
            if new is not old and new != old:
                cell.value = new
                cell.changed.emit()

        for source in sources:
            source.changed.connect(recompute)
        return cell

    def effect(self, node: Any, fn: EffectFn) -> None:
        """A handler on the node's signal."""
        node.changed.connect(lambda: fn(node.value))
        fn(node.value)

    def write(self, cell: Any, value: Any) -> None:
        """Store the value and emit when it changed."""
        old = cell.value
        if value is not old and value != old:
            cell.value = value
            cell.changed.emit()

    def batch(self) -> AbstractContextManager[object]:
        """No batching across signals: every write pushes at once."""
        return nullcontext()

    def family(self, factory: Callable[[Hashable], Any]) -> Callable[[Hashable], Any]:
        """psygnal has no families."""
        raise Unsupported("psygnal has no atom families")

    def dispose(self) -> None:
        """Nothing global to release: the cells go with the graph."""


class RxAdapter:
    """RxPY (reactivex 4): BehaviorSubjects wired naively with combine_latest and map.

    A computed is `combine_latest(*sources).pipe(map(...))` feeding a BehaviorSubject that
    holds its value; sources are found by running it once (static, so shapes whose sources
    change between runs are n/a). Nothing dedupes a diamond: the join recomputes and emits
    once per changed input, so effects run more often than in a glitch-free store.
    """

    name: ClassVar[str] = "rx"
    glitch_free: ClassVar[bool] = False
    features: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        import reactivex
        from reactivex import operators
        from reactivex.subject import BehaviorSubject

        self._rx = reactivex
        self._map = operators.map
        self._subject = BehaviorSubject
        self.read: Callable[[Any], Any] = operator.attrgetter("value")
        self.write: Callable[[Any, Any], object] = BehaviorSubject.on_next
        self._subscriptions: list[Any] = []

    def signal(self, value: Any) -> Any:
        """A BehaviorSubject."""
        return self._subject(value)

    def computed(self, fn: ComputeFn) -> Any:
        """A BehaviorSubject fed by combine_latest of the sources, mapped through fn."""
        value, sources = track_sources(fn, self.read)
        out = self._subject(value)
        upstream = sources[0] if len(sources) == 1 else self._rx.combine_latest(*sources)
        read = self.read
        mapped = upstream.pipe(self._map(lambda _: fn(read)))
        self._subscriptions.append(mapped.subscribe(on_next=out.on_next))
        return out

    def effect(self, node: Any, fn: EffectFn) -> None:
        """A subscription (a BehaviorSubject replays its value at once)."""
        self._subscriptions.append(node.subscribe(on_next=fn))

    def batch(self) -> AbstractContextManager[object]:
        """Rx has no batching: every write pushes at once."""
        return nullcontext()

    def family(self, factory: Callable[[Hashable], Any]) -> Callable[[Hashable], Any]:
        """Rx has no families."""
        raise Unsupported("reactivex has no atom families")

    def dispose(self) -> None:
        """Dispose every subscription."""
        for subscription in self._subscriptions:
            subscription.dispose()
        self._subscriptions.clear()
