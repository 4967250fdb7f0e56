"""Jotai's vanilla-store tests on flushing, mounting, errors and store.set inside a read.

Ported from tests/vanilla/store.test.tsx through the public API (the contract
differences are listed in test_jotai_store.py). Jotai's `setTimeout` callbacks become
work scheduled on the running asyncio loop.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from molecules import Getter, Setter, Store, atom, derived


def _noop() -> None:
    pass


def _fail(*_: Any) -> Any:
    raise ValueError("error")


class _Count:
    """A listener that counts its calls (and may stand in for a cleanup)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: Any) -> None:
        self.count += 1


def test_listeners_run_after_the_whole_write_function() -> None:
    """should invoke flushPending only after all atoms are updated with set (#2804)"""
    store = Store()
    a = atom(0)
    log: list[str] = []

    def write(get: Getter, set: Setter, value: int) -> None:
        log.append("before set")
        set(a, value)
        log.append("after set")

    w = derived(write=write)
    store.sub(a, lambda: log.append(f"a changed {store.get(a)}"))
    store.set(w, 1)
    assert log == ["before set", "after set", "a changed 1"]


def test_listeners_run_after_the_whole_on_mount() -> None:
    """should invoke flushPending only after all atoms are updated with mount (#2804)"""
    store = Store()
    a = atom(0)
    log: list[str] = []

    def on_mount(set_self: Callable[..., Any]) -> None:
        log.append("before setSelf")
        set_self(1)
        log.append("after setSelf")

    m = derived(write=lambda get, set, value: set(a, value), on_mount=on_mount)
    store.sub(a, lambda: log.append(f"a changed {store.get(a)}"))
    store.sub(m, _noop)
    assert log == ["before setSelf", "after setSelf", "a changed 1"]


def test_write_in_on_unmount_cleanup_is_delivered_at_once() -> None:
    """should flush only after all atoms are updated with unmount (#2804): a difference.

    Jotai delivers the listener after the cleanup returns; here cleanups run outside the
    lock once the unmount committed, so a write they make is delivered within it.
    """
    store = Store()
    a = atom(0)
    log: list[str] = []

    def on_mount(set_self: Callable[..., Any]) -> Callable[[], None]:
        def cleanup() -> None:
            log.append("cleanup before set")
            set_self(1)
            log.append("cleanup after set")

        return cleanup

    b = derived(write=lambda get, set, value: set(a, value), on_mount=on_mount)
    c = atom(True)
    d = derived(lambda get: get(c) and get(b))
    store.sub(a, lambda: log.append(f"a changed {store.get(a)}"))
    store.sub(d, _noop)
    assert store.get(d) is None
    store.set(c, False)
    assert log == ["cleanup before set", "a changed 1", "cleanup after set"]


def test_a_cleanup_write_uses_the_current_flush() -> None:
    """should use the correct pending on unmount"""
    store = Store()
    a = atom(0)
    b = derived(
        lambda get: 0,
        lambda get, set, value: set(a, value),
        on_mount=lambda set_self: lambda: set_self(1),
    )
    listener = _Count()
    store.sub(a, listener)
    unsubscribe = store.sub(b, _noop)
    unsubscribe()
    assert store.get(a) == 1
    assert listener.count == 1


def test_a_write_in_on_mount_notifies_but_one_in_its_cleanup_does_not() -> None:
    """should call subscribers after setAtom updates atom value on mount but not on unmount"""
    store = Store()
    unmounts = _Count()

    def on_mount(set_self: Callable[..., Any]) -> Callable[[], None]:
        set_self(1)

        def cleanup() -> None:
            unmounts()
            set_self(2)

        return cleanup

    a = atom(0, on_mount=on_mount)
    listener = _Count()
    unsubscribe = store.sub(a, listener)
    assert store.get(a) == 1
    assert listener.count == 1
    unsubscribe()
    assert store.get(a) == 2
    assert unmounts.count == 1
    assert listener.count == 1


def test_a_graph_deeper_than_the_recursion_limit_mounts_and_updates() -> None:
    """processes deep atom a graph beyond maxDepth (and get, which Jotai cannot yet)"""
    depth = sys.getrecursionlimit() + 10
    base = atom(0)
    last: Any = base
    for _ in range(depth):
        last = derived(lambda get, previous=last: get(previous))
    store = Store()
    store.sub(last, _noop)
    store.set(base, 1)
    assert store.get(last) == 1


def test_a_mounted_atom_is_recomputed_before_listeners_run() -> None:
    """mounted atom should be recomputed eagerly"""
    log: list[str] = []
    a = atom(0)

    def read(get: Getter) -> int:
        log.append("b read")
        return get(a)  # type: ignore[no-any-return]

    b = derived(read)
    store = Store()
    store.sub(a, lambda: log.append("a listener"))
    store.sub(b, lambda: log.append("b listener"))
    assert log == ["b read"]
    log.clear()
    store.set(a, 1)
    assert log == ["b read", "a listener", "b listener"]


def test_reading_inside_a_write_still_notifies() -> None:
    """should notify subscription even with reading atom in write"""
    a = atom(1)
    b = derived(lambda get: get(a) * 2)
    c = derived(lambda get: get(b) + 1)

    def write(get: Getter, set: Setter) -> None:
        set(a, 2)
        get(b)

    store = Store()
    listener = _Count()
    store.sub(c, listener)
    store.set(derived(write=write))
    assert listener.count == 1


def test_an_unmounted_reader_is_not_recomputed_by_later_writes() -> None:
    """recomputes dependents of unmounted atoms"""
    a = atom(0)
    reads = _Count()
    b = derived(lambda get: (reads(), get(a))[1])
    c = derived(lambda get: get(b))

    def write(get: Getter, set: Setter) -> None:
        set(a, 1)
        get(c)
        set(a, 2)
        reads.count = 0

    store = Store()
    store.set(derived(write=write))
    assert reads.count == 0


def test_all_changed_dependents_recompute_together() -> None:
    """recomputes all changed atom dependents together"""
    a, b = atom([0]), atom([0])
    a0 = derived(lambda get: get(a)[0])
    b0 = derived(lambda get: get(b)[0])
    both = derived(lambda get: [get(a0), get(b0)])

    def write(get: Getter, set: Setter) -> None:
        set(a, [0])
        set(b, [1])

    store = Store()
    store.sub(both, _noop)
    store.set(derived(write=write))
    assert (store.get(a0), store.get(b0), store.get(both)) == (0, 1, [0, 1])


def test_writes_from_on_mount_and_its_cleanup_do_not_loop() -> None:
    """should not inf on subscribe or unsubscribe"""
    store = Store()
    count = atom(0)

    def on_mount(set_self: Callable[..., Any]) -> Callable[[], None]:
        setter = set_self()
        setter(count, 1)
        return lambda: setter(count, 2)

    effect_atom = derived(lambda get: get(count), lambda get, set: set, on_mount=on_mount)
    unsubscribe = store.sub(effect_atom, _noop)
    assert store.get(count) == 1
    unsubscribe()
    assert store.get(count) == 2


def test_a_listener_may_write_its_own_atom() -> None:
    """supports recursion in an atom subscriber"""
    store = Store()
    a = atom(0)

    def listener() -> None:
        if store.get(a) < 3:
            store.set(a, store.get(a) + 1)

    store.sub(a, listener)
    store.set(a, 1)
    assert store.get(a) == 3


def test_on_mount_may_subscribe_to_another_atom() -> None:
    """allows subscribing to atoms during mount"""
    store = Store()
    mounted: list[bool] = []
    b = atom(0, on_mount=lambda set_self: mounted.append(True))
    a = atom(0, on_mount=lambda set_self: store.sub(b, _noop) and None)
    store.sub(a, _noop)
    assert mounted == [True]


def test_reading_a_derived_atom_between_two_writes() -> None:
    """updates with reading derived atoms (#2959)"""
    store = Store()
    count = atom(0)
    mirror = derived(lambda get: get(count))

    def write(get: Getter, set: Setter) -> None:
        set(count, 1)
        get(mirror)
        set(count, 2)

    store.sub(mirror, _noop)
    store.set(derived(write=write))
    assert store.get(mirror) == 2


def test_a_dirty_atom_read_in_a_write_keeps_its_dependents() -> None:
    """updates dependents when it eagerly recomputes dirty atoms"""
    count, active = atom(0), atom(False)
    active_count = derived(lambda get: get(count) if get(active) else None)

    def activate(get: Getter, set: Setter, value: bool) -> None:
        set(active, value)
        get(active_count)

    store = Store()
    store.sub(active_count, _noop)
    store.set(derived(write=activate), True)
    store.set(count, 1)
    assert store.get(active_count) == 1
