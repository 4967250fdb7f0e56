"""store.observe as a reactivex Observable."""

from __future__ import annotations

from typing import Any

from molecules import Getter, Store, atom, derived


def test_observe_emits_current_value_then_each_change() -> None:
    store = Store()
    count = atom(1)
    seen: list[int] = []
    sub = store.observe(count).subscribe(seen.append)
    store.set(count, 2)
    store.set(count, 2)
    store.set(count, 3)
    sub.dispose()
    store.set(count, 4)
    assert seen == [1, 2, 3]


def test_observe_never_emits_an_intermediate_diamond_value() -> None:
    store = Store()
    head = atom(1)
    left = derived(lambda get: get(head) + 1)
    right = derived(lambda get: get(head) * 2)
    pair = derived(lambda get: (get(left), get(right)))
    seen: list[Any] = []
    store.observe(pair).subscribe(seen.append)
    store.set(head, 5)
    assert seen == [(2, 2), (6, 10)]


def test_many_observers_share_one_mount() -> None:
    store = Store()
    mounts: list[int] = []
    count = atom(0, on_mount=lambda set_self: mounts.append(1))
    obs = store.observe(count)
    subs = [obs.subscribe(lambda v: None) for _ in range(5)]
    assert mounts == [1]
    for s in subs:
        s.dispose()
    assert not store.is_mounted(count)


def test_observe_reports_read_errors_through_on_error() -> None:
    store = Store()
    n = atom(1)

    def read(get: Getter) -> int:
        if get(n) < 0:
            raise ValueError("negative")
        return int(get(n))

    errors: list[Exception] = []
    values: list[int] = []
    store.observe(derived(read)).subscribe(values.append, errors.append)
    store.set(n, -1)
    store.set(n, 2)
    assert values == [1]
    assert [str(e) for e in errors] == ["negative"]
