"""Jotai's loadable and unwrap tests (tests/vanilla/utils/loadable.test.ts, unwrap.test.ts),
ported through the public API.

Each test keeps Jotai's file and test name in its docstring. Differences:

* An asyncio future can be inspected: one that has already settled gives its value at
  once, where Jotai's already-resolved promise still reads "loading" first.
* `unwrap(a, fallback)` takes the value to give while loading; Jotai takes a function
  of the previous value, so "keep the last value while loading" has no counterpart.
* `unwrap` is read-only: write the source atom instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from molecules import Getter, NotWritableError, Store, atom, derived, loadable, unwrap
from tests.molecules.core.eventually import until


def _noop() -> None:
    pass


def _settled(value: Any) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


def _settling_soon(value: Any) -> asyncio.Future[Any]:
    """A future that settles on the next turn of the loop."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    loop.call_soon(future.set_result, value)
    return future


def _doubled_later(count: Any) -> Any:
    async def read(get: Getter) -> int:
        value: int = get(count)
        await asyncio.sleep(0.01)
        return value * 2

    return derived(read)


async def test_a_loadable_of_a_settled_future_has_data_at_once() -> None:
    """loadable: should return fulfilled value of an already resolved async atom
    (a difference: no "loading" first)"""
    store = Store()
    source = atom(_settled("concrete"))
    state = store.get(loadable(source))
    assert (state.state, state.data) == ("has_data", "concrete")


async def test_a_loadable_has_data_once_its_future_settles() -> None:
    """loadable: should get the latest loadable state after the promise resolves"""
    store = Store()
    wrapped = loadable(atom(_settling_soon(None)))
    assert store.get(wrapped).state == "loading"
    await asyncio.sleep(0.01)
    assert store.get(wrapped).state == "has_data"


def test_reading_a_loadable_of_a_plain_atom_writes_nothing() -> None:
    """loadable: [DEV-ONLY] should not call store.set during atom read"""
    store = Store()
    example = atom("Hello")
    heard: list[str] = []
    store.sub(example, lambda: heard.append(store.get(example)))
    state = store.get(loadable(example))
    assert (state.state, state.data) == ("has_data", "Hello")
    assert heard == []


async def _unwrap_follows_three_writes(fallback: Any) -> None:
    store = Store()
    count = atom(1)
    plain = unwrap(_doubled_later(count), fallback)
    for value in (1, 2, 3):
        store.set(count, value)
        assert store.get(plain) == fallback
        await until(lambda: store.get(plain) != fallback)
        assert store.get(plain) == value * 2


async def test_unwrap_gives_none_while_loading() -> None:
    """unwrap: should unwrap a promise with no fallback function"""
    await _unwrap_follows_three_writes(None)


async def test_unwrap_gives_the_fallback_while_loading() -> None:
    """unwrap: should unwrap a promise with fallback function without prev"""
    await _unwrap_follows_three_writes(-1)


async def test_unwrap_gives_the_fallback_not_the_previous_value_while_loading() -> None:
    """unwrap: should unwrap a promise with fallback function with prev (a difference:
    no previous value, the fallback)"""
    store = Store()
    count = atom(1)
    plain = unwrap(_doubled_later(count), 0)
    assert store.get(plain) == 0
    await until(lambda: store.get(plain) != 0)
    assert store.get(plain) == 2
    store.set(count, 2)
    assert store.get(plain) == 0
    await until(lambda: store.get(plain) != 0)
    assert store.get(plain) == 4


def test_unwrap_of_a_plain_atom_is_its_value() -> None:
    """unwrap: should unwrap a sync atom which is noop"""
    store = Store()
    count = atom(1)
    plain = unwrap(count)
    for value in (1, 2, 3):
        store.set(count, value)
        assert store.get(plain) == value


async def test_unwrap_follows_writes_to_its_async_source() -> None:
    """unwrap: should unwrap an async writable atom (a difference: unwrap is read-only,
    the source is written)"""
    store = Store()
    source = atom(_settling_soon(1))
    plain = unwrap(source, 0)
    assert store.get(plain) == 0
    await asyncio.sleep(0.01)
    assert store.get(plain) == 1
    with pytest.raises(NotWritableError):
        store.set(plain, _settled(2))
    store.set(source, _settling_soon(2))
    assert store.get(plain) == 0
    await asyncio.sleep(0.01)
    assert store.get(plain) == 2


async def test_unwrap_of_a_settled_future_is_its_value_at_once() -> None:
    """unwrap: should unwrap to a fulfilled value of an already resolved async atom
    (a difference: no fallback first)"""
    store = Store()
    assert store.get(unwrap(atom(_settled("concrete")))) == "concrete"


async def test_unwrap_gives_the_value_once_its_future_settles() -> None:
    """unwrap: should get a fulfilled value after the promise resolves"""
    store = Store()
    plain = unwrap(atom(_settling_soon("concrete")))
    assert store.get(plain) is None
    await asyncio.sleep(0.01)
    assert store.get(plain) == "concrete"


async def test_unwrap_raises_a_failed_futures_error_until_replaced() -> None:
    """unwrap: should throw an error if underlying promise is rejected"""
    store = Store()
    loop = asyncio.get_running_loop()
    failing: asyncio.Future[int] = loop.create_future()
    loop.call_soon(failing.set_exception, ValueError("error"))
    source = atom(failing)
    plain = unwrap(source)
    store.sub(plain, _noop)
    await asyncio.sleep(0.01)
    with pytest.raises(ValueError, match="error"):
        store.get(plain)
    store.set(source, _settling_soon(3))
    await asyncio.sleep(0.01)
    assert store.get(plain) == 3


async def test_a_reader_of_unwrap_re_runs_when_the_future_settles() -> None:
    """unwrap: should update dependents with the value of the unwrapped atom when the
    promise resolves"""
    store = Store()

    async def value(get: Getter) -> str:
        return "value"

    target = unwrap(derived(value))
    results: list[str] = []

    async def read(get: Getter) -> None:
        await asyncio.sleep(0)
        results.append(f"effect {get(target)}")

    store.sub(derived(read), _noop)
    await asyncio.sleep(0.01)
    assert results == ["effect None", "effect value"]


def test_reading_unwrap_of_a_plain_atom_writes_nothing() -> None:
    """unwrap: [DEV-ONLY] should not call store.set during atom read"""
    store = Store()
    example = atom("Hello")
    heard: list[str] = []
    store.sub(example, lambda: heard.append(store.get(example)))
    assert store.get(unwrap(example)) == "Hello"
    assert heard == []


async def test_unwrap_holds_the_value_a_linked_async_read_awaited() -> None:
    """unwrap: should expose the latest value after a linked async read resolves (#3296)"""
    store = Store()
    count = atom(0)
    bump = derived(write=lambda get, set: set(count, get(count) + 1))

    async def target_read(get: Getter) -> dict[str, str]:
        await asyncio.sleep(0)
        return {"some_data": str(get(count))}

    target = derived(target_read)
    unwrapped = unwrap(target)

    async def linked_read(get: Getter) -> Any:
        get(unwrapped)
        return await get(target)

    linked = derived(linked_read)
    initial = await store.get(linked)
    assert store.get(unwrapped) is initial
    store.set(bump)
    following = await store.get(linked)
    assert following == {"some_data": "1"}
    assert store.get(unwrapped) is following
