"""One adapter per reactive library, all with the same small interface.

Every benchmark shape is written once against `Framework` (like the ReactiveFramework of
js-reactivity-benchmark). A computed function receives `get` and reads its sources with
`get(node)`; each adapter passes the cheapest `get` its library allows, and exposes `read`
and `write` as C-level or bound callables where it can, so the adapter itself adds as
little as possible to what is measured.

An effect observes ONE node (every shape here needs no more): `effect(node, fn)` calls
`fn(value)` once at creation and again whenever the library decides the node changed.
For this store that is `store.sub(node, listener)` with a listener that reads
`store.get(node)`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import partial
from typing import Any, ClassVar, Protocol

Get = Callable[[Any], Any]
ComputeFn = Callable[[Get], Any]
EffectFn = Callable[[Any], object]


class Unsupported(Exception):
    """A shape this library cannot express; the table shows n/a."""


class Framework(Protocol):
    """The interface every shape is written against."""

    name: ClassVar[str]
    glitch_free: ClassVar[bool]
    # "dynamic": re-tracks sources on every run; "family": keyed node families.
    features: ClassVar[frozenset[str]]

    @property
    def read(self) -> Callable[[Any], Any]:
        """Read a node's current value."""

    @property
    def write(self) -> Callable[[Any, Any], object]:
        """Write a source node."""

    def signal(self, value: Any) -> Any:
        """A writable source node holding `value`."""

    def computed(self, fn: ComputeFn) -> Any:
        """A node whose value is `fn(get)`."""

    def effect(self, node: Any, fn: EffectFn) -> None:
        """Call `fn(value of node)` now and after each change of `node`."""

    def batch(self) -> AbstractContextManager[object]:
        """A block of writes after which effects run once."""

    def family(self, factory: Callable[[Hashable], Any]) -> Callable[[Hashable], Any]:
        """A keyed cache of nodes made by `factory`."""

    def dispose(self) -> None:
        """Stop every effect this adapter created."""


def _track(fn: ComputeFn, read: Get) -> tuple[Any, list[Any]]:
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


class MoleculesAdapter:
    """This project's store: atom, derived, Store.get/set/sub/batch, atom_family."""

    name: ClassVar[str] = "molecules"
    glitch_free: ClassVar[bool] = True
    features: ClassVar[frozenset[str]] = frozenset({"dynamic", "family"})

    def __init__(self) -> None:
        from molecules import Store, atom, atom_family, derived

        self._atom = atom
        self._derived = derived
        self._atom_family = atom_family
        self._store = Store()
        self.read: Callable[[Any], Any] = self._store.get
        self.write: Callable[[Any, Any], object] = self._store.set
        self._unsubscribes: list[Callable[[], object]] = []

    def signal(self, value: Any) -> Any:
        """A primitive atom."""
        return self._atom(value)

    def computed(self, fn: ComputeFn) -> Any:
        """A read-only derived atom; the store passes its own `get`."""
        return self._derived(fn)

    def effect(self, node: Any, fn: EffectFn) -> None:
        """A subscription whose listener reads the atom."""
        get = self._store.get

        def listener() -> None:
            fn(get(node))

        self._unsubscribes.append(self._store.sub(node, listener))
        fn(get(node))

    def batch(self) -> AbstractContextManager[object]:
        """The store's batch."""
        return self._store.batch()

    def family(self, factory: Callable[[Hashable], Any]) -> Callable[[Hashable], Any]:
        """An atom family."""
        family: Callable[[Hashable], Any] = self._atom_family(factory)
        return family

    def dispose(self) -> None:
        """Unsubscribe every listener."""
        for unsubscribe in self._unsubscribes:
            unsubscribe()
        self._unsubscribes.clear()


class ReaktivAdapter:
    """reaktiv: Signal, Computed, Effect, batch (Angular/Preact-style signals)."""

    name: ClassVar[str] = "reaktiv"
    glitch_free: ClassVar[bool] = True
    features: ClassVar[frozenset[str]] = frozenset({"dynamic"})

    def __init__(self) -> None:
        import reaktiv  # type: ignore[import-untyped]

        self._reaktiv = reaktiv
        self.read: Callable[[Any], Any] = operator.call
        # The unbound method: no adapter frame between the shape and the library.
        self.write: Callable[[Any, Any], object] = reaktiv.Signal.set
        self._effects: list[Any] = []

    def signal(self, value: Any) -> Any:
        """A Signal."""
        return self._reaktiv.Signal(value)

    def computed(self, fn: ComputeFn) -> Any:
        """A Computed; sources are read by calling them."""
        return self._reaktiv.Computed(partial(fn, operator.call))

    def effect(self, node: Any, fn: EffectFn) -> None:
        """An Effect (kept referenced: reaktiv holds effects weakly)."""
        self._effects.append(self._reaktiv.Effect(lambda: fn(node())))

    def batch(self) -> AbstractContextManager[object]:
        """reaktiv.batch."""
        batch: AbstractContextManager[object] = self._reaktiv.batch()
        return batch

    def family(self, factory: Callable[[Hashable], Any]) -> Callable[[Hashable], Any]:
        """reaktiv has no families."""
        raise Unsupported("reaktiv has no atom families")

    def dispose(self) -> None:
        """Dispose every effect."""
        for effect in self._effects:
            effect.dispose()
        self._effects.clear()


def _write_ref(node: Any, value: Any) -> None:
    """Set the `ref` behind an observ signal node."""
    node.args[0]["value"] = value


class ObservAdapter:
    """observ: `ref` proxies, lazy `computed` getters, synchronous `watch` effects.

    Effects are `sync=True` watchers (measured 5-15% faster here than queueing them on
    observ's scheduler and flushing after each write). A batch pauses every watcher and
    resumes them at its end, when each changed one runs once: observ's own coalescing.
    """

    name: ClassVar[str] = "observ"
    glitch_free: ClassVar[bool] = True
    features: ClassVar[frozenset[str]] = frozenset({"dynamic"})

    def __init__(self) -> None:
        from observ.proxy import ref
        from observ.watcher import computed, watch

        self._ref, self._computed, self._watch = ref, computed, watch
        self._depth = 0
        self.read: Callable[[Any], Any] = operator.call
        self.write: Callable[[Any, Any], object] = _write_ref
        self._watchers: list[Any] = []

    def signal(self, value: Any) -> Any:
        """A `ref`, read through a C-level partial so every node is read by calling it."""
        return partial(operator.getitem, self._ref(value), "value")

    def computed(self, fn: ComputeFn) -> Any:
        """A computed getter (deep=False: values here are plain, nothing nested to track)."""
        return self._computed(deep=False)(partial(fn, operator.call))

    def effect(self, node: Any, fn: EffectFn) -> None:
        """A synchronous watcher without callback, which re-runs its function on change."""
        self._watchers.append(self._watch(lambda: fn(node()), None, sync=True, deep=False))

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Pause every watcher until the outermost batch ends."""
        self._depth += 1
        if self._depth == 1:
            for watcher in self._watchers:
                watcher.pause()
        try:
            yield
        finally:
            self._depth -= 1
            if not self._depth:
                for watcher in self._watchers:
                    watcher.resume()

    def family(self, factory: Callable[[Hashable], Any]) -> Callable[[Hashable], Any]:
        """observ has no families."""
        raise Unsupported("observ has no atom families")

    def dispose(self) -> None:
        """Stop every watcher."""
        for watcher in self._watchers:
            watcher.stop()
        self._watchers.clear()


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
        value, sources = _track(fn, self.read)
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
        value, sources = _track(fn, self.read)
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


ADAPTERS: dict[str, type[Framework]] = {
    "molecules": MoleculesAdapter,
    "reaktiv": ReaktivAdapter,
    "observ": ObservAdapter,
    "psygnal": PsygnalAdapter,
    "rx": RxAdapter,
}

DISTRIBUTIONS = {
    "molecules": "runnable-bridge",
    "reaktiv": "reaktiv",
    "observ": "observ",
    "psygnal": "psygnal",
    "rx": "reactivex",
}


def probe(name: str) -> str | None:
    """None when the library's adapter can be built, else why not."""
    try:
        ADAPTERS[name]().dispose()
    except ImportError as error:
        return f"not installed ({error})"
    return None
