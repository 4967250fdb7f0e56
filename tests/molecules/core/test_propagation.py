"""Laziness, per-run dependency tracking, glitch-free propagation, equality cut-off, batching."""

from __future__ import annotations

from collections import Counter
from typing import Any

from molecules import Getter, Store, atom, derived


def test_unmounted_derived_atom_is_lazy() -> None:
    store = Store()
    runs = Counter[str]()
    count = atom(0)

    def read(get: Getter) -> int:
        runs["d"] += 1
        return get(count) + 1

    d = derived(read)
    store.set(count, 1)
    store.set(count, 2)
    assert runs["d"] == 0
    assert store.get(d) == 3
    assert store.get(d) == 3
    assert runs["d"] == 1


def test_derived_recomputes_only_when_a_dependency_changed() -> None:
    store = Store()
    runs = Counter[str]()
    a, b = atom(1), atom(1)

    def read(get: Getter) -> int:
        runs["d"] += 1
        return get(a)

    d = derived(read)
    store.get(d)
    store.set(b, 2)
    store.get(d)
    assert runs["d"] == 1


def test_branch_not_taken_is_not_a_dependency() -> None:
    store = Store()
    runs = Counter[str]()
    flag, left, right = atom(True), atom("L"), atom("R")

    def read(get: Getter) -> str:
        runs["pick"] += 1
        return get(left) if get(flag) else get(right)

    pick = derived(read)
    seen: list[str] = []
    store.sub(pick, lambda: seen.append(store.get(pick)))
    store.set(right, "R2")
    assert runs["pick"] == 1  # right was not read: not a dependency
    store.set(flag, False)
    assert seen == ["R2"]
    store.set(left, "L2")
    assert runs["pick"] == 2  # left is no longer a dependency
    assert seen == ["R2"]


def test_diamond_recomputes_each_node_once_and_listener_sees_consistent_values() -> None:
    store = Store()
    runs = Counter[str]()
    head = atom(1)

    def node(name: str, fn: Any) -> Any:
        def read(get: Getter) -> Any:
            runs[name] += 1
            return fn(get)

        return derived(read)

    left = node("left", lambda get: get(head) + 1)
    right = node("right", lambda get: get(head) * 10)
    bottom = node("bottom", lambda get: (get(left), get(right)))
    seen: list[tuple[int, int]] = []
    store.sub(bottom, lambda: seen.append(store.get(bottom)))
    runs.clear()
    store.set(head, 2)
    assert runs == Counter({"left": 1, "right": 1, "bottom": 1})
    assert seen == [(3, 20)]  # never (3, 10) or (2, 20)


def test_deep_chain_with_side_branches_recomputes_once_per_set() -> None:
    store = Store()
    runs = Counter[int]()
    head = atom(0)
    level = [head]
    for i in range(1, 20):
        prev = level[-1]

        def read(get: Getter, prev: Any = prev, i: int = i) -> int:
            runs[i] += 1
            return get(prev) + get(head)

        level.append(derived(read))
    calls: list[int] = []
    store.sub(level[-1], lambda: calls.append(store.get(level[-1])))
    runs.clear()
    store.set(head, 1)
    assert set(runs.values()) == {1}
    assert calls == [20]


def test_write_atom_that_sets_several_atoms_notifies_once() -> None:
    store = Store()
    a, b = atom(0), atom(0)
    total = derived(lambda get: get(a) + get(b))

    def both_write(get: Any, set: Any, v: int) -> None:
        set(a, v)
        set(b, v)

    both = derived(write=both_write)
    seen: list[int] = []
    store.sub(total, lambda: seen.append(store.get(total)))
    store.set(both, 5)
    assert seen == [10]


def test_equality_cuts_propagation_off() -> None:
    store = Store()
    runs = Counter[str]()
    n = atom(1)
    parity = derived(lambda get: get(n) % 2)

    def read(get: Getter) -> str:
        runs["label"] += 1
        return "odd" if get(parity) else "even"

    label = derived(read)
    calls: list[None] = []
    store.sub(label, lambda: calls.append(None))
    runs.clear()
    store.set(n, 3)
    assert runs["label"] == 0
    assert calls == []


def test_batch_notifies_once_with_the_final_value() -> None:
    store = Store()
    count = atom(0)
    double = derived(lambda get: get(count) * 2)
    seen: list[int] = []
    store.sub(double, lambda: seen.append(store.get(double)))
    with store.batch():
        for i in range(1, 6):
            store.set(count, i)
        assert seen == []
    assert seen == [10]


def test_batch_that_ends_where_it_started_does_not_notify() -> None:
    store = Store()
    count = atom(0)
    calls: list[None] = []
    store.sub(count, lambda: calls.append(None))
    with store.batch():
        store.set(count, 1)
        store.set(count, 0)
    assert calls == []


def test_nested_batches_flush_at_the_outermost() -> None:
    store = Store()
    count = atom(0)
    seen: list[int] = []
    store.sub(count, lambda: seen.append(store.get(count)))
    with store.batch():
        with store.batch():
            store.set(count, 1)
        assert seen == []
        store.set(count, 2)
    assert seen == [2]


def test_read_inside_batch_sees_the_latest_writes() -> None:
    store = Store()
    count = atom(0)
    double = derived(lambda get: get(count) * 2)
    store.sub(double, lambda: None)
    with store.batch():
        store.set(count, 4)
        assert store.get(double) == 8


def test_listener_reentrant_write_settles() -> None:
    store = Store()
    count = atom(0)

    def listener() -> None:
        if store.get(count) < 3:
            store.set(count, store.get(count) + 1)

    store.sub(count, listener)
    store.set(count, 1)
    assert store.get(count) == 3


def test_listener_of_another_atom_sees_reentrant_write_once() -> None:
    store = Store()
    a, b = atom(0), atom(0)
    seen_b: list[int] = []
    store.sub(a, lambda: store.set(b, store.get(a) * 10))
    store.sub(b, lambda: seen_b.append(store.get(b)))
    store.set(a, 1)
    store.set(a, 2)
    assert seen_b == [10, 20]
