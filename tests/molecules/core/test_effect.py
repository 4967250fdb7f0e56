"""effect: a tracked function run while mounted, re-run after changes, cleaned up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from molecules import Getter, ListenerError, Setter, Store, atom, derived, effect


def _noop() -> None:
    pass


def test_effect_runs_when_mounted_and_not_before() -> None:
    store = Store()
    n = atom(1)
    runs: list[int] = []
    eff = effect(lambda get, set: runs.append(get(n)))
    assert store.get(eff) is None
    assert runs == []
    store.sub(eff, _noop)
    assert runs == [1]


def test_effect_reruns_after_a_change_of_what_it_read() -> None:
    store = Store()
    n = atom(1)
    runs: list[int] = []
    store.sub(effect(lambda get, set: runs.append(get(n))), _noop)
    store.set(n, 2)
    store.set(n, 2)  # equal: no run
    assert runs == [1, 2]


def test_effect_tracks_only_the_branch_it_took() -> None:
    store = Store()
    flag, left, right = atom(True), atom("l"), atom("r")
    runs: list[str] = []
    store.sub(effect(lambda get, set: runs.append(get(left) if get(flag) else get(right))), _noop)
    store.set(right, "r2")
    assert runs == ["l"]
    store.set(flag, False)
    store.set(left, "l2")
    assert runs == ["l", "r2"]


def test_effect_cleanup_runs_before_each_rerun_and_at_unmount() -> None:
    store = Store()
    n = atom(1)
    log: list[str] = []

    def fx(get: Getter, set: Setter) -> Callable[[], None]:
        value = get(n)
        log.append(f"run {value}")
        return lambda: log.append(f"clean {value}")

    unsubscribe = store.sub(effect(fx), _noop)
    store.set(n, 2)
    unsubscribe()
    store.set(n, 3)
    assert log == ["run 1", "clean 1", "run 2", "clean 2"]


def test_effect_may_write_and_is_not_rerun_by_its_own_write() -> None:
    store = Store()
    n, doubled = atom(1), atom(0)
    runs: list[int] = []

    def fx(get: Getter, set: Setter) -> None:
        runs.append(get(n))
        set(doubled, get(n) * 2)
        set(n, get(n))  # writing what it reads (an equal value) changes nothing

    seen: list[int] = []
    store.sub(doubled, lambda: seen.append(store.get(doubled)))
    store.sub(effect(fx), _noop)
    store.set(n, 5)
    assert store.get(doubled) == 10
    assert runs == [1, 5]
    assert seen == [2, 10]


def test_effect_sees_settled_values_once_per_batch() -> None:
    store = Store()
    a, b = atom(1), atom(1)
    total = derived(lambda get: get(a) + get(b))
    runs: list[int] = []
    store.sub(effect(lambda get, set: runs.append(get(total))), _noop)
    with store.batch():
        store.set(a, 2)
        store.set(b, 3)
    assert runs == [2, 5]


def test_effect_mounted_twice_runs_once_per_store() -> None:
    n = atom(1)
    runs: list[tuple[str, int]] = []
    eff = effect(lambda get, set: runs.append(("run", get(n))))
    first, second = Store(), Store()
    first.sub(eff, _noop)
    second.sub(eff, _noop)
    first.set(n, 2)
    assert runs == [("run", 1), ("run", 1), ("run", 2)]


def test_effect_remounted_runs_again() -> None:
    store = Store()
    n = atom(1)
    runs: list[int] = []
    eff = effect(lambda get, set: runs.append(get(n)))
    store.sub(eff, _noop)()
    store.sub(eff, _noop)
    assert runs == [1, 1]


def test_effect_that_raises_reaches_a_listener_that_reads_it() -> None:
    store = Store()
    n = atom(1)

    def fx(get: Getter, set: Setter) -> Any:
        if get(n) > 1:
            raise ValueError("too big")

    eff = effect(fx)
    store.sub(eff, lambda: store.get(eff))
    with pytest.raises(ListenerError) as raised:
        store.set(n, 2)
    assert isinstance(raised.value.errors[0], ValueError)
    assert store.get(n) == 2  # the write itself stays committed


def test_an_async_effect_function_is_refused() -> None:
    async def fx(get: Getter, set: Setter) -> None:
        pass

    with pytest.raises(TypeError, match="plain function"):
        effect(fx)  # type: ignore[arg-type]
