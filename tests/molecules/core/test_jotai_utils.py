"""Jotai's utility tests (tests/vanilla/utils/: atomFamily, atomWithDefault, atomWithReset,
atomWithRefresh, atomWithLazy), ported through the public API.

Each test keeps Jotai's file and test name in its docstring. Differences:

* No updater functions: a function written to an atom is stored as the value, where
  Jotai calls it with the previous value (the "using a function" tests).
* `atom_family(..., key=fn)` maps a param to a hashable key, where Jotai takes an
  equality function over params.
* `atomWithRefresh` is `store.refresh(a)` here; `atomWithLazy(init)` is
  `atom_with_default(lambda get: init())`, which runs `init` on first read in each store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from molecules import (
    RESET,
    Atom,
    FamilyEvent,
    Store,
    atom,
    atom_family,
    atom_with_default,
    atom_with_reset,
    derived,
)


class _Factory:
    """A family factory making `atom(param)` that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, param: int) -> Atom[int]:
        self.calls += 1
        return atom(param)


def test_each_family_param_gets_its_own_atom() -> None:
    """atomFamily: should create atoms with different params"""
    store = Store()
    family = atom_family(lambda param: atom(param))
    assert (store.get(family(1)), store.get(family(2))) == (1, 2)


def test_a_removed_member_is_made_again_on_next_use() -> None:
    """atomFamily: should remove atoms"""
    store = Store()
    factory = _Factory()
    family = atom_family(factory)
    store.get(family(1))
    store.get(family(2))
    family.remove(2)
    factory.calls = 0
    assert store.get(family(1)) == 1
    assert factory.calls == 0
    assert store.get(family(2)) == 2
    assert factory.calls == 1


def test_a_removed_member_of_a_keyed_family_is_made_again() -> None:
    """atomFamily: should remove atoms with custom comparator (a difference: a key function)"""
    store = Store()
    factory = _Factory()
    family = atom_family(factory, key=lambda param: ("n", param))
    for param in (1, 2, 3):
        store.get(family(param))
    family.remove(2)
    factory.calls = 0
    assert store.get(family(1)) == 1
    assert factory.calls == 0
    assert store.get(family(2)) == 2
    assert factory.calls == 1


def test_should_remove_drops_matching_members_only() -> None:
    """atomFamily: should remove atoms with custom shouldRemove"""
    store = Store()
    factory = _Factory()
    family = atom_family(factory)
    for param in (1, 2, 3):
        store.get(family(param))
    family.set_should_remove(lambda created_at, param: param % 2 == 0)
    factory.calls = 0
    assert store.get(family(1)) == 1
    assert factory.calls == 0
    assert store.get(family(2)) == 2
    assert factory.calls == 1
    assert store.get(family(3)) == 3
    assert factory.calls == 1


def test_family_listeners_hear_create_and_remove_until_unlistened() -> None:
    """atomFamily: should notify listeners"""
    family = atom_family(lambda param: atom(param))
    events: list[FamilyEvent[int, Atom[int]]] = []
    unlisten = family.listen(events.append)
    first = family(1)
    family.remove(1)
    assert [(e.type, e.param, e.atom) for e in events] == [
        ("CREATE", 1, first),
        ("REMOVE", 1, first),
    ]
    unlisten()
    family(2)
    assert len(events) == 2


def test_a_family_lists_its_params_in_creation_order() -> None:
    """atomFamily: should return all params"""
    store = Store()
    family = atom_family(lambda param: atom(param))
    for param in (1, 2, 3):
        store.get(family(param))
    assert list(family.keys()) == [1, 2, 3]


def test_reset_restores_a_constant_default() -> None:
    """atomWithDefault: should reset to initial value using RESET"""
    a = atom_with_default(lambda get: 10)
    store = Store()
    store.set(a, 123)
    store.set(a, RESET)
    assert store.get(a) == 10


def test_reset_restores_the_current_derived_default() -> None:
    """atomWithDefault: should reset to initial value derived from another atom"""
    initial = atom(10)
    a = atom_with_default(lambda get: get(initial))
    store = Store()
    assert store.get(a) == 10
    store.set(a, 123)
    store.set(initial, 20)
    store.set(a, RESET)
    assert store.get(a) == 20


def test_an_unwritten_default_follows_its_source() -> None:
    """atomWithDefault: should reflect changes to the initial value atom when main atom
    hasn't been manually changed"""
    initial = atom(10)
    a = atom_with_default(lambda get: get(initial))
    store = Store()
    store.set(initial, 20)
    assert store.get(a) == 20


def test_a_reset_default_follows_its_source_again() -> None:
    """atomWithDefault: should reflect changes to the initial value atom when main atom has
    been manually changed but then RESET"""
    initial = atom(10)
    a = atom_with_default(lambda get: get(initial))
    store = Store()
    store.set(a, 123)
    store.set(a, RESET)
    store.set(initial, 20)
    assert store.get(a) == 20


def test_a_written_default_atom_holds_the_last_write() -> None:
    """atomWithDefault: should update atom with a new value"""
    a = atom_with_default(lambda get: 10)
    store = Store()
    store.set(a, 123)
    store.set(a, 30)
    assert store.get(a) == 30


def test_a_function_written_to_a_default_atom_is_its_value() -> None:
    """atomWithDefault: should update atom using a function (a difference: no updaters)"""
    a = atom_with_default(lambda get: 10)
    store = Store()
    store.set(a, 123)

    def add_ten(prev: int) -> int:
        return prev + 10

    store.set(a, add_ten)
    assert store.get(a) is add_ten


def test_a_function_returning_reset_is_a_value_too() -> None:
    """atomWithDefault: should reset with a function (a difference: no updaters)"""
    a = atom_with_default(lambda get: 10)
    store = Store()
    store.set(a, 123)

    def to_reset() -> Any:
        return RESET

    store.set(a, to_reset)
    assert store.get(a) is to_reset
    store.set(a, to_reset())
    assert store.get(a) == 10


def test_reset_restores_the_initial_value() -> None:
    """atomWithReset: should reset to initial value using RESET"""
    a = atom_with_reset(10)
    store = Store()
    store.set(a, 123)
    store.set(a, RESET)
    assert store.get(a) == 10


def test_a_resettable_atom_holds_the_last_write() -> None:
    """atomWithReset: should update atom with a new value"""
    a = atom_with_reset(10)
    store = Store()
    store.set(a, 123)
    store.set(a, 30)
    assert store.get(a) == 30


def test_a_function_written_to_a_resettable_atom_is_its_value() -> None:
    """atomWithReset: should update atom using a function (a difference: no updaters)"""
    a = atom_with_reset(10)
    store = Store()
    store.set(a, 123)

    def add_ten(prev: int) -> int:
        return prev + 10

    store.set(a, add_ten)
    assert store.get(a) is add_ten


def test_refresh_refuses_extra_arguments() -> None:
    """atomWithRefresh: [DEV-ONLY] throws when refresh is called with extra arguments"""
    store = Store()
    runs: list[int] = []
    a = derived(lambda get: runs.append(1))
    store.get(a)
    refresh: Callable[..., Any] = store.refresh
    with pytest.raises(TypeError):
        refresh(a, "some arg")
    store.refresh(a)
    store.get(a)
    assert len(runs) == 2


def test_a_lazy_initial_value_is_computed_once_per_store() -> None:
    """atomWithLazy: initializes on first store get"""
    first_store, second_store = Store(), Store()
    external = ["first"]
    calls: list[str] = []

    def initializer() -> str:
        calls.append(external[0])
        return external[0]

    lazy = atom_with_default(lambda get: initializer())
    assert calls == []
    assert first_store.get(lazy) == "first"
    external[0] = "second"
    assert first_store.get(lazy) == "first"
    assert len(calls) == 1
    assert second_store.get(lazy) == "second"
    assert len(calls) == 2


def test_a_lazy_atom_is_writable() -> None:
    """atomWithLazy: is writable"""
    store = Store()
    lazy = atom_with_default(lambda get: 0)
    store.set(lazy, 123)
    assert store.get(lazy) == 123


def test_a_function_written_to_a_lazy_atom_is_its_value() -> None:
    """atomWithLazy: should work with a set state action (a difference: no updaters)"""
    store = Store()
    lazy = atom_with_default(lambda get: 4)

    def square(prev: int) -> int:
        return prev * prev

    store.set(lazy, square)
    assert store.get(lazy) is square
