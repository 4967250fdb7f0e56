"""A minimal push-pull reactive core: the second floor every store feature must justify.

About 100 lines, single-threaded, no mounting, no async, no equality hooks, no families:
a write marks its direct observers DIRTY and everything further down CHECK (push);
a read brings a node up to date by checking its sources first and recomputing only if
one really changed (pull). Sources are tracked anew on every run, so dynamic graphs work.
Effects are computeds that are queued when marked and re-run after the write (or batch).
Edges are never dropped: a node no one reads stays in its sources' observer lists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CLEAN, CHECK, DIRTY = 0, 1, 2


class Signal:
    """A writable source."""

    __slots__ = ("observers", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.observers: dict[Computed, None] = {}


class Computed:
    """A cached function of other nodes; `effect` computeds are re-run after writes."""

    __slots__ = ("effect", "fn", "observers", "sources", "state", "value")

    def __init__(self, fn: Callable[[Callable[[Any], Any]], Any], effect: bool = False) -> None:
        self.fn = fn
        self.value: Any = None
        self.sources: list[Any] = []
        self.observers: dict[Computed, None] = {}
        self.state = DIRTY
        self.effect = effect


class Core:
    """One graph: `read`, `write`, `batch` (a context manager) and `effect`."""

    def __init__(self) -> None:
        self._tracking: list[Any] | None = None
        self._queue: list[Computed] = []
        self._depth = 0

    def read(self, node: Any) -> Any:
        """The node's current value, recorded as a source of the computed being run."""
        if type(node) is Computed and node.state != CLEAN:
            self._update(node)
        tracking = self._tracking
        if tracking is not None and node not in tracking:
            tracking.append(node)
        return node.value

    def write(self, signal: Signal, value: Any) -> None:
        """Set a signal, mark downstream, and run the effects that must re-run."""
        old = signal.value
        if value is old or value == old:
            return
        signal.value = value
        for observer in signal.observers:
            if observer.state == CLEAN:
                self._mark(observer)
            observer.state = DIRTY
        if not self._depth:
            self._flush()

    def effect(self, fn: Callable[[Callable[[Any], Any]], Any]) -> Computed:
        """Run `fn(read)` now and again after each change of what it read."""
        node = Computed(fn, effect=True)
        self._update(node)
        return node

    def __enter__(self) -> None:
        self._depth += 1

    def __exit__(self, *_: object) -> None:
        self._depth -= 1
        if not self._depth:
            self._flush()

    def _mark(self, node: Computed) -> None:
        """Mark a clean node and everything clean below it CHECK; queue the effects."""
        queue = self._queue
        stack = [node]
        while stack:
            node = stack.pop()
            if node.state == CLEAN:
                node.state = CHECK
                if node.effect:
                    queue.append(node)
                stack.extend(node.observers)

    def _flush(self) -> None:
        queue = self._queue
        while queue:
            self._queue = []
            for node in queue:
                if node.state != CLEAN:
                    self._update(node)
            queue = self._queue

    def _update(self, node: Computed) -> None:
        if node.state == CHECK:
            for source in node.sources:
                if type(source) is Computed and source.state != CLEAN:
                    self._update(source)
                    if node.state == DIRTY:
                        break
        if node.state == DIRTY:
            self._recompute(node)
        node.state = CLEAN

    def _recompute(self, node: Computed) -> None:
        saved, self._tracking = self._tracking, []
        try:
            value = node.fn(self.read)
        finally:
            sources, self._tracking = self._tracking, saved
        if sources != node.sources:
            for old in node.sources:
                if old not in sources:
                    del old.observers[node]
            for new in sources:
                new.observers[node] = None
            node.sources = sources
        old_value = node.value
        if value is not old_value and value != old_value:
            node.value = value
            for observer in node.observers:
                observer.state = DIRTY
