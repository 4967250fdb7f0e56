"""Jotai's dependency tests (tests/vanilla/dependency.test.tsx), ported through the public API.

Each test keeps Jotai's test name in its docstring; the contract differences of
test_jotai_store.py apply (no updater functions: `set(a, get(a) + 1)`). Jotai's fake
timers become short real sleeps on the running asyncio loop, and a promise an asyncio
future. One difference is particular to this file: a pending future is shared by the
runs of its atom (a run superseded by a write settles the future the readers already
hold), so a write that re-runs an async read leaves its value, the future, unchanged,
and its listeners are not called for it
(test_a_never_settling_async_read_settles_once_its_source_is_replaced).
"""

from __future__ import annotations

import asyncio
from typing import Any

from molecules import Getter, Setter, Store, atom, derived
from tests.molecules.core.eventually import until


def _noop() -> None:
    pass


class _Count:
    """A listener or read wrapper that counts its calls."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: Any) -> None:
        self.count += 1


def _delayed_copy(source: Any, delay: float = 0.01) -> Any:
    """An async read of `source` before an `await`, returning what it read."""

    async def read(get: Getter) -> Any:
        value = get(source)
        await asyncio.sleep(delay)
        return value

    return derived(read)


async def test_updates_propagate_through_sync_atoms_over_an_async_one() -> None:
    """can propagate updates with async atom chains"""
    count = atom(1)
    delayed = _delayed_copy(count)
    outer = derived(lambda get: get(delayed))
    outermost = derived(lambda get: get(outer))
    store = Store()
    for value in (1, 2, 3):
        store.set(count, value)
        pending = store.get(outermost)
        assert isinstance(pending, asyncio.Future)
        assert await pending == value


async def test_an_async_read_got_twice_around_a_write_gives_the_newest() -> None:
    """can get async atom with deps more than once before resolving (#1668)"""
    count = atom(0)
    delayed = _delayed_copy(count)
    store = Store()
    store.set(count, 1)
    store.get(delayed)
    store.set(count, 2)
    await asyncio.sleep(0.02)
    assert await store.get(delayed) == 2


async def test_an_async_derived_atom_follows_its_own_async_write() -> None:
    """correctly updates async derived atom after get/set update"""
    base = atom(0)

    async def read(get: Getter) -> int:
        return get(base) + 1

    async def write(get: Getter, set: Setter, value: int) -> None:
        set(base, value)

    plus_one = derived(read, write)
    store = Store()
    assert await store.get(plus_one) == 1
    await store.set(plus_one, 2)
    assert store.get(base) == 2
    assert await store.get(plus_one) == 3


async def test_a_derived_atom_returning_another_atoms_future_survives_a_write() -> None:
    """correctly handles the same promise being returned twice from an atom getter (#2151)"""

    async def fetch_data(get: Getter) -> str:
        return "data"

    data = derived(fetch_data)
    counter = atom(0)

    def read(get: Getter) -> Any:
        get(counter)
        return get(data)

    passing = derived(read)
    store = Store()
    store.get(passing)
    store.set(counter, 1)
    assert await store.get(passing) == "data"


async def test_sources_stay_mounted_while_an_async_read_re_runs() -> None:
    """keeps atoms mounted between recalculations"""
    log: list[str] = []

    def tracked(label: str) -> Any:
        def on_mount(set_self: Any) -> Any:
            log.append(f"mount {label}")
            return lambda: log.append(f"unmount {label}")

        return atom(0, on_mount=on_mount)

    first, second = tracked("first"), tracked("second")

    async def read(get: Getter) -> None:
        get(first)
        await asyncio.sleep(0.01)
        get(second)

    unrelated = atom(0)
    reader = derived(read)
    store = Store()
    store.sub(reader, _noop)
    await store.get(reader)
    store.set(unrelated, 1)
    assert log == ["mount first", "mount second"]
    store.set(first, 1)
    await store.get(reader)
    assert log == ["mount first", "mount second"]


def test_a_conditional_dependent_never_sees_a_stale_value() -> None:
    """should not provide stale values to conditional dependents"""
    data = atom([100])
    has_filter = atom(False)
    filtered = derived(lambda get: [] if get(has_filter) else get(data))

    def stage_of(get: Getter) -> str:
        if not get(has_filter):
            return "no-filter"
        return "is-empty" if not get(filtered) else "has-data"

    stage = derived(stage_of)
    store = Store()
    store.sub(filtered, _noop)
    store.sub(stage, _noop)
    assert store.get(stage) == "no-filter"
    store.set(has_filter, True)
    assert store.get(stage) == "is-empty"


async def _replace_a_never_settling_source(await_first: bool) -> tuple[list[Any], int]:
    """Shared body of the two "never resolving" tests: (values seen, listener calls)."""
    loop = asyncio.get_running_loop()
    source = atom({"future": loop.create_future()})

    picked_up: list[bool] = []

    async def read(get: Getter) -> Any:
        if await_first:
            await asyncio.sleep(0.01)
        future = get(source)["future"]
        picked_up.append(True)
        return await future

    waiting = derived(read)
    store = Store()
    values: list[Any] = []

    def collect(future: asyncio.Future[Any]) -> None:
        future.add_done_callback(lambda f: values.append(f.result()))

    collect(store.get(waiting))
    calls = _Count()

    def listener() -> None:
        calls()
        collect(store.get(waiting))

    store.sub(waiting, listener)
    await until(lambda: picked_up)
    replacement: asyncio.Future[int] = loop.create_future()
    store.set(source, {"future": replacement})
    replacement.set_result(1)
    await until(lambda: values)
    await asyncio.sleep(0.01)  # time for a listener call, were there one
    return values, calls.count


async def test_a_never_settling_async_read_settles_once_its_source_is_replaced() -> None:
    """settles never resolving async derivations with deps picked up sync (a difference:
    Jotai's listener runs once; here the future is the same, so it does not run)"""
    assert await _replace_a_never_settling_source(await_first=False) == ([1], 0)


async def test_a_never_settling_async_read_with_a_late_dep_settles_once_replaced() -> None:
    """settles never resolving async derivations with deps picked up async (a difference:
    Jotai's listener runs once; here the future is the same, so it does not run)"""
    assert await _replace_a_never_settling_source(await_first=True) == ([1], 0)


async def test_each_async_run_has_its_own_dependencies() -> None:
    """refreshes deps for each async read"""
    count = atom(0)
    flag = atom(False)
    seen: list[int] = []

    async def read(get: Getter) -> int:
        value: int = get(count)
        seen.append(value)
        if value == 0:
            get(flag)
        await asyncio.sleep(0.01)
        return value

    reader = derived(read)
    store = Store()
    store.get(reader)
    await asyncio.sleep(0)  # the first run starts (a task starts on the next loop turn)
    store.set(count, 1)
    assert await store.get(reader) == 1
    store.set(flag, True)
    store.get(reader)
    await asyncio.sleep(0)
    assert seen == [0, 1]


def test_reordered_dependencies_do_not_recompute_a_stable_atom() -> None:
    """should not re-evaluate stable derived atom values in situations where dependencies
    are re-ordered (#2738)"""
    count = atom(0)
    root = atom(False)
    stable = derived(lambda get: (get(root), 1)[1])
    calls = _Count()

    def stable_dep_read(get: Getter) -> int:
        get(stable)
        calls()
        return 2 + get(count)

    stable_dep = derived(stable_dep_read)

    def choose(get: Getter) -> int:
        if get(root) or get(count) > 0:
            return get(stable_dep)
        return get(stable)

    chooser = derived(choose)
    store = Store()
    store.sub(stable_dep, _noop)
    store.sub(chooser, _noop)
    assert store.get(stable_dep) == 2
    assert calls.count == 1
    store.set(root, True)
    assert store.get(chooser) == 2
    assert calls.count == 1
    store.set(root, False)
    store.set(count, 1)
    assert store.get(chooser) == 3
    assert calls.count == 2


async def test_an_async_read_at_the_end_of_a_chain_follows_the_base() -> None:
    """handles complex dependency chains"""
    base = atom(1)
    doubled = derived(lambda get: get(base) * 2)
    plus_one = derived(lambda get: get(doubled) + 1)

    async def read(get: Getter) -> int:
        value: int = get(plus_one)
        await asyncio.sleep(0.01)
        return value * 2

    result = derived(read)
    store = Store()
    assert await store.get(result) == 6
    store.set(base, 2)
    assert await store.get(result) == 10


def test_a_write_reads_an_uninitialized_derived_atom_fresh_each_time() -> None:
    """can read sync derived atom in write without initializing"""
    a = atom(0)
    b = derived(lambda get: get(a) + 1)
    copy = derived(write=lambda get, set: set(a, get(b)))
    store = Store()
    store.set(copy)
    assert store.get(a) == 1
    store.set(copy)
    assert store.get(a) == 2


def test_reading_in_a_write_neither_recomputes_again_nor_mounts() -> None:
    """can read in write function without changing dependencies"""
    a = atom(0)
    reads = _Count()

    def read(get: Getter) -> int:
        reads()
        return get(a)

    mounted = _Count()
    b = derived(read, lambda get, set: None, on_mount=lambda set_self: mounted())
    counts: list[int] = []

    def write(get: Getter, set: Setter) -> None:
        counts.append(reads.count)
        value = get(b)
        counts.append(reads.count)
        set(a, value + 1)
        counts.append(reads.count)

    store = Store()
    store.sub(derived(lambda get: get(a)), _noop)
    store.set(derived(write=write))
    assert counts == [0, 1, 1]
    assert mounted.count == 0


def _read_once_atom() -> tuple[Any, _Count]:
    reads = _Count()

    def read(get: Getter) -> str:
        reads()
        return "a"

    return derived(read), reads


def test_a_write_reuses_the_cached_value_of_an_unmounted_atom() -> None:
    """can cache reading an atom in write function (without mounting)"""
    a, reads = _read_once_atom()
    reader = derived(write=lambda get, set: get(a))
    store = Store()
    store.set(reader)
    assert reads.count == 1
    store.set(reader)
    assert reads.count == 1


def test_a_write_reuses_the_cached_value_of_a_mounted_atom() -> None:
    """can cache reading an atom in write function (with mounting)"""
    a, reads = _read_once_atom()
    reader = derived(write=lambda get, set: get(a))
    store = Store()
    store.sub(a, _noop)
    store.set(reader)
    assert reads.count == 1
    store.set(reader)
    assert reads.count == 1


def test_mounted_readers_recompute_once_after_the_write_function() -> None:
    """batches sync writes"""
    a = atom(0)
    b = derived(lambda get: get(a))
    fetched: list[int] = []
    c = derived(lambda get: fetched.append(get(a)))
    inside: list[Any] = []

    def write(get: Getter, set: Setter) -> None:
        set(a, 1)
        inside.append(get(b))
        inside.append(list(fetched))

    store = Store()
    store.sub(b, _noop)
    store.sub(c, _noop)
    fetched.clear()
    store.set(derived(write=write))
    assert inside == [1, []]
    assert fetched == [1]
    assert store.get(a) == 1
