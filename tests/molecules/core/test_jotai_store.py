"""Jotai's vanilla-store tests (tests/vanilla/store.test.tsx), ported through the public API.

Each test keeps Jotai's name (and issue number) in its docstring. Contract differences,
where a Jotai test cannot hold here as written:

* No updater functions: Jotai's `set(a, c => c + 1)` is `set(a, get(a) + 1)` here.
* `on_mount` is an argument of `atom(...)`, not a property set afterwards.
* Mounted atoms are inspected with `store.is_mounted`, not dev-store hooks.
* A write made from an `on_mount` cleanup is delivered at once (cleanups run outside
  the lock, after the unmount committed), where Jotai defers its listeners until the
  cleanup returns (test_write_in_on_unmount_cleanup_is_delivered_at_once).
* Promises: an async read gives an asyncio future; "the same promise" cases are about
  the identity of a written value, which holds for any value here.
* Store hooks, `onInit`, building blocks and dev warnings are Jotai internals with no
  counterpart; those tests are not ported.

docs/jotai-tests.md lists every Jotai test and where it is ported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from molecules import Getter, Setter, Store, atom, derived


def _noop() -> None:
    pass


class Calls:
    """A listener or read wrapper that counts its calls."""

    def __init__(self, fn: Callable[..., Any] | None = None) -> None:
        self.count = 0
        self.fn = fn

    def __call__(self, *args: Any) -> Any:
        self.count += 1
        return self.fn(*args) if self.fn is not None else None


def test_subscribing_does_not_fire_the_listener() -> None:
    """should not fire on subscribe"""
    store = Store()
    count = atom(0)
    first, second = Calls(), Calls()
    store.sub(count, first)
    store.sub(count, second)
    assert (first.count, second.count) == (0, 0)


def test_setting_an_equal_primitive_value_fires_nothing() -> None:
    """should not fire subscription if primitive atom value is the same"""
    store = Store()
    count = atom(0)
    listener = Calls()
    store.sub(count, listener)
    store.set(count, 0)
    assert listener.count == 0


def test_an_equal_derived_value_fires_nothing() -> None:
    """should not fire subscription if derived atom value is the same"""
    store = Store()
    count = atom(0)
    zero = derived(lambda get: get(count) * 0)
    listener = Calls()
    store.sub(zero, listener)
    store.set(count, 1)
    assert listener.count == 0


def test_unsubscribing_after_a_get_unmounts() -> None:
    """should unmount with store.get"""
    store = Store()
    count = atom(0)
    unsubscribe = store.sub(count, _noop)
    store.get(count)
    unsubscribe()
    assert not store.is_mounted(count)


def test_unsubscribing_unmounts_dependencies_too() -> None:
    """should unmount dependencies with store.get"""
    store = Store()
    count = atom(0)
    double = derived(lambda get: get(count) * 2)
    unsubscribe = store.sub(double, _noop)
    store.get(double)
    unsubscribe()
    assert not store.is_mounted(double)
    assert not store.is_mounted(count)


async def test_async_read_started_before_a_write_settles_with_the_new_value() -> None:
    """should update async atom with delay (#1813)"""
    count = atom(0)

    async def read(get: Getter) -> int:
        value = get(count)
        await asyncio.sleep(0.01)
        return value

    delayed = derived(read)
    store = Store()
    store.get(delayed)
    store.set(count, 1)
    assert await store.get(delayed) == 1


async def test_a_written_awaitable_is_returned_as_is() -> None:
    """should override a promise by setting"""
    store = Store()
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[int] = loop.create_future()
    value = atom(pending)
    store.set(value, pending)
    assert store.get(value) is pending
    done: asyncio.Future[int] = loop.create_future()
    done.set_result(1)
    store.set(value, done)
    assert await store.get(value) == 1


async def test_async_chain_with_reads_after_await_follows_each_write() -> None:
    """should update async atom with deps after await (#1905)"""
    count = atom(0)

    async def delayed_read(get: Getter) -> int:
        await asyncio.sleep(0.001)
        return get(count)

    delayed = derived(delayed_read)

    async def outer_read(get: Getter) -> int:
        return await get(delayed)  # type: ignore[no-any-return]

    outer = derived(outer_read)
    store = Store()
    last = [store.get(outer)]
    unsubscribe = store.sub(outer, lambda: last.append(store.get(outer)))
    for value in (1, 2, 3):
        store.set(count, value)
        await asyncio.sleep(0.01)
        assert await last[-1] == value
    unsubscribe()


def test_setting_the_same_awaitable_again_fires_nothing() -> None:
    """should not fire subscription when async atom promise is the same"""
    token = object()
    source = atom(token)
    read = Calls(lambda get: get(source))
    dependent = derived(read)
    store = Store()
    source_listener, dependent_listener = Calls(), Calls()
    store.sub(source, source_listener)
    store.sub(dependent, dependent_listener)
    store.get(source)
    store.get(dependent)
    store.set(source, token)
    store.set(source, token)
    assert read.count == 1
    assert (source_listener.count, dependent_listener.count) == (0, 0)


def test_tree_dependencies_notify_each_subscriber() -> None:
    """should notify subscription with tree dependencies (#1956)"""
    value = atom(1)
    dep1 = derived(lambda get: get(value) * 2)
    dep2 = derived(lambda get: get(value) + get(dep1))
    dep3 = derived(lambda get: get(dep1))
    listener = Calls()
    store = Store()
    store.sub(dep2, _noop)
    store.sub(dep3, listener)
    assert store.get(dep3) == 2
    store.set(value, store.get(value) + 1)
    assert listener.count == 1
    assert store.get(dep3) == 4


def test_tree_dependencies_with_a_bail_out_notify() -> None:
    """should notify subscription with tree dependencies with bail-out"""
    value = atom(1)
    dep1 = derived(lambda get: get(value) * 2)
    dep2 = derived(lambda get: get(value) * 0)
    dep3 = derived(lambda get: get(dep1) + get(dep2))
    listener = Calls()
    store = Store()
    store.sub(dep1, _noop)
    store.sub(dep3, listener)
    assert store.get(dep3) == 2
    store.set(value, 2)
    assert listener.count == 1
    assert store.get(dep3) == 4


def test_an_equal_value_bails_out_of_a_chained_dependency() -> None:
    """should bail out with the same value with chained dependency (#2014)"""
    store = Store()
    obj = atom({"count": 1})
    count = derived(lambda get: get(obj)["count"])
    derive = Calls(lambda get: get(count))
    middle = derived(derive)

    def further_read(get: Getter) -> Any:
        get(obj)  # an extra dependency on purpose
        return get(middle)

    further = Calls(further_read)
    last = derived(further)
    listener = Calls()
    store.sub(last, listener)
    assert store.get(middle) == 1
    assert store.get(last) == 1
    assert (listener.count, derive.count, further.count) == (0, 1, 1)
    store.set(obj, {**store.get(obj)})  # equal dict: no change here (Jotai: new object)
    store.set(obj, {"count": 1, "other": True})
    assert (listener.count, derive.count, further.count) == (0, 1, 2)


def test_unmounted_atoms_are_not_read_on_write() -> None:
    """should not call read function for unmounted atoms (#2076)"""
    store = Store()
    count = atom(1)
    read1 = Calls(lambda get: get(count))
    read2 = Calls(lambda get: get(count))
    first, second = derived(read1), derived(read2)
    assert store.get(first) == 1
    assert store.get(second) == 1
    store.sub(second, _noop)
    store.set(count, 2)
    assert (read1.count, read2.count) == (1, 2)


def test_conditional_dependencies_update() -> None:
    """should update with conditional dependencies (#2084)"""
    store = Store()
    f1, f2 = atom(False), atom(False)

    def write(get: Getter, set: Setter, value: bool) -> None:
        set(f1, value)
        set(f2, value)

    f3 = derived(lambda get: get(f1) and get(f2), write)
    for a in (f1, f2, f3):
        store.sub(a, _noop)
    store.set(f3, True)
    assert store.get(f3) is True


def test_dependents_recompute_after_on_mount() -> None:
    """should recompute dependents' state after onMount (#2098)"""
    store = Store()
    cond = atom(False)
    base = atom(False, on_mount=lambda set_self: set_self(True))
    middle = derived(lambda get: get(base), lambda get, set, value: set(base, value))
    final = derived(
        lambda get: get(middle) if get(cond) else None,
        lambda get, set, value: set(middle, value),
    )
    store.sub(final, _noop)
    assert (store.get(base), store.get(middle), store.get(final)) == (False, False, None)
    store.set(cond, True)
    assert (store.get(base), store.get(middle), store.get(final)) == (True, True, True)
    store.set(final, False)
    assert (store.get(base), store.get(middle), store.get(final)) == (False, False, False)


def test_derived_atoms_are_up_to_date_inside_a_write() -> None:
    """should update derived atoms during write (#2107)"""
    store = Store()
    base = atom(1)

    def write(get: Getter, set: Setter, value: int) -> None:
        set(base, value)
        if get(count) != value:
            raise AssertionError("mismatch")

    count: Any = derived(lambda get: get(base), write)
    store.sub(count, _noop)
    assert store.get(count) == 1
    store.set(count, 2)
    assert store.get(count) == 2


def test_an_unchanged_derived_value_does_not_recompute_its_dependent() -> None:
    """should not recompute a derived atom value if unchanged (#2168)"""
    store = Store()
    count = atom(1)
    zero = derived(lambda get: get(count) * 0)
    read = Calls(lambda get: get(zero))
    last = derived(read)
    assert store.get(last) == 0
    store.set(count, 2)
    assert store.get(last) == 0
    assert read.count == 1


def test_an_atom_made_inside_a_read_mounts_its_source_once() -> None:
    """should mount once with atom creator atom (#2314)"""
    mounts = Calls(lambda set_self: set_self(2))
    count = atom(1, on_mount=mounts)

    def creator(get: Getter) -> None:
        get(derived(lambda inner: inner(count)))

    store = Store()
    store.sub(derived(creator), _noop)
    assert mounts.count == 1


async def test_a_write_made_later_by_an_async_write_is_delivered() -> None:
    """should flush pending write triggered asynchronously and indirectly (#2451)"""
    store = Store()
    value = atom("initial")
    seen: list[str] = []
    unsubscribe = store.sub(value, lambda: seen.append(store.get(value)))
    indirect = derived(write=lambda get, set: set(value, "next"))

    async def action_write(get: Getter, set: Setter) -> None:
        await asyncio.sleep(0)
        set(indirect)

    action = derived(write=action_write)
    await store.set(action)
    assert seen == ["next"]
    unsubscribe()


def test_a_source_no_longer_read_is_unmounted() -> None:
    """Unmount an atom that is no longer dependent within a derived atom (#2658)"""
    cond = atom(True)
    unmounts = Calls()
    base = atom(0, on_mount=lambda set_self: unmounts)
    reader = derived(lambda get: get(base) if get(cond) else None)
    store = Store()
    store.sub(reader, _noop)
    store.set(cond, False)
    assert unmounts.count == 1


def test_a_derived_atom_updates_when_its_readers_dependencies_change() -> None:
    """should update derived atom even if dependencies changed (#2697)"""
    primitive: Any = atom(None)
    middle = derived(lambda get: get(primitive))
    conditional = derived(lambda get: get(middle) if get(primitive) else None)
    store = Store()
    changed = Calls()
    store.sub(middle, changed)
    store.sub(conditional, _noop)
    store.set(primitive, 1)
    assert changed.count == 1
