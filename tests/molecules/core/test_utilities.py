"""select_atom, atom_with_reset, atom_with_default, atom_from_observable."""

from __future__ import annotations

from typing import Any

import pytest
import reactivex
from reactivex.subject import BehaviorSubject, Subject

from molecules import (
    RESET,
    Store,
    atom,
    atom_from_observable,
    atom_with_default,
    atom_with_reset,
    select_atom,
)


def test_select_atom_keeps_old_object_while_equal() -> None:
    store = Store()
    user = atom({"name": "Ada", "tags": ["x"], "age": 36})
    tags = select_atom(user, lambda u: list(u["tags"]))
    first = store.get(tags)
    calls: list[None] = []
    store.sub(tags, lambda: calls.append(None))
    store.set(user, {"name": "Ada", "tags": ["x"], "age": 37})
    assert store.get(tags) is first
    assert calls == []
    store.set(user, {"name": "Ada", "tags": ["y"], "age": 37})
    assert calls == [None]


def test_select_atom_with_custom_eq() -> None:
    store = Store()
    n = atom(1.0)
    rounded = select_atom(n, lambda v: v, eq=lambda a, b: round(a) == round(b))
    store.sub(rounded, lambda: None)
    store.set(n, 1.2)
    assert store.get(rounded) == 1.0


def test_atom_with_reset_returns_to_initial() -> None:
    store = Store()
    name = atom_with_reset("draft")
    store.set(name, "edited")
    assert store.get(name) == "edited"
    store.set(name, RESET)
    assert store.get(name) == "draft"


def test_atom_with_default_follows_default_until_written() -> None:
    store = Store()
    base = atom(2)
    value = atom_with_default(lambda get: get(base) * 10)
    assert store.get(value) == 20
    store.set(base, 3)
    assert store.get(value) == 30
    store.set(value, 1)
    store.set(base, 4)
    assert store.get(value) == 1
    store.set(value, RESET)
    assert store.get(value) == 40


def test_atom_from_observable_subscribes_once_for_many_subscribers() -> None:
    subscriptions: list[int] = []
    subject: BehaviorSubject[int] = BehaviorSubject(1)

    def subscribe(observer: Any, scheduler: Any = None) -> Any:
        subscriptions.append(1)
        return subject.subscribe(observer)

    source = atom_from_observable(reactivex.create(subscribe), initial=0)
    store = Store()
    seen: list[int] = []
    u1 = store.sub(source, lambda: seen.append(store.get(source)))
    u2 = store.sub(source, lambda: None)
    subject.on_next(2)
    assert subscriptions == [1]
    assert store.get(source) == 2
    u1()
    u2()
    assert not subject.observers  # unsubscribed upstream at last unmount


def test_atom_from_observable_error_fails_reads_and_completion_keeps_value() -> None:
    store = Store()
    s1: Subject[int] = Subject()
    failing = atom_from_observable(s1, initial=0)
    store.sub(failing, lambda: None)
    s1.on_error(RuntimeError("upstream broke"))
    with pytest.raises(RuntimeError, match="upstream broke"):
        store.get(failing)

    s2: Subject[int] = Subject()
    finished = atom_from_observable(s2, initial=0)
    store.sub(finished, lambda: None)
    s2.on_next(9)
    s2.on_completed()
    assert store.get(finished) == 9
