"""One adapter per glitch-free reactive library, all with the same small interface.

Every benchmark shape is written once against `Framework` (`reactive_framework`). A
computed function receives `get` and reads its sources with `get(node)`; each adapter
passes the cheapest `get` its library allows, and exposes `read` and `write` as C-level or
bound callables where it can, so the adapter itself adds as little as possible to what
is measured.

An effect observes ONE node (every shape here needs no more): `effect(node, fn)` calls
`fn(value)` once at creation and again whenever the library decides the node changed.
This store is measured in two shapes:

* `molecules`: `store.sub(node, listener)` with a listener that reads `store.get(node)`;
* `molecules-fx`: the way a user writes an effect over what it reads: a derived atom
  that reads the node, and `store.sub` on that derived atom with a listener that calls
  `store.get` on it (one more atom per effect).

`molecules-compiled` and `molecules-fx-compiled` are the same two shapes on the mypyc build
of `molecules/core` (`make compiled`, into build/compiled); each worker imports one build
or the other, never both.

`minimal` is `reactive_minimal`, a 100-line push-pull core without thread safety: the
second floor, beside the hand-written plain-Python one.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from benchmarks.reactive_adapters_push import PsygnalAdapter, RxAdapter
from benchmarks.reactive_framework import ComputeFn, EffectFn, Framework, Unsupported


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


class MoleculesEffectAdapter(MoleculesAdapter):
    """The store as a user writes an effect: a derived atom over what the effect reads."""

    name: ClassVar[str] = "molecules-fx"

    def effect(self, node: Any, fn: EffectFn) -> None:
        """A derived atom that reads `node`, subscribed with a listener that reads it."""
        store = self._store
        get = store.get
        watched = self._derived(lambda read: read(node))

        def listener() -> None:
            fn(get(watched))

        self._unsubscribes.append(store.sub(watched, listener))
        fn(get(watched))


COMPILED_BUILD = Path(__file__).resolve().parent.parent / "build" / "compiled"


def compiled_build_missing() -> str | None:
    """None when `make compiled` has built the core into build/compiled, else why not."""
    if not list((COMPILED_BUILD / "molecules" / "core").glob("internals.*.so")):
        return f"no compiled build in {COMPILED_BUILD} (run `make compiled`)"
    return None


def _import_compiled_build() -> None:
    """Make `import molecules` load the compiled build (in a worker, before any import)."""
    missing = compiled_build_missing()
    if missing is not None:
        raise ImportError(missing)
    loaded = sys.modules.get("molecules")
    if loaded is None:
        sys.path.insert(0, str(COMPILED_BUILD))
    elif COMPILED_BUILD not in Path(loaded.__file__ or "").resolve().parents:
        raise ImportError("molecules was already imported from the sources in this process")


class MoleculesCompiledAdapter(MoleculesAdapter):
    """`molecules` on the mypyc build of molecules/core."""

    name: ClassVar[str] = "molecules-compiled"

    def __init__(self) -> None:
        _import_compiled_build()
        super().__init__()


class MoleculesCompiledEffectAdapter(MoleculesEffectAdapter):
    """`molecules-fx` on the mypyc build of molecules/core."""

    name: ClassVar[str] = "molecules-fx-compiled"

    def __init__(self) -> None:
        _import_compiled_build()
        super().__init__()


class MinimalAdapter:
    """`reactive_minimal`: the 100-line push-pull core (single-threaded, no mounting)."""

    name: ClassVar[str] = "minimal"
    glitch_free: ClassVar[bool] = True
    features: ClassVar[frozenset[str]] = frozenset({"dynamic"})

    def __init__(self) -> None:
        from benchmarks.reactive_minimal import Computed, Core, Signal

        self._core = core = Core()
        self._signal, self._computed = Signal, Computed
        self.read: Callable[[Any], Any] = core.read
        self.write: Callable[[Any, Any], object] = core.write

    def signal(self, value: Any) -> Any:
        """A Signal."""
        return self._signal(value)

    def computed(self, fn: ComputeFn) -> Any:
        """A Computed; it reads its sources with the core's `read`."""
        return self._computed(fn)

    def effect(self, node: Any, fn: EffectFn) -> None:
        """An effect computed that reads the node."""
        self._core.effect(lambda read: fn(read(node)))

    def batch(self) -> AbstractContextManager[object]:
        """The core itself is the batch context."""
        return self._core  # type: ignore[return-value]

    def family(self, factory: Callable[[Hashable], Any]) -> Callable[[Hashable], Any]:
        """No families."""
        raise Unsupported("the minimal core has no families")

    def dispose(self) -> None:
        """Nothing to release: the graph goes with the core."""


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


ADAPTERS: dict[str, type[Framework]] = {
    "molecules": MoleculesAdapter,
    "molecules-fx": MoleculesEffectAdapter,
    "molecules-compiled": MoleculesCompiledAdapter,
    "molecules-fx-compiled": MoleculesCompiledEffectAdapter,
    "minimal": MinimalAdapter,
    "reaktiv": ReaktivAdapter,
    "observ": ObservAdapter,
    "psygnal": PsygnalAdapter,
    "rx": RxAdapter,
}

DISTRIBUTIONS = {
    "molecules": "runnable-bridge",
    "molecules-fx": "runnable-bridge",
    "molecules-compiled": "runnable-bridge",
    "molecules-fx-compiled": "runnable-bridge",
    "minimal": "runnable-bridge",
    "reaktiv": "reaktiv",
    "observ": "observ",
    "psygnal": "psygnal",
    "rx": "reactivex",
}


def probe(name: str) -> str | None:
    """None when the library's adapter can be built, else why not."""
    if name.endswith("-compiled"):
        # Not built here: this process may have imported the sources already.
        return compiled_build_missing()
    try:
        ADAPTERS[name]().dispose()
    except ImportError as error:
        return f"not installed ({error})"
    return None
