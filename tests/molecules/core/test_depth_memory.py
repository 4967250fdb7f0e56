"""No recursion per node, and no memory kept for atoms nobody holds."""

from __future__ import annotations

import gc
import sys
import tracemalloc
import weakref
from typing import Any

from molecules import Atom, Store, atom, atom_family, derived


def _chain(depth: int) -> tuple[Atom[int], Atom[int]]:
    head = atom(0)
    node: Atom[int] = head
    for _ in range(depth):
        node = derived(lambda get, prev=node: get(prev) + 1)
    return head, node


def test_ten_thousand_deep_chain_works_for_get_set_and_sub() -> None:
    assert sys.getrecursionlimit() <= 1000  # the default: no deeper stack is needed
    store = Store()
    head, tail = _chain(10_000)
    assert store.get(tail) == 10_000
    store.set(head, 1)
    assert store.get(tail) == 10_001
    seen: list[int] = []
    unsub = store.sub(tail, lambda: seen.append(store.get(tail)))
    store.set(head, 2)
    assert seen == [10_002]
    unsub()
    store.set(head, 3)
    assert store.get(tail) == 10_003


def test_ten_thousand_deep_chain_subscribed_cold() -> None:
    store = Store()
    head, tail = _chain(10_000)
    seen: list[int] = []
    store.sub(tail, lambda: seen.append(store.get(tail)))
    store.set(head, 5)
    assert seen == [10_005]


def test_unmounted_atom_is_collectable() -> None:
    store = Store()
    source = atom(1)
    d = derived(lambda get: get(source) + 1)
    assert store.get(d) == 2
    unsub = store.sub(d, lambda: None)
    unsub()
    ref = weakref.ref(d)
    del d
    gc.collect()
    assert ref() is None


def test_mounted_atom_is_kept_alive_by_the_store() -> None:
    store = Store()
    source = atom(1)
    store.sub(derived(lambda get: get(source) + 1), lambda: None)
    gc.collect()
    assert len(store._mounted) == 2


def test_family_members_removed_give_memory_back() -> None:
    # The store and the family stay alive while memory is measured: what is given back
    # must be given back by `remove`, not by everything going out of scope.
    store = Store()
    family = atom_family(lambda i: derived(lambda get, i=i: i))
    for i in range(1000):  # warm caches and interned objects
        store.get(family(i))
        family.remove(i)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        sample = []
        for i in range(100_000):
            store.get(family(i))
            if i % 1000 == 0:
                sample.append(weakref.ref(family(i)))
        grown = tracemalloc.get_traced_memory()[0]
        for i in range(100_000):
            family.remove(i)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert grown - before > 10_000_000  # the members really took memory
    assert len(family) == 0
    assert [ref() for ref in sample] == [None] * len(sample)  # gone from family and store
    assert after - before < 1_000_000, f"{after - before} bytes still held"


def test_derived_node_costs_at_most_800_bytes() -> None:
    store = Store()
    head = atom(0)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        nodes: list[Any] = []
        for i in range(10_000):
            d = derived(lambda get, i=i: get(head) + i)
            store.get(d)
            nodes.append(d)
        store.sub(nodes[-1], lambda: None)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    per_node = (after - before) / 10_000
    assert per_node <= 800, f"{per_node:.0f} bytes per derived node"
