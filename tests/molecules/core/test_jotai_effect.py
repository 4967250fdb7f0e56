"""Jotai's effect tests (tests/vanilla/effect.test.ts), ported through the public API.

Jotai's file builds a `syncEffect` out of store internals (onInit, store hooks, the flush
hook); here the first four tests use our `effect`, and the last one a hand-made effect
atom, as Jotai's does. Each test keeps Jotai's test name in its docstring. Two
differences:

* `effect` runs when its atom is read, in dependency order during the recompute, not
  after every recompute: an atom that reads the effect runs it in the middle of its own
  read (test_an_effect_read_by_another_atom_runs_inside_that_read).
* A `get` kept past the end of a synchronous read is a plain read here, so Jotai's
  `Promise.resolve().then(runEffect)` becomes code after an `await` in an async read,
  where reads are tracked.
"""

from __future__ import annotations

import asyncio
from typing import Any

from molecules import Getter, Setter, Store, atom, derived, effect
from tests.molecules.core.eventually import until


def _noop() -> None:
    pass


class _Box:
    """A mutable value, so that reads and listeners can change it in place."""

    def __init__(self, v: int | None = None) -> None:
        self.v = v


def test_an_effect_read_by_another_atom_runs_inside_that_read() -> None:
    """fires after recomputeDependents and before atom listeners (a difference: the effect
    runs inside the read of the atom that reads it, so it sees the value before that read
    changed it)"""
    store = Store()
    a = atom(_Box())
    seen: list[int | None] = []
    e = effect(lambda get, set: seen.append(get(a).v))

    def read(get: Getter) -> _Box:
        box = get(a)
        get(e)
        box.v = 1
        return box

    b = derived(read)
    store.sub(b, lambda: setattr(store.get(a), "v", 2))
    store.set(a, _Box(0))
    assert seen[-1] == 0
    assert 2 not in seen


class _Recorder:
    """An effect function recording `10 * a + b`, counting its runs and cleanups."""

    def __init__(self, a: Any, b: Any) -> None:
        self.a, self.b = a, b
        self.results: list[int] = []
        self.cleanups = 0

    def __call__(self, get: Getter, set: Setter) -> Any:
        self.results.append(get(self.a) * 10 + get(self.b))
        return self.cleanup

    def cleanup(self) -> None:
        self.cleanups += 1


def _follow_writes(through_reader: bool) -> None:
    """Shared body of the two "responds to changes" tests."""
    store = Store()
    a, b = atom(1), atom(1)

    def write_both(get: Getter, set: Setter, value: int) -> None:
        set(a, value)
        set(b, value)

    both = derived(write=write_both)
    recorder = _Recorder(a, b)
    e = effect(recorder)
    target = derived(lambda get: get(e)) if through_reader else e
    unsubscribe = store.sub(target, _noop)
    assert recorder.results == [11]
    store.set(a, 2)
    assert recorder.results == [11, 21]
    store.set(b, 2)
    assert recorder.results == [11, 21, 22]
    store.set(both, 3)
    assert recorder.results == [11, 21, 22, 33]  # never the half-written 32
    assert recorder.cleanups == 3
    unsubscribe()
    assert recorder.cleanups == 4
    store.set(a, 4)
    assert recorder.results == [11, 21, 22, 33]


def test_a_subscribed_effect_runs_after_each_settled_write() -> None:
    """responds to changes to atoms when subscribed"""
    _follow_writes(through_reader=False)


def test_an_effect_mounted_through_a_reader_runs_after_each_settled_write() -> None:
    """responds to changes to atoms when mounted with get"""
    _follow_writes(through_reader=True)


def test_an_effect_writing_what_it_reads_runs_once_per_outside_write() -> None:
    """sets values to atoms without causing infinite loop"""
    store = Store()
    a = atom(1)
    runs: list[int] = []

    def bump(get: Getter, set: Setter) -> None:
        runs.append(get(a))
        set(a, get(a) + 1)

    unsubscribe = store.sub(effect(bump), _noop)
    assert store.get(a) == 2
    store.set(a, store.get(a) + 1)
    assert store.get(a) == 4
    assert len(runs) == 2
    unsubscribe()
    assert len(runs) == 2


class _Ref:
    """What Jotai's test keeps in its ref atom: mounted yet, a kept setter, recursion."""

    def __init__(self) -> None:
        self.mounted = False
        self.recursing = 0
        self.set: Any = None


async def test_a_read_may_write_what_it_reads_until_it_settles() -> None:
    """supports recursive setting synchronous in read"""
    store = Store()
    a = atom(0)
    refresh = atom(0)

    def keep_setter(get: Getter, set: Setter) -> None:
        ref = get(ref_atom)
        ref.mounted, ref.set = True, set
        set(refresh, get(refresh) + 1)

    ref_atom = derived(lambda get: _Ref(), keep_setter, on_mount=lambda mount: mount())

    async def read(get: Getter) -> None:
        get(refresh)
        ref = get(ref_atom)
        if not ref.mounted:
            return

        def run_effect() -> None:
            value = get(a)
            if value < 5:
                ref.recursing += 1
                ref.set(a, value + 1)

        if ref.recursing:
            before = -1
            while before != ref.recursing:
                before = ref.recursing
                run_effect()
            ref.recursing = 0
            return
        await asyncio.sleep(0)
        run_effect()

    store.sub(derived(read), _noop)
    await until(lambda: store.get(a) == 5)
    await asyncio.sleep(0.01)
    assert store.get(a) == 5
