"""Jotai's tests of atom kinds, read caching and mounted atoms, ported through the public API.

From tests/vanilla/basic.test.tsx, the three behaviour tests of
tests/vanilla/internals.test.tsx and the two mounted-atoms tests of
tests/vanilla/storedev.test.tsx (Jotai's dev store lists mounted atoms; here
`store.is_mounted` answers per atom). Each test keeps Jotai's file and test name in its
docstring. Jotai's snapshot of an atom's fields becomes the atom's kind properties, its
`debugLabel` our `name=`, and the internals tests keep only what the public API shows:
how often read functions run (Jotai also counts calls of its internal `readAtomState`
and of `invalidateDependents`, which have no counterpart).
"""

from __future__ import annotations

from typing import Any

from molecules import Atom, Getter, Setter, Store, atom, derived


def _noop() -> None:
    pass


class _Reads:
    """Wraps read functions to count how often any of them runs."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, read: Any) -> Any:
        def counted(get: Getter) -> Any:
            self.count += 1
            return read(get)

        return counted


def test_the_four_kinds_of_atom() -> None:
    """basic: creates atoms"""
    count, another = atom(0), atom(1)
    doubled = derived(lambda get: get(count) * 2)

    def add_half_each(get: Getter, set: Setter, value: int) -> None:
        set(count, get(count) + value // 2)
        set(another, get(another) + value // 2)

    total = derived(lambda get: get(count) + get(another), add_half_each)
    decrement = derived(write=lambda get, set: set(count, get(count) - 1))
    assert (count.is_primitive, count.is_writable) == (True, True)
    assert (doubled.is_primitive, doubled.is_writable) == (False, False)
    assert (total.is_primitive, total.is_writable) == (False, True)
    assert (decrement.is_primitive, decrement.is_writable) == (False, True)
    store = Store()
    store.set(total, 4)
    store.set(decrement)
    assert (store.get(count), store.get(another), store.get(doubled)) == (1, 3, 2)
    assert store.get(decrement) is None


def test_an_atom_name_shows_in_its_repr() -> None:
    """basic: [DEV-ONLY] should include debugLabel in toString output"""
    assert "count" in repr(atom(0, name="count"))
    assert "count" not in repr(atom(0))


def test_a_cached_get_of_a_wide_derived_atom_runs_no_read() -> None:
    """internals: each store.get causes full scan of atom dependencies when state unchanged
    (performance)"""
    reads = _Reads()
    sources = [atom(0) for _ in range(10_000)]
    wide = derived(reads(lambda get: [get(s) for s in sources]))
    store = Store()
    store.get(wide)
    assert reads.count == 1
    store.get(wide)
    assert reads.count == 1


def test_unmounted_caches_stay_valid_after_one_write() -> None:
    """internals: multiple unmounted derived atom caches stay valid after one mutation
    (performance)"""
    reads = _Reads()
    base = atom(0)

    def copies() -> list[Atom[int]]:
        return [derived(reads(lambda get: get(base))) for _ in range(1_000)]

    first, second = copies(), copies()
    wide_first = derived(reads(lambda get: [get(a) for a in first]))
    wide_second = derived(reads(lambda get: [get(a) for a in second]))
    store = Store()
    store.get(wide_first)
    store.get(wide_second)
    store.set(base, 1)
    store.get(wide_first)
    store.get(wide_second)
    reads.count = 0
    store.get(wide_first)
    assert reads.count == 0
    store.get(wide_second)
    assert reads.count == 0


def test_a_mounted_diamond_recomputes_its_leaf_once_per_write() -> None:
    """internals: invalidateDependents should not invalidate the same dependent twice via
    multiple paths (what shows of it: the leaf runs once)"""
    reads = _Reads()
    base = atom(0)
    left = derived(lambda get: get(base))
    right = derived(lambda get: get(base))
    leaf = derived(reads(lambda get: get(left) + get(right)))
    store = Store()
    unsubscribe = store.sub(leaf, _noop)
    reads.count = 0
    store.set(base, 1)
    assert reads.count == 1
    assert store.get(leaf) == 2
    unsubscribe()


def _doubled_pair() -> tuple[Atom[int], Atom[int]]:
    count = atom(0)
    return count, derived(lambda get: get(count) * 2)


def test_a_subscribed_derived_atom_and_its_source_are_mounted() -> None:
    """storedev: dev-only methods: should return all the mounted atoms correctly"""
    count, doubled = _doubled_pair()
    store = Store()
    unsubscribe = store.sub(doubled, _noop)
    store.set(count, 1)
    assert store.is_mounted(doubled)
    assert store.is_mounted(count)
    unsubscribe()


def test_nothing_stays_mounted_after_unsubscribing() -> None:
    """storedev: dev-only methods: should return all the mounted atoms correctly after
    they're unsubscribed"""
    count, doubled = _doubled_pair()
    store = Store()
    unsubscribe = store.sub(doubled, _noop)
    store.set(count, 1)
    unsubscribe()
    assert not store.is_mounted(doubled)
    assert not store.is_mounted(count)
