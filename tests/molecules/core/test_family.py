"""Atom families: identity per param, remove, should_remove, LRU and TTL eviction, events."""

from __future__ import annotations

from typing import Any

import pytest

from molecules import Atom, AtomFamily, FamilyEvent, Store, atom, atom_family


def test_same_param_gives_same_atom() -> None:
    user = atom_family(lambda user_id: atom(None))
    assert user("u1") is user("u1")
    assert user("u1") is not user("u2")
    assert list(user.keys()) == ["u1", "u2"]


def test_key_function_maps_unhashable_params() -> None:
    row = atom_family(lambda p: atom(p["id"]), key=lambda p: p["id"])
    assert row({"id": 1, "x": 1}) is row({"id": 1, "x": 2})


def test_remove_forgets_a_member() -> None:
    user = atom_family(lambda user_id: atom(user_id))
    first = user("u1")
    user.remove("u1")
    assert "u1" not in user
    assert user("u1") is not first


def test_should_remove_applies_now_and_on_lookup() -> None:
    clock = [100.0]
    family: AtomFamily[str, Atom[str]] = AtomFamily(lambda k: atom(k), clock=lambda: clock[0])
    old = family("old")
    clock[0] = 200.0
    family("new")
    family.set_should_remove(lambda created_at, key: created_at < 150)
    assert list(family.keys()) == ["new"]
    assert family("old") is not old
    clock[0] = 300.0  # "old" was recreated at 200: kept
    assert "old" in family


def test_listen_reports_create_and_remove() -> None:
    family = atom_family(lambda k: atom(k))
    events: list[FamilyEvent[Any, Any]] = []
    stop = family.listen(events.append)
    a = family("a")
    family.remove("a")
    stop()
    family("b")
    assert [(e.type, e.param, e.atom) for e in events] == [("CREATE", "a", a), ("REMOVE", "a", a)]


def test_max_size_evicts_least_recently_used_unmounted_members() -> None:
    store = Store()
    family = atom_family(lambda k: atom(k), max_size=2)
    a = family("a")
    store.sub(a, lambda: None)  # mounted: never evicted
    family("b")
    family("a")
    family("c")
    assert sorted(family.keys()) == ["a", "c"]
    family("d")
    assert sorted(family.keys()) == ["a", "d"]


def test_a_member_asked_for_is_never_evicted_by_its_own_lookup() -> None:
    store = Store()
    family = atom_family(lambda k: atom(k), max_size=1)
    store.sub(family("mounted"), lambda: None)
    first = family("new")
    assert family("new") is first  # over capacity, but the mounted member cannot go
    store.set(first, "written")
    assert store.get(family("new")) == "written"


def test_ttl_evicts_expired_unmounted_members() -> None:
    clock = [0.0]
    family: AtomFamily[str, Atom[str]] = AtomFamily(
        lambda k: atom(k), ttl=10, clock=lambda: clock[0]
    )
    store = Store()
    kept = family("kept")
    store.sub(kept, lambda: None)
    old = family("old")
    clock[0] = 11.0
    assert family("old") is not old
    assert family("kept") is kept


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_size"):
        atom_family(lambda k: atom(k), max_size=0)
    with pytest.raises(ValueError, match="ttl"):
        atom_family(lambda k: atom(k), ttl=-1)
