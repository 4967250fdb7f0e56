"""Jotai's vanilla-store tests: errors in reads, writes, on_mount, cleanups and listeners.

Ported from tests/vanilla/store.test.tsx through the public API (the contract
differences are listed in test_jotai_store.py). Jotai's `setTimeout` callbacks become
work scheduled on the running asyncio loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from molecules import Getter, ListenerError, Setter, Store, atom, derived


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


async def test_reads_scheduled_from_a_read_mount_what_they_read() -> None:
    """should mount and trigger listeners even when an error is thrown: in asynchronous read"""
    store = Store()
    mounts = {"a": 0, "e": 0}
    a = atom(0, on_mount=lambda set_self: mounts.__setitem__("a", mounts["a"] + 1))
    e = derived(_fail, _noop, on_mount=lambda set_self: mounts.__setitem__("e", 1))

    async def read(get: Getter) -> None:
        await asyncio.sleep(0)
        get(a)
        with pytest.raises(ValueError):
            get(e)

    store.sub(derived(read), _noop)
    await asyncio.sleep(0.01)
    assert mounts == {"a": 1, "e": 1}


def test_a_write_that_raises_after_setting_still_notifies() -> None:
    """should mount and trigger listeners even when an error is thrown: in synchronous write"""
    store = Store()
    a = atom(0)
    e = derived(_fail)

    def write(get: Getter, set: Setter) -> None:
        set(a, 1)
        get(e)

    b = derived(write=write)
    listener = _Count()
    store.sub(a, listener)
    with pytest.raises(ValueError):
        store.set(b)
    assert listener.count == 1


async def test_a_write_that_raises_later_still_notifies() -> None:
    """should mount and trigger listeners even when an error is thrown: in asynchronous write"""
    store = Store()
    a = atom(0)
    e = derived(_fail)

    def write(get: Getter, set: Setter) -> None:
        set(a, 1)
        get(e)

    b = derived(write=write)

    def later() -> None:
        with pytest.raises(ValueError):
            store.set(b)

    w = derived(write=lambda get, set: asyncio.get_running_loop().call_soon(later))
    listener = _Count()
    store.sub(a, listener)
    store.set(w)
    await asyncio.sleep(0.01)
    assert listener.count == 1


def test_an_on_mount_that_raises_still_mounts_what_it_reads() -> None:
    """should mount and trigger listeners even when an error is thrown: in synchronous onmount"""
    store = Store()
    mounted = _Count()
    a = atom(0, on_mount=lambda set_self: mounted())
    b = derived(lambda get: get(a), _noop, on_mount=_fail)
    with pytest.raises(ListenerError):
        store.sub(b, _noop)
    assert mounted.count == 1


def test_a_cleanup_that_raises_still_unmounts_what_it_read() -> None:
    """should mount and trigger listeners even when an error is thrown: in synchronous onunmount"""
    store = Store()
    unmounted = _Count()
    a = atom(0, on_mount=lambda set_self: unmounted)
    b = derived(lambda get: get(a), _noop, on_mount=lambda set_self: _fail)
    unsubscribe = store.sub(b, _noop)
    with pytest.raises(ListenerError):
        unsubscribe()
    assert unmounted.count == 1


def test_a_listener_that_raises_does_not_stop_the_others() -> None:
    """should mount and trigger listeners even when an error is thrown: in synchronous listener"""
    store = Store()
    a, e = atom(0), atom(0)

    def write(get: Getter, set: Setter) -> None:
        set(a, 1)
        set(e, 1)

    store.sub(e, _fail)
    listener = _Count()
    store.sub(a, listener)
    with pytest.raises(ListenerError):
        store.set(derived(write=write))
    assert listener.count == 1


def test_errors_of_on_mount_cleanups_and_listeners_are_raised() -> None:
    """throws falsy errors in onMount, onUnmount, and listeners"""
    store = Store()
    with pytest.raises(ListenerError):
        store.sub(atom(0, on_mount=_fail), _noop)
    unsubscribe = store.sub(atom(0, on_mount=lambda set_self: _fail), _noop)
    with pytest.raises(ListenerError):
        unsubscribe()
    c = atom(0)
    store.sub(c, _fail)
    with pytest.raises(ListenerError):
        store.set(c, 1)


def test_every_listener_runs_when_some_raise() -> None:
    """should process all atom listeners even if some of them throw errors"""
    store = Store()
    a = atom(0)
    first, third = _Count(), _Count()
    store.sub(a, first)
    store.sub(a, _fail)
    store.sub(a, third)
    with pytest.raises(ListenerError):
        store.set(a, 1)
    assert (first.count, third.count) == (1, 1)
