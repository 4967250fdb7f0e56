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


def test_custom_eq_never_sees_an_error_and_the_store_keeps_notifying() -> None:
    class Row:
        def __init__(self, id: int) -> None:
            self.id = id

    store = Store()
    n = atom(1)
    other = atom(0)

    def read(get: Getter) -> Row:
        if get(n) < 0:
            raise ValueError("negative")
        return Row(get(n))

    rows = derived(read, eq=lambda a, b: a.id == b.id)
    seen: list[str] = []
    store.sub(rows, lambda: seen.append("rows"))
    store.sub(other, lambda: seen.append("other"))
    store.set(n, -1)
    store.set(n, 2)  # recovers: eq must not be handed the error
    store.set(other, 1)
    assert seen == ["rows", "rows", "other"]


def test_on_mount_that_raises_undoes_the_subscription() -> None:
    store = Store()

    def boom(set_self: object) -> None:
        raise RuntimeError("cannot mount")

    source = atom(0, on_mount=boom)
    with pytest.raises(ListenerError, match="cannot mount"):
        store.sub(source, lambda: None)
    assert not store.is_mounted(source)
    store.set(source, 1)  # the store still works
    assert store.get(source) == 1


def test_a_cleanup_that_writes_notifies_after_the_lock_is_released() -> None:
    import threading

    store = Store()
    flag = atom(False)
    log = atom(0)
    source = atom(0, on_mount=lambda set_self: lambda: store.set(log, 1))
    pick = derived(lambda get: get(source) if get(flag) else -1)
    reachable: list[bool] = []

    def on_log() -> None:
        # Another thread can take the store's lock: we are outside it.
        t = threading.Thread(target=lambda: reachable.append(store.get(log) == 1))
        t.start()
        t.join(timeout=2)

    store.set(flag, True)
    store.sub(pick, lambda: None)
    store.sub(log, on_log)
    store.set(flag, False)  # `source` unmounts; its cleanup writes `log`
    assert reachable == [True]


def test_reading_a_failed_atom_again_and_again_does_not_grow_its_traceback() -> None:
    store = Store()

    def read(get: Getter) -> int:
        raise ValueError("always")

    failing = derived(read)
    depths = []
    for _ in range(200):
        try:
            store.get(failing)
        except ValueError as exc:
            tb, depth = exc.__traceback__, 0
            while tb is not None:
                tb, depth = tb.tb_next, depth + 1
            depths.append(depth)
    assert max(depths) == min(depths)


def test_a_get_kept_past_its_read_is_a_plain_read() -> None:
    store = Store()
    n = atom(4)
    kept: list[Getter] = []

    def read(get: Getter) -> int:
        kept.append(get)
        return int(get(n))

    store.get(derived(read))
    assert kept[0](n) == 4


def test_a_write_that_raises_still_delivers_what_it_committed() -> None:
    store = Store()
    count = atom(0)
    calls: list[int] = []
    store.sub(count, lambda: calls.append(store.get(count)))

    def write(get: Getter, set: object) -> None:
        set(count, 1)  # type: ignore[operator]
        raise ValueError("after the write")

    with pytest.raises(ValueError):
        store.set(derived(write=write))
    with pytest.raises(KeyError), store.batch():
        store.set(count, 2)
        raise KeyError("in the batch")
    assert calls == [1, 2]


def test_a_failing_equality_does_not_silence_other_listeners() -> None:
    store = Store()
    n = atom(1)
    heard: list[str] = []
    plain = derived(lambda get: get(n) * 10)
    store.sub(plain, lambda: heard.append("plain"))
    picky = derived(lambda get: get(n), eq=lambda a, b: 1 / 0 > 0)
    store.sub(picky, lambda: heard.append("picky"))
    store.set(n, 2)
    store.set(n, 3)
    assert heard.count("plain") == 2 and heard.count("picky") == 2


def test_an_unrelated_failing_listener_does_not_undo_a_new_subscription() -> None:
    store = Store()
    a = atom(0)
    store.sub(a, lambda: 1 / 0)  # a listener of another atom that fails when told
    c = atom(0, on_mount=lambda set_self: store.set(a, 5))
    with pytest.raises(ListenerError, match="division"):
        store.sub(c, lambda: None)  # its on_mount is fine; a's listener is not
    assert store.is_mounted(c)


def test_unsubscribe_runs_every_cleanup_even_when_one_raises() -> None:
    store = Store()
    ran: list[str] = []

    def mount(name: str, fail: bool) -> object:
        def on_mount(set_self: object) -> object:
            def cleanup() -> None:
                ran.append(name)
                if fail:
                    raise RuntimeError(name)

            return cleanup

        return on_mount

    x = atom(0, on_mount=mount("x", False))
    y = atom(0, on_mount=mount("y", True))
    both = derived(lambda get: get(y) + get(x))
    unsubscribe = store.sub(both, lambda: None)
    with pytest.raises(ListenerError, match="y"):
        unsubscribe()
    assert sorted(ran) == ["x", "y"]
