"""Jotai's vanilla-store tests: errors in reads, writes, on_mount, cleanups and listeners.

Ported from tests/vanilla/store.test.tsx through the public API (the contract
differences are listed in test_jotai_store.py). Jotai's `setTimeout` callbacks become
work scheduled on the running asyncio loop.

One difference is particular to this file: a `get` kept past the end of a synchronous
read and called later is a plain read here (it neither tracks nor mounts what it reads),
where Jotai still mounts it (test_a_get_called_after_its_read_ended_mounts_nothing).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from molecules import Getter, ListenerError, ReadContext, Setter, Store, atom, derived


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


async def test_reads_after_await_mount_what_they_read_even_when_one_raises() -> None:
    """should mount and trigger listeners even when an error is thrown:
    in read promise on settled"""
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


async def test_a_get_called_after_its_read_ended_mounts_nothing() -> None:
    """should mount and trigger listeners even when an error is thrown: in asynchronous read
    (a difference: Jotai mounts what a kept `get` reads; here it is a plain read)"""
    store = Store()
    mounts: list[str] = []
    a = atom(0, on_mount=lambda set_self: mounts.append("a"))
    e = derived(_fail, _noop, on_mount=lambda set_self: mounts.append("e"))
    raised: list[Exception] = []

    def read(get: Getter) -> None:
        def later() -> None:
            get(a)
            try:
                get(e)
            except ValueError as exc:
                raised.append(exc)

        asyncio.get_running_loop().call_soon(later)

    store.sub(derived(read), _noop)
    await asyncio.sleep(0.01)
    assert len(raised) == 1
    assert mounts == []
    assert not store.is_mounted(a)


async def test_a_set_self_scheduled_from_a_read_notifies_though_the_write_raises() -> None:
    """should mount and trigger listeners even when an error is thrown: in read setSelf"""
    store = Store()
    a = atom(0)
    e = derived(_fail, _noop)
    raised: list[Exception] = []

    def read(get: Getter, ctx: ReadContext) -> None:
        def set_self() -> None:
            try:
                ctx.store.set(ctx.atom)
            except ValueError as exc:
                raised.append(exc)

        asyncio.get_running_loop().call_soon(set_self)

    def write(get: Getter, set: Setter) -> None:
        set(a, 1)
        get(e)

    listener = _Count()
    store.sub(a, listener)
    store.sub(derived(read, write), _noop)
    await asyncio.sleep(0.01)
    assert listener.count == 1
    assert len(raised) == 1


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


async def test_set_self_scheduled_from_on_mount_and_cleanup_notifies_though_it_raises() -> None:
    """should mount and trigger listeners even when an error is thrown: in onmount/onunmount
    asynchronous setAtom"""
    store = Store()
    a = atom(0)
    e = derived(_fail)
    raised: list[Exception] = []

    def write(get: Getter, set: Setter) -> None:
        set(a, get(a) + 1)
        get(e)

    def on_mount(set_self: Any) -> Any:
        loop = asyncio.get_running_loop()

        def later() -> None:
            try:
                set_self()
            except ValueError as exc:
                raised.append(exc)

        loop.call_soon(later)
        return lambda: loop.call_soon(later)

    listener = _Count()
    store.sub(a, listener)
    unsubscribe = store.sub(derived(write=write, on_mount=on_mount), _noop)
    await asyncio.sleep(0.01)
    assert listener.count == 1
    unsubscribe()
    await asyncio.sleep(0.01)
    assert listener.count == 2
    assert len(raised) == 2


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
