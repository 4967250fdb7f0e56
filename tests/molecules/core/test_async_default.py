"""atom_with_default with an `async def` default behaves like any async derived read."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from molecules import (
    RESET,
    Atom,
    Getter,
    Loadable,
    Store,
    atom,
    atom_with_default,
    loadable,
    select_atom,
    unwrap,
)


def _counted_default(source: Atom[int], runs: list[int]) -> Callable[[Getter], Awaitable[int]]:
    async def default(get: Getter) -> int:
        await asyncio.sleep(0)
        runs.append(1)
        return get(source) * 2

    return default


async def test_async_default_gives_one_shared_awaitable() -> None:
    store = Store()
    runs: list[int] = []
    value = atom_with_default(_counted_default(atom(3), runs))
    first = store.get(value)
    assert first is store.get(value)
    assert await first == 6
    assert await first == 6  # awaiting twice is fine: a future, not a bare coroutine
    assert runs == [1]


async def test_async_default_tracks_reads_after_await() -> None:
    store = Store()
    source = atom(3)
    value = atom_with_default(_counted_default(source, []))
    assert await store.get(value) == 6
    store.set(source, 4)
    assert await store.get(value) == 8


async def test_async_default_mounted_recomputes_when_its_dependency_changes() -> None:
    store = Store()
    source = atom(3)
    value = atom_with_default(_counted_default(source, []))
    store.sub(value, lambda: None)
    assert await store.get(value) == 6
    store.set(source, 5)
    assert await store.get(value) == 10


async def test_written_value_replaces_the_async_default_until_reset() -> None:
    store = Store()
    source = atom(3)
    value = atom_with_default(_counted_default(source, []))
    await store.get(value)
    store.set(value, 100)
    assert store.get(value) == 100
    store.set(source, 7)
    assert store.get(value) == 100
    store.set(value, RESET)
    assert await store.get(value) == 14


async def test_reset_runs_the_async_default_again() -> None:
    store = Store()
    runs: list[int] = []
    value = atom_with_default(_counted_default(atom(1), runs))
    await store.get(value)
    store.set(value, 9)
    store.set(value, RESET)
    assert await store.get(value) == 2
    assert runs == [1, 1]


async def test_loadable_over_an_async_default_loads_then_has_data() -> None:
    store = Store()
    value = atom_with_default(_counted_default(atom(2), []))
    state = loadable(value)
    assert store.get(state) == Loadable("loading")
    await store.get(value)
    await asyncio.sleep(0)
    assert store.get(state) == Loadable("has_data", data=4)
    store.set(value, 11)
    assert store.get(state) == Loadable("has_data", data=11)


async def test_unwrap_and_select_atom_over_an_async_default() -> None:
    store = Store()
    value = atom_with_default(_counted_default(atom(2), []))
    plain = unwrap(value, fallback=-1)
    doubled = select_atom(plain, lambda v: v * 10)
    assert store.get(plain) == -1
    await store.get(value)
    await asyncio.sleep(0)
    assert store.get(doubled) == 40
    store.set(value, 5)
    assert store.get(doubled) == 50
