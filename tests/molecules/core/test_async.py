"""Async reads: awaitables from get, dependencies after await, cancellation, loadable, unwrap."""

from __future__ import annotations

import asyncio

import pytest

from molecules import AsyncReadError, Getter, Loadable, Store, atom, derived, loadable, unwrap


async def test_async_read_gives_an_awaitable_value() -> None:
    store = Store()
    n = atom(2)

    async def read(get: Getter) -> int:
        await asyncio.sleep(0)
        return get(n) * 10

    slow = derived(read)
    assert await store.get(slow) == 20


async def test_dependency_read_after_await_is_tracked() -> None:
    store = Store()
    n = atom(1)
    runs: list[int] = []

    async def read(get: Getter) -> int:
        await asyncio.sleep(0)
        runs.append(1)
        return get(n) + 100

    slow = derived(read)
    assert await store.get(slow) == 101
    store.set(n, 2)
    assert await store.get(slow) == 102
    assert len(runs) == 2


async def test_superseded_read_is_cancelled_and_awaiter_gets_newest_value() -> None:
    store = Store()
    n = atom(1)
    started = asyncio.Event()
    cancelled: list[int] = []

    async def read(get: Getter) -> int:
        value = get(n)
        started.set()
        try:
            await asyncio.sleep(0.05 if value == 1 else 0)
        except asyncio.CancelledError:
            cancelled.append(value)
            raise
        return value

    slow = derived(read)
    first = store.get(slow)
    await started.wait()
    store.set(n, 2)
    second = store.get(slow)
    assert second is first  # same pending future: it settles with the newest run
    assert await first == 2
    assert cancelled == [1]


async def test_loadable_goes_loading_then_has_data_and_notifies() -> None:
    store = Store()
    gate = asyncio.Event()

    async def read(get: Getter) -> str:
        await gate.wait()
        return "done"

    slow = derived(read)
    view = loadable(slow)
    states: list[Loadable[str]] = []
    store.sub(view, lambda: states.append(store.get(view)))
    assert store.get(view).state == "loading"
    gate.set()
    await asyncio.sleep(0.01)
    assert states == [Loadable("has_data", data="done")]


async def test_loadable_reports_async_error_as_value() -> None:
    store = Store()

    async def read(get: Getter) -> str:
        raise KeyError("missing row")

    failing = derived(read)
    view = loadable(failing)
    store.sub(view, lambda: None)
    await asyncio.sleep(0.01)
    state = store.get(view)
    assert state.state == "has_error"
    assert isinstance(state.error, KeyError)


async def test_loadable_of_a_sync_atom_has_data_at_once() -> None:
    store = Store()
    assert store.get(loadable(atom(5))) == Loadable("has_data", data=5)
    assert loadable(atom(1)) is not loadable(atom(1))
    a = atom(0)
    assert loadable(a) is loadable(a)


async def test_unwrap_gives_fallback_while_loading_then_value() -> None:
    store = Store()
    gate = asyncio.Event()

    async def read(get: Getter) -> int:
        await gate.wait()
        return 7

    value = unwrap(derived(read), fallback=-1)
    seen: list[int] = []
    store.sub(value, lambda: seen.append(store.get(value)))
    assert store.get(value) == -1
    gate.set()
    await asyncio.sleep(0.01)
    assert seen == [7]


def test_async_read_outside_a_loop_fails_clearly() -> None:
    store = Store()

    async def read(get: Getter) -> int:
        return 1

    with pytest.raises(AsyncReadError, match="asyncio loop"):
        store.get(derived(read))


async def test_a_cancelled_awaiter_does_not_poison_the_atom() -> None:
    store = Store()
    gate = asyncio.Event()

    async def read(get: Getter) -> int:
        await gate.wait()
        return 5

    slow = derived(read)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(store.get(slow), 0.01)  # cancels the shared future
    gate.set()
    assert await asyncio.wait_for(store.get(slow), 1) == 5


async def test_a_write_from_another_thread_reruns_the_read_on_its_loop() -> None:
    store = Store()
    n = atom(1)

    async def read(get: Getter) -> int:
        await asyncio.sleep(0)
        return get(n) * 10

    view = loadable(derived(read))
    store.sub(view, lambda: None)
    await asyncio.sleep(0.02)
    assert store.get(view) == Loadable("has_data", data=10)
    await asyncio.to_thread(store.set, n, 2)
    for _ in range(100):
        await asyncio.sleep(0.01)
        if store.get(view) == Loadable("has_data", data=20):
            break
    assert store.get(view) == Loadable("has_data", data=20)


async def test_a_dependency_read_after_await_stays_mounted_across_reruns() -> None:
    store = Store()
    events: list[str] = []

    def on_mount(set_self: object) -> object:
        events.append("mount")
        return lambda: events.append("cleanup")

    source = atom(0, on_mount=on_mount)
    trigger = atom(0)

    async def read(get: Getter) -> int:
        t = get(trigger)
        await asyncio.sleep(0)
        return get(source) + t

    view = loadable(derived(read))
    store.sub(view, lambda: None)
    await asyncio.sleep(0.02)
    for i in range(3):
        store.set(trigger, i + 1)
        await asyncio.sleep(0.02)
    assert events == ["mount"]
    assert store.get(view) == Loadable("has_data", data=3)
    assert store.is_mounted(source)
