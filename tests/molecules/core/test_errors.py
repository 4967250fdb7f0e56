"""Errors in reads and listeners leave the store consistent."""

from __future__ import annotations

import pytest

from molecules import Getter, ListenerError, Store, atom, derived, loadable


def _checked(get: Getter, source: object) -> int:
    value = get(source)  # type: ignore[arg-type]
    if value < 0:
        raise ValueError(f"negative: {value}")
    return int(value)


def test_read_that_raises_makes_get_raise_and_recovers() -> None:
    store = Store()
    n = atom(-1)
    checked = derived(lambda get: _checked(get, n))
    with pytest.raises(ValueError, match="negative: -1"):
        store.get(checked)
    store.set(n, 2)
    assert store.get(checked) == 2


def test_error_propagates_to_dependents() -> None:
    store = Store()
    n = atom(-1)
    checked = derived(lambda get: _checked(get, n))
    plus = derived(lambda get: get(checked) + 1)
    with pytest.raises(ValueError):
        store.get(plus)


def test_mounted_atom_that_starts_failing_notifies_and_store_stays_consistent() -> None:
    store = Store()
    n = atom(1)
    checked = derived(lambda get: _checked(get, n))
    states: list[str] = []
    view = loadable(checked)
    store.sub(view, lambda: states.append(store.get(view).state))
    store.set(n, -5)
    store.set(n, 7)
    assert states == ["has_error", "has_data"]
    assert store.get(checked) == 7


def test_listener_that_raises_does_not_stop_other_listeners() -> None:
    store = Store()
    count = atom(0)
    seen: list[int] = []

    def bad() -> None:
        raise RuntimeError("listener bug")

    store.sub(count, bad)
    store.sub(count, lambda: seen.append(store.get(count)))
    with pytest.raises(ListenerError, match="listener bug") as info:
        store.set(count, 1)
    assert seen == [1]
    assert store.get(count) == 1  # the write was committed
    assert len(info.value.errors) == 1


def test_failed_write_function_leaves_earlier_state() -> None:
    store = Store()
    count = atom(3)

    def write(get: Getter, set: object, v: int) -> None:
        raise ValueError("refused")

    guarded = derived(lambda get: get(count), write)
    with pytest.raises(ValueError, match="refused"):
        store.set(guarded, 9)
    assert store.get(count) == 3
