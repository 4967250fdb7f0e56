"""Thread safety: atomic writes, listeners outside the lock, scheduler delivery."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler

from molecules import Store, atom, derived


def test_four_threads_of_increments_lose_nothing() -> None:
    store = Store()
    count = atom(0)
    bump = derived(write=lambda get, set: set(count, get(count) + 1))
    double = derived(lambda get: get(count) * 2)
    store.sub(double, lambda: None)

    def work() -> None:
        for _ in range(1000):
            store.set(bump)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get(count) == 4000
    assert store.get(double) == 8000


def test_listener_runs_outside_the_lock() -> None:
    store = Store()
    count = atom(0)
    other = atom(0)
    results: list[int] = []

    def listener() -> None:
        # Another thread must be able to use the store while this listener runs.
        t = threading.Thread(target=lambda: results.append(store.set(other, 5) or 1))
        t.start()
        t.join(timeout=2)
        assert not t.is_alive()

    store.sub(count, listener)
    store.set(count, 1)
    assert results == [1]
    assert store.get(other) == 5


async def test_observe_with_scheduler_delivers_on_the_loop_from_another_thread() -> None:
    store = Store()
    count = atom(0)
    loop = asyncio.get_running_loop()
    delivered: list[tuple[int, bool]] = []
    done = asyncio.Event()

    def on_next(value: Any) -> None:
        delivered.append((value, threading.current_thread() is threading.main_thread()))
        if value == 3:
            done.set()

    store.observe(count, scheduler=AsyncIOThreadSafeScheduler(loop)).subscribe(on_next)

    def writer() -> None:
        for i in range(1, 4):
            store.set(count, i)

    await asyncio.to_thread(writer)
    await asyncio.wait_for(done.wait(), 2)
    assert [v for v, _ in delivered] == [0, 1, 2, 3]
    assert all(on_main for _, on_main in delivered)
