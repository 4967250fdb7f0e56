"""Scoped variables (user, org, project) fetched per context and kept for a while.

Each `ScopeContext` (user id, org id, project id together) has its own entry: two contexts
never share values, even when they have an org in common, so a value can never leak from
one user's context into another's. An entry is kept `ttl` seconds (5 minutes by default)
and fetched again on the next use after that, or at once by `load(..., refresh=True)`.
Concurrent loads of one context share one fetch. Entries live in atoms, so each store has
its own cache.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs

from molecules.core.atom import Atom, Getter, Setter, atom, derived
from molecules.core.family import AtomFamily, atom_family
from molecules.engine.context import ScopeContext
from molecules.engine.state import SCOPES

DEFAULT_SCOPED_TTL = 300.0
"""Seconds a context's scoped variables are kept."""

ScopedValues = Mapping[str, Mapping[str, Any]]
"""Variables by scope: {"project": {...}, "org": {...}, "user": {...}}."""


class ScopeSource(Protocol):
    """Where one scope's variables live (`runnable.sources.ScopedVariableSource` is one)."""

    async def get_scope(self, scope_id: str) -> Mapping[str, Any]:
        """Every variable of the scope as {name: value}."""
        ...


@attrs.frozen(slots=True)
class ScopedEntry:
    """One context's scoped variables and when they were fetched (the cache's clock)."""

    values: ScopedValues
    fetched_at: float


class ScopedVariableCache:
    """Scoped variables by context, from up to three sources keyed "user", "org", "project"."""

    def __init__(
        self,
        sources: Mapping[str, ScopeSource] | None = None,
        *,
        ttl: float = DEFAULT_SCOPED_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        unknown = sorted(set(sources or {}) - set(SCOPES))
        if unknown:
            raise ValueError(f"unknown scopes {unknown}; scoped sources are keyed by {SCOPES}")
        if ttl <= 0:
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl}")
        self.sources: dict[str, ScopeSource] = dict(sources or {})
        self.ttl = ttl
        self.clock = clock
        # Members older than twice the ttl are stale anyway: evicting them bounds memory.
        self.entry: AtomFamily[ScopeContext, Atom[ScopedEntry | None]] = atom_family(
            lambda ctx: atom(None, name=f"scoped.entry({ctx!r})"), ttl=2 * ttl
        )
        self._fetching: AtomFamily[ScopeContext, Atom[asyncio.Task[ScopedEntry] | None]] = (
            atom_family(lambda ctx: atom(None, name=f"scoped.fetching({ctx!r})"))
        )
        self.values: AtomFamily[ScopeContext, Atom[ScopedValues | None]] = atom_family(
            lambda ctx: derived(
                lambda get: _values(get(self.entry(ctx))), name=f"scoped.values({ctx!r})"
            )
        )

    def is_fresh(self, entry: ScopedEntry | None) -> bool:
        """True when `entry` exists and is younger than the ttl."""
        return entry is not None and self.clock() - entry.fetched_at < self.ttl

    async def load(
        self, get: Getter, set: Setter, context: ScopeContext, *, refresh: bool = False
    ) -> ScopedValues:
        """The context's scoped variables: cached while fresh, else fetched (once)."""
        entry = get(self.entry(context))
        if not refresh and self.is_fresh(entry):
            assert entry is not None
            return entry.values
        task = get(self._fetching(context))
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._fetch(set, context))
            set(self._fetching(context), task)
        # Shielded: one caller giving up must not cancel the fetch others wait for.
        fetched = await asyncio.shield(task)
        return fetched.values

    async def _fetch(self, set: Setter, context: ScopeContext) -> ScopedEntry:
        try:
            scopes = [s for s in SCOPES if s in self.sources and context.scope_id(s)]
            found = await asyncio.gather(
                *(self.sources[s].get_scope(context.scope_id(s) or "") for s in scopes)
            )
            entry = ScopedEntry(
                {scope: dict(values) for scope, values in zip(scopes, found, strict=True)},
                self.clock(),
            )
            set(self.entry(context), entry)
            return entry
        finally:
            set(self._fetching(context), None)


def _values(entry: ScopedEntry | None) -> ScopedValues | None:
    return None if entry is None else entry.values
