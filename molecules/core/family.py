"""Atom families: one atom per parameter, created on first use, evicted on request."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any, Generic, Literal, TypeVar

import attrs

from molecules.core.atom import Atom

P = TypeVar("P")
A = TypeVar("A", bound=Atom[Any])


@attrs.frozen(slots=True)
class FamilyEvent(Generic[P, A]):
    """What `AtomFamily.listen` reports: a member was created or removed."""

    type: Literal["CREATE", "REMOVE"]
    param: P
    atom: A


@attrs.define(slots=True)
class _Member(Generic[P, A]):
    atom: A
    param: P
    created_at: float


class AtomFamily(Generic[P, A]):
    """`family(param)` returns the same atom for equal params until it is removed.

    `max_size` keeps at most that many members, evicting the least recently used ones that
    no store has mounted; `ttl` (seconds) evicts unmounted members older than that.
    `set_should_remove(fn)` removes every member for which `fn(created_at, param)` is true,
    now and on each later lookup.
    """

    def __init__(
        self,
        factory: Callable[[P], A],
        *,
        key: Callable[[P], Hashable] | None = None,
        max_size: int | None = None,
        ttl: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_size is not None and max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}")
        if ttl is not None and ttl <= 0:
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl}")
        self._factory = factory
        self._key = key
        self._max_size = max_size
        self._ttl = ttl
        self._clock = clock
        self._members: OrderedDict[Hashable, _Member[P, A]] = OrderedDict()
        self._should_remove: Callable[[float, P], bool] | None = None
        self._listeners: list[Callable[[FamilyEvent[P, A]], Any]] = []
        self._lock = threading.RLock()
        self._peak = 0
        # Nothing evicts: a hit needs no lock (a dict read is atomic under the GIL).
        self._plain = max_size is None and ttl is None

    def __call__(self, param: P) -> A:
        """The member for `param`, created by the factory on first use."""
        k = param if self._key is None else self._key(param)
        if self._plain:
            found = self._members.get(k)
            if found is not None:
                return found.atom
        with self._lock:
            member = self._members.get(k)
            if member is not None:
                if self._should_remove is None or not self._should_remove(
                    member.created_at, member.param
                ):
                    if self._max_size is not None:
                        self._members.move_to_end(k)
                    if self._ttl is None or not self._expired(member):
                        return member.atom
                self._drop(k)
            created = self._factory(param)
            self._members[k] = _Member(created, param, self._clock())
            events = [FamilyEvent("CREATE", param, created), *self._evict(keep=k)]
        self._emit(events)
        return created

    def remove(self, param: P) -> None:
        """Forget the member for `param` (a later call creates a new atom)."""
        k = param if self._key is None else self._key(param)
        with self._lock:
            events = self._drop(k)
        self._emit(events)

    def set_should_remove(self, should_remove: Callable[[float, P], bool] | None) -> None:
        """Remove members for which `should_remove(created_at, param)` holds, now and later."""
        with self._lock:
            self._should_remove = should_remove
            self._plain = should_remove is None and self._max_size is None and self._ttl is None
            events: list[FamilyEvent[P, A]] = []
            if should_remove is not None:
                for k, member in list(self._members.items()):
                    if should_remove(member.created_at, member.param):
                        events += self._drop(k)
        self._emit(events)

    def evict(self) -> None:
        """Apply `max_size` and `ttl` now (lookups also apply them)."""
        with self._lock:
            events = self._evict()
        self._emit(events)

    def keys(self) -> Iterator[P]:
        """The params of the current members, oldest first."""
        with self._lock:
            params = [m.param for m in self._members.values()]
        return iter(params)

    def listen(self, listener: Callable[[FamilyEvent[P, A]], Any]) -> Callable[[], None]:
        """Call `listener(event)` on each CREATE and REMOVE; returns `unlisten`."""
        with self._lock:
            self._listeners.append(listener)

        def unlisten() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unlisten

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, param: object) -> bool:
        k = param if self._key is None else self._key(param)  # type: ignore[arg-type]
        return k in self._members

    def _expired(self, member: _Member[P, A]) -> bool:
        assert self._ttl is not None
        return member.atom.mounts == 0 and self._clock() - member.created_at > self._ttl

    def _drop(self, k: Hashable) -> list[FamilyEvent[P, A]]:
        member = self._members.pop(k, None)
        if member is None:
            return []
        size = len(self._members)
        self._peak = max(self._peak, size + 1)
        if self._peak > 1024 and size * 4 < self._peak:
            # Dicts never shrink on deletion: copy once most members are gone, so a family
            # that grew large and was emptied gives its memory back.
            self._members = OrderedDict(self._members)
            self._peak = size
        return [FamilyEvent("REMOVE", member.param, member.atom)]

    def _evict(self, keep: Hashable = None) -> list[FamilyEvent[P, A]]:
        events: list[FamilyEvent[P, A]] = []
        if self._ttl is not None:
            for k, member in list(self._members.items()):
                if self._expired(member):
                    events += self._drop(k)
        if self._max_size is not None and len(self._members) > self._max_size:
            excess = len(self._members) - self._max_size
            # Least recently used first; mounted members and the one just asked for stay
            # (the family may then hold more than max_size until they unmount).
            for k, member in list(self._members.items()):
                if excess == 0:
                    break
                if member.atom.mounts == 0 and k != keep:
                    events += self._drop(k)
                    excess -= 1
        return events

    def _emit(self, events: list[FamilyEvent[P, A]]) -> None:
        if not events or not self._listeners:
            return
        for listener in list(self._listeners):
            for event in events:
                listener(event)


def atom_family(
    factory: Callable[[P], A],
    *,
    key: Callable[[P], Hashable] | None = None,
    max_size: int | None = None,
    ttl: float | None = None,
) -> AtomFamily[P, A]:
    """A family of atoms made by `factory(param)`, one per parameter (see `AtomFamily`)."""
    return AtomFamily(factory, key=key, max_size=max_size, ttl=ttl)
