"""Mounting, on_mount and cleanup, and shared mounts."""

from __future__ import annotations

from typing import Any

from molecules import Store, atom, derived


def test_on_mount_runs_at_first_subscriber_and_cleanup_at_last_unsubscribe() -> None:
    store = Store()
    events: list[str] = []

    def on_mount(set_self: Any) -> Any:
        events.append("mount")
        return lambda: events.append("cleanup")

    source = atom(0, on_mount=on_mount)
    double = derived(lambda get: get(source) * 2)
    u1 = store.sub(double, lambda: None)
    u2 = store.sub(source, lambda: None)
    assert events == ["mount"]
    assert store.is_mounted(source) and store.is_mounted(double)
    u1()
    assert events == ["mount"]
    u2()
    assert events == ["mount", "cleanup"]
    assert not store.is_mounted(source) and not store.is_mounted(double)


def test_on_mount_may_write_its_own_atom() -> None:
    store = Store()
    ticker = atom(0, on_mount=lambda set_self: set_self(42))
    seen: list[int] = []
    store.sub(ticker, lambda: seen.append(store.get(ticker)))
    assert store.get(ticker) == 42
    assert seen == [42]


def test_dependency_switch_unmounts_the_dropped_branch() -> None:
    store = Store()
    events: list[str] = []

    def on_mount(set_self: Any) -> Any:
        events.append("mount")
        return lambda: events.append("cleanup")

    flag = atom(True)
    tracked = atom(1, on_mount=on_mount)
    pick = derived(lambda get: get(tracked) if get(flag) else 0)
    store.sub(pick, lambda: None)
    assert events == ["mount"]
    store.set(flag, False)
    assert events == ["mount", "cleanup"]
    assert not store.is_mounted(tracked)
    store.set(flag, True)
    assert events == ["mount", "cleanup", "mount"]


def test_on_mount_runs_per_store() -> None:
    mounts: list[int] = []
    source = atom(0, on_mount=lambda set_self: mounts.append(1))
    one, two = Store(), Store()
    one.sub(source, lambda: None)
    two.sub(source, lambda: None)
    assert len(mounts) == 2


def test_unmounted_atom_after_unsubscribe_still_reads_fresh_values() -> None:
    store = Store()
    count = atom(0)
    double = derived(lambda get: get(count) * 2)
    unsub = store.sub(double, lambda: None)
    unsub()
    store.set(count, 21)
    assert store.get(double) == 42
