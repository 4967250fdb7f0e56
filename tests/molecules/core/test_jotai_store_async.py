"""Jotai's vanilla-store tests on async reads: timing, superseded runs and `setSelf`.

Ported from tests/vanilla/store.test.tsx through the public API (the contract
differences are listed in test_jotai_store.py). Jotai's fake timers become short real
sleeps on the running asyncio loop. Two differences are particular to this file:

* A run superseded by a dependency change is cancelled (at the `await` it is waiting
  on) rather than handed an aborted `signal`, and the future a reader already holds is
  not rejected: it settles with the newest run's value. So where Jotai's first promise
  keeps the old value or rejects with "aborted", the future here gives the new value.
* Jotai's `setSelf` is `ctx.store.set(ctx.atom)` from a read that takes `(get, ctx)`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from molecules import Getter, ReadContext, Store, atom, derived


def _noop() -> None:
    pass


async def test_a_read_awaiting_a_slower_async_read_sees_every_write() -> None:
    """resolves dependencies reliably after a delay (#2192)"""
    count = atom(0)
    results: list[int] = []

    async def slow(get: Getter) -> int:
        value = get(count)
        await asyncio.sleep(0.02)
        return value

    slow_atom = derived(slow)

    async def waiting(get: Getter, ctx: ReadContext) -> None:
        get(count)
        await asyncio.sleep(0.01)
        results.append(await get(slow_atom))
        if results[-1] == 2:
            ctx.store.set(ctx.atom)

    waiting_atom = derived(waiting, lambda get, set: None)
    store = Store()
    store.sub(waiting_atom, _noop)
    store.set(count, store.get(count) + 1)
    store.set(count, store.get(count) + 1)
    await store.get(waiting_atom)
    assert results[-1] == 2
    store.set(count, store.get(count) + 1)
    store.set(count, store.get(count) + 1)
    await store.get(waiting_atom)
    assert store.get(count) == 4
    assert results[-1] == 4


async def test_a_read_after_await_sees_a_write_made_before_it() -> None:
    """async atom with subtle timing: case 1"""
    source = atom(1)

    async def read(get: Getter) -> int:
        await asyncio.sleep(0.01)
        return get(source)

    late = derived(read)
    store = Store()
    first = store.get(late)
    store.set(source, 2)
    second = store.get(late)
    assert await first == 2
    assert await second == 2


async def test_a_pending_future_settles_with_the_run_after_a_write() -> None:
    """async atom with subtle timing: case 2 (a difference: Jotai's first promise gives 1)"""
    source = atom(1)

    async def read(get: Getter) -> int:
        value = get(source)
        await asyncio.sleep(0.01)
        return value

    early = derived(read)
    store = Store()
    first = store.get(early)
    store.set(source, 2)
    second = store.get(early)
    assert await first == 2
    assert await second == 2


def _interruptible(source: Any, log: list[str]) -> Any:
    """An async read of `source` that logs whether it passed its `await` or was cancelled."""

    async def read(get: Getter) -> int:
        value: int = get(source)
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            log.append("cancelled")
            raise
        log.append("finished")
        return value + 1

    return derived(read)


async def test_a_run_superseded_by_a_write_is_cancelled() -> None:
    """aborting atoms: should abort the signal when dependencies change (a difference:
    the first future gives the new value instead of rejecting)"""
    source, log = atom(1), []
    plus_one = _interruptible(source, log)
    store = Store()
    first = store.get(plus_one)
    await asyncio.sleep(0)  # the first run is now waiting on its sleep
    store.set(source, 3)
    second = store.get(plus_one)
    assert await second == 4
    assert await first == 4
    assert log == ["cancelled", "finished"]


async def test_a_mounted_run_superseded_by_a_write_is_cancelled() -> None:
    """aborting atoms: should abort the signal when dependencies change and the atom is mounted
    (a difference: the superseded run stops at its `await`, where Jotai's runs on)"""
    source, log = atom(1), []
    plus_one = _interruptible(source, log)
    store = Store()
    store.sub(plus_one, _noop)
    await asyncio.sleep(0)
    store.set(source, 3)
    assert await store.get(plus_one) == 4
    assert log == ["cancelled", "finished"]


async def test_unsubscribing_does_not_cancel_a_running_read() -> None:
    """aborting atoms: should not abort the signal when unsubscribed"""
    source, log = atom(1), []
    plus_one = _interruptible(source, log)
    store = Store()
    unsubscribe = store.sub(plus_one, _noop)
    await asyncio.sleep(0)
    unsubscribe()
    assert await store.get(plus_one) == 2
    assert log == ["finished"]
