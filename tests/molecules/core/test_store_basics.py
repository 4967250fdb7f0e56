"""Primitive, derived, writable and write-only atoms; set/get/sub basics."""

from __future__ import annotations

from typing import Any

import pytest

from molecules import NotWritableError, Store, atom, derived


def test_primitive_atom_reads_initial_and_written_value() -> None:
    store = Store()
    count = atom(1)
    assert store.get(count) == 1
    store.set(count, 5)
    assert store.get(count) == 5


def test_derived_atom_follows_its_dependency() -> None:
    store = Store()
    count = atom(2)
    double = derived(lambda get: get(count) * 2)
    assert store.get(double) == 4
    store.set(count, 10)
    assert store.get(double) == 20


def test_writable_derived_atom_routes_writes() -> None:
    store = Store()
    count = atom(3)
    clamp = derived(lambda get: get(count), lambda get, set, v: set(count, max(0, v)))
    store.set(clamp, -7)
    assert store.get(count) == 0
    assert store.get(clamp) == 0


def test_write_only_atom_returns_what_its_write_returns() -> None:
    store = Store()
    count = atom(0)

    def bump_write(get: Any, set: Any, by: int = 1) -> int:
        set(count, get(count) + by)
        return get(count)

    bump = derived(write=bump_write)
    assert store.set(bump, 5) == 5
    assert store.set(bump) == 6
    assert store.get(bump) is None


def test_same_atom_in_two_stores_holds_two_values() -> None:
    count = atom(0)
    one, two, three = Store(), Store(), Store()
    one.set(count, 1)
    two.set(count, 2)
    assert (one.get(count), two.get(count), three.get(count)) == (1, 2, 0)


def test_read_only_atom_refuses_writes_with_a_clear_error() -> None:
    store = Store()
    ro = derived(lambda get: 1, name="ro")
    with pytest.raises(NotWritableError, match=r"ro.*read-only"):
        store.set(ro, 2)


def test_primitive_set_needs_exactly_one_value() -> None:
    store = Store()
    count = atom(0, name="count")
    with pytest.raises(NotWritableError, match="exactly one value"):
        store.set(count, 1, 2)
    assert store.get(count) == 0


def test_listener_called_after_change_and_not_after_unsubscribe() -> None:
    store = Store()
    count = atom(0)
    seen: list[int] = []
    unsub = store.sub(count, lambda: seen.append(store.get(count)))
    store.set(count, 1)
    store.set(count, 2)
    unsub()
    store.set(count, 3)
    assert seen == [1, 2]
    unsub()  # a second unsubscribe is harmless


def test_equal_write_does_not_notify() -> None:
    store = Store()
    items = atom([1, 2])
    calls: list[None] = []
    store.sub(items, lambda: calls.append(None))
    store.set(items, [1, 2])
    assert calls == []


def test_custom_eq_decides_what_counts_as_change() -> None:
    store = Store()
    text = atom("a", eq=lambda old, new: old.lower() == new.lower())
    calls: list[None] = []
    store.sub(text, lambda: calls.append(None))
    store.set(text, "A")
    assert calls == []
    assert store.get(text) == "a"  # the old object is kept while equal
    store.set(text, "b")
    assert calls == [None]


def test_eq_that_raises_counts_as_different() -> None:
    class Weird:
        def __eq__(self, other: object) -> bool:
            raise ValueError("no comparison")

        __hash__ = object.__hash__

    store = Store()
    box = atom(Weird())
    calls: list[None] = []
    store.sub(box, lambda: calls.append(None))
    store.set(box, Weird())
    assert calls == [None]


def test_refresh_recomputes_a_derived_atom_and_notifies_on_change() -> None:
    store = Store()
    source = {"value": 1}
    external = derived(lambda get: source["value"])
    seen: list[int] = []
    assert store.get(external) == 1
    source["value"] = 2
    assert store.get(external) == 1  # cached: nothing it reads changed
    store.refresh(external)
    assert store.get(external) == 2
    store.sub(external, lambda: seen.append(store.get(external)))
    source["value"] = 3
    store.refresh(external)
    assert seen == [3]
