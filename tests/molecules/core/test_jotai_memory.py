"""Jotai's memory-leak tests (tests/vanilla/memoryleaks.test.ts), ported through the public API.

Each test keeps Jotai's test name in its docstring. Jotai's leak detector becomes a weak
reference checked after `gc.collect()`: the value (or atom) must be gone once the test
drops its own references, while the store lives on.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

from molecules import Atom, Getter, Store, atom, derived


class _Value:
    """A value that can be weakly referenced (a dict cannot)."""


def _noop() -> None:
    pass


def _gone(ref: weakref.ref[Any]) -> bool:
    gc.collect()
    return ref() is None


def test_a_dropped_primitive_atom_frees_its_value() -> None:
    """memory leaks (get & set only): one atom"""
    store = Store()
    value_atom: Atom[_Value] | None = atom(_Value())
    assert value_atom is not None
    value = weakref.ref(store.get(value_atom))
    value_atom = None
    assert _gone(value)
    assert store is not None


def test_a_dropped_derived_atom_and_its_source_free_their_values() -> None:
    """memory leaks (get & set only): two atoms"""
    store = Store()
    value_atom: Atom[_Value] | None = atom(_Value())
    assert value_atom is not None
    first = weakref.ref(store.get(value_atom))
    wrapper: Atom[dict[str, Any]] | None = derived(
        lambda get: {"obj": value_atom and get(value_atom), "held": _Value()}
    )
    assert wrapper is not None
    second = weakref.ref(store.get(wrapper)["held"])
    value_atom = None
    wrapper = None
    assert _gone(first)
    assert _gone(second)


def test_a_store_does_not_keep_an_unmounted_dependent_alive() -> None:
    """memory leaks (get & set only): should not hold onto dependent atoms that are not mounted"""
    store = Store()
    source = atom(_Value())
    dependent: Atom[Any] | None = derived(lambda get: get(source))
    assert dependent is not None
    store.get(dependent)
    held = weakref.ref(dependent)
    dependent = None
    assert _gone(held)


def test_a_dropped_derived_atom_frees_its_value_while_its_source_lives() -> None:
    """memory leaks (get & set only): with a long-lived base atom"""
    store = Store()
    source = atom(_Value())
    wrapper: Atom[Any] | None = derived(lambda get: (get(source), _Value()))
    assert wrapper is not None
    value = weakref.ref(store.get(wrapper)[1])
    wrapper = None
    assert _gone(value)
    assert store.get(source) is not None


def test_an_unsubscribed_dropped_atom_frees_its_value() -> None:
    """memory leaks (with subscribe): one atom"""
    store = Store()
    value_atom: Atom[_Value] | None = atom(_Value())
    assert value_atom is not None
    value = weakref.ref(store.get(value_atom))
    unsubscribe: Any = store.sub(value_atom, _noop)
    unsubscribe()
    unsubscribe = None
    value_atom = None
    assert _gone(value)


def test_an_unsubscribed_dropped_pair_of_atoms_frees_their_values() -> None:
    """memory leaks (with subscribe): two atoms"""
    store = Store()
    value_atom: Atom[_Value] | None = atom(_Value())
    assert value_atom is not None
    first = weakref.ref(store.get(value_atom))
    wrapper: Atom[Any] | None = derived(
        lambda get: {"obj": value_atom and get(value_atom), "held": _Value()}
    )
    assert wrapper is not None
    second = weakref.ref(store.get(wrapper)["held"])
    unsubscribe: Any = store.sub(value_atom, _noop)
    unsubscribe()
    unsubscribe = None
    value_atom = None
    wrapper = None
    assert _gone(first)
    assert _gone(second)


def test_a_dropped_derived_atom_frees_its_value_after_its_source_was_subscribed() -> None:
    """memory leaks (with subscribe): with a long-lived base atom"""
    store = Store()
    source = atom(_Value())
    wrapper: Atom[Any] | None = derived(lambda get: (get(source), _Value()))
    assert wrapper is not None
    value = weakref.ref(store.get(wrapper)[1])
    unsubscribe: Any = store.sub(source, _noop)
    unsubscribe()
    unsubscribe = None
    wrapper = None
    assert _gone(value)


def test_a_mounted_atom_that_stopped_reading_a_source_frees_it() -> None:
    """memory leaks (with dependencies): sync dependency"""
    store = Store()
    value_atom: Atom[_Value] | None = atom(_Value())
    assert value_atom is not None
    value = weakref.ref(store.get(value_atom))
    switch = atom(0)
    reader = derived(lambda get: get(switch) or (value_atom and get(value_atom)))
    store.sub(reader, _noop)
    store.set(switch, 1)
    value_atom = None
    assert _gone(value)
    assert store.get(reader) == 1


async def test_a_mounted_async_atom_that_stopped_reading_a_source_frees_it() -> None:
    """memory leaks (with dependencies): async dependency"""
    store = Store()
    value_atom: Atom[_Value] | None = atom(_Value())
    assert value_atom is not None
    value = weakref.ref(store.get(value_atom))
    switch = atom(0)

    async def read(get: Getter) -> Any:
        return get(switch) or (value_atom and get(value_atom))

    reader = derived(read)
    store.sub(reader, _noop)
    await asyncio.sleep(0)
    store.set(switch, 1)
    value_atom = None
    assert await store.get(reader) == 1
    assert _gone(value)


async def test_a_mounted_async_atom_that_stopped_reading_after_await_frees_it() -> None:
    """memory leaks (with dependencies): async await dependency"""
    store = Store()
    value_atom: Atom[_Value] | None = atom(_Value())
    assert value_atom is not None
    value = weakref.ref(store.get(value_atom))
    switch = atom(0)

    async def read(get: Getter) -> Any:
        await asyncio.sleep(0)
        return get(switch) or (value_atom and get(value_atom))

    reader = derived(read)
    store.sub(reader, _noop)
    await asyncio.sleep(0.01)
    store.set(switch, 1)
    value_atom = None
    assert await store.get(reader) == 1
    assert _gone(value)
