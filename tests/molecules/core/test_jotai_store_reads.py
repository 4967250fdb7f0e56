"""Jotai's vanilla-store tests: reads that call `store.set`, and reads that return functions.

Ported from tests/vanilla/store.test.tsx through the public API (the contract
differences are listed in test_jotai_store.py). Jotai's `setTimeout` callbacks become
work scheduled on the running asyncio loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from molecules import Getter, Store, atom, derived


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


def test_a_function_value_that_calls_get_stays_reactive() -> None:
    """should keep reactivity when a derived atom returns a function that calls get (#3240)"""
    store = Store()
    stable, changing = atom(0), atom(0)
    closure = derived(lambda get: lambda x: x + get(stable))
    upstream = derived(lambda get: get(closure)(get(changing)))
    downstream = derived(lambda get: get(upstream) * 2)
    listener = _Count()
    store.sub(downstream, listener)
    assert (store.get(upstream), store.get(downstream)) == (0, 0)
    store.set(changing, 1)
    assert (store.get(upstream), store.get(downstream), listener.count) == (1, 2, 1)
    store.set(changing, 2)
    assert (store.get(upstream), store.get(downstream), listener.count) == (2, 4, 2)


def test_a_read_that_calls_store_set_keeps_notifying() -> None:
    """notifies derived-atom subscriber when read calls store.set"""
    store = Store()
    counter = atom(0)
    query = derived(write=lambda get, set, v: v)
    data = derived(lambda get: store.set(query, get(counter) * 2))
    listener = _Count()
    store.sub(data, listener)
    assert (store.get(data), listener.count) == (0, 0)
    store.set(counter, 1)
    assert (store.get(data), listener.count) == (2, 1)
    store.set(counter, 2)
    assert (store.get(data), listener.count) == (4, 2)


def test_a_read_that_calls_store_set_notifies_through_a_chain() -> None:
    """notifies subscriber through chain of derived atoms when root calls store.set"""
    store = Store()
    counter = atom(0)
    query = derived(write=lambda get, set, v: v)
    base = derived(lambda get: store.set(query, get(counter) * 2))
    doubled = derived(lambda get: get(base) * 2)
    listener = _Count()
    store.sub(doubled, listener)
    store.set(counter, 1)
    assert (store.get(doubled), listener.count) == (4, 1)


def test_a_read_that_calls_store_set_twice_keeps_notifying() -> None:
    """notifies subscriber when read calls store.set multiple times"""
    store = Store()
    counter = atom(0)
    query1 = derived(write=lambda get, set, v: v)
    query2 = derived(write=lambda get, set, v: v * 10)

    def read(get: Getter) -> Any:
        v = get(counter)
        return store.set(query1, v) + store.set(query2, v)

    data = derived(read)
    listener = _Count()
    store.sub(data, listener)
    store.set(counter, 1)
    assert (store.get(data), listener.count) == (11, 1)
    store.set(counter, 2)
    assert (store.get(data), listener.count) == (22, 2)


def test_a_nested_write_that_reads_an_atom_calling_store_set_keeps_notifying() -> None:
    """notifies subscriber when nested write uses get to read atom with store.set"""
    store = Store()
    counter = atom(0)
    inner_query = derived(write=lambda get, set, v: v)
    middle = derived(lambda get: store.set(inner_query, get(counter) * 3))
    outer_query = derived(write=lambda get, set, v: v + get(middle))
    data = derived(lambda get: store.set(outer_query, get(counter) * 2))
    listener = _Count()
    store.sub(data, listener)
    assert (store.get(data), listener.count) == (0, 0)
    store.set(counter, 1)
    assert (store.get(data), listener.count) == (5, 1)
    store.set(counter, 2)
    assert (store.get(data), listener.count) == (10, 2)


async def test_an_async_read_that_calls_store_set_before_await_keeps_notifying() -> None:
    """notifies async derived-atom subscriber when read calls store.set before await"""
    store = Store()
    counter = atom(0)
    query = derived(write=lambda get, set, v: v)

    async def read(get: Getter) -> Any:
        result = store.set(query, get(counter) * 2)
        await asyncio.sleep(0)
        return result

    data = derived(read)
    last: list[Any] = []
    store.sub(data, lambda: last.append(store.get(data)))
    await asyncio.sleep(0.01)
    assert await store.get(data) == 0
    store.set(counter, 1)
    await asyncio.sleep(0.01)
    assert await last[-1] == 2
    store.set(counter, 2)
    await asyncio.sleep(0.01)
    assert await last[-1] == 4


def test_store_set_inside_a_write_function_called_from_a_read_notifies() -> None:
    """notifies subscriber normally when store.set is in write function, not read"""
    store = Store()
    counter = atom(0)
    inner_query = derived(write=lambda get, set, v: v)
    query = derived(write=lambda get, set, v: store.set(inner_query, v))
    data = derived(lambda get: store.set(query, get(counter) * 2))
    listener = _Count()
    store.sub(data, listener)
    store.set(counter, 1)
    assert (store.get(data), listener.count) == (2, 1)
    store.set(counter, 2)
    assert (store.get(data), listener.count) == (4, 2)


def test_store_set_before_reading_a_dependency_recovers() -> None:
    """store.set before get(dep) causes deep recursion but recovers"""
    store = Store()
    counter = atom(0)
    query = derived(write=lambda get, set, v: v)
    data = derived(lambda get: store.set(query, 1) + get(counter))
    listener = _Count()
    store.sub(data, listener)
    assert store.get(data) == 1
    store.set(counter, 1)
    assert store.get(data) == 2
    assert listener.count >= 1


def test_store_set_returning_a_value_in_reads_recomputes_nothing_twice() -> None:
    """does not recompute derived atom redundantly when store.set in read uses return value
    without setting atoms"""
    store = Store()
    counter = atom(0)
    query = derived(write=lambda get, set, v: v)
    base_reads, derived_reads = _Count(), _Count()
    base = derived(lambda get: (base_reads(), store.set(query, get(counter) * 2))[1])
    base2 = derived(lambda get: store.set(query, get(counter) * 2))

    def read(get: Getter) -> Any:
        derived_reads()
        get(base)
        get(base2)
        return get(counter)

    top = derived(read)
    listener = _Count()
    store.sub(top, listener)
    assert store.get(top) == 0
    assert (base_reads.count, derived_reads.count) == (1, 1)
    base_reads.count = derived_reads.count = 0
    store.set(counter, 1)
    assert store.get(top) == 1
    assert (listener.count, base_reads.count, derived_reads.count) == (1, 1, 1)
