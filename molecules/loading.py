"""LoadingMolecule: the query state of each entity, and fetching it.

Subscribing to `query(id)` (or to anything built on it: `data`, `is_dirty`...) starts the
fetch of an idle entity within the `sub` call, so the subscriber hears `loading`, then
`success` or `error`; a plain read inside a running asyncio loop starts it right after
the read. Writing the query atom (`store.set(m.query(id))`) also starts an idle fetch.
`await store.set(m.load, id)` fetches once (cached forever, or `ttl` seconds; a new
subscriber after the ttl fetches again) and returns the data; `m.refresh` fetches again,
the old data staying visible meanwhile. Outside a loop an async fetch waits for an
awaited `load`; a plain fetch runs at once. A
missing entity is a query in status "error" holding an `EntityNotFoundError`; only an
awaited `load` raises it.

Versions: a fetch may return a `runnable.sources.Versioned` (document and version);
`server_version(id)` is then the version of the server data (None when unknown), and
`server_changed(id, version)` (a change announced by the source, from any process)
refreshes an entity the store has loaded unless it already holds that version;
`refresh_loaded()` refreshes every entity the store has loaded (after the feed lost
some announcements).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from molecules.base import Fetch, MoleculeBase
from molecules.core.atom import Atom, Getter, Setter, atom, derived
from molecules.core.errors import ListenerError, MoleculesError
from molecules.core.node import ReadContext
from molecules.core.store import Store
from molecules.errors import EntityLoadError, EntityNotFoundError
from molecules.ids import Family, entity_id, id_family
from molecules.query import QueryState, running_loop
from molecules.ready import ready
from runnable.sources.base import Versioned

__all__ = ["LoadingMolecule"]

T = TypeVar("T")

_log = logging.getLogger(__name__)


def _start_from_read(store: Store, start: Atom[Any], key: str) -> None:
    store.set(start, key)


class LoadingMolecule(MoleculeBase[T]):
    """Selectors `query`, `server_data`, `server_version`; actions `load`, `refresh`...

    ... `set_server_data`, `server_changed` and `refresh_loaded`.
    """

    def __init__(self, name: str, fetch: Fetch, **options: Any) -> None:
        super().__init__(name, fetch, **options)
        self.query: Family = self.register_selector("query", id_family(self._make_query))
        self.server_data = self.selector("server_data", lambda get, key: get(self.query(key)).data)
        self.load = self.action("load", self._write_load)
        self.refresh = self.action("refresh", self._write_refresh)
        self.set_server_data = self.action("set_server_data", self._write_server_data)
        self._version = id_family(lambda _: atom(None))
        self.server_version = self.selector(
            "server_version", lambda get, key: get(self._version(key))
        )
        self.server_changed = self.action("server_changed", self._write_server_changed)
        self.refresh_loaded = self.action("refresh_loaded", self._write_refresh_loaded)
        self._start: Atom[None] = derived(write=self._write_start, name=f"{name}._start")
        self._settle: Atom[None] = derived(write=self._write_settle, name=f"{name}._settle")

    def _make_query(self, key: str) -> Atom[QueryState[T]]:
        state = self._state(key)
        start = self._start

        def read(get: Getter, ctx: ReadContext) -> QueryState[T]:
            value: QueryState[T] = get(state)
            if value.status == "idle":
                loop = running_loop()
                if loop is not None:
                    # A read must not write: the fetch starts right after this read.
                    loop.call_soon(_start_from_read, ctx.store, start, key)
            return value

        def write(get: Getter, set: Setter) -> None:
            set(start, key)  # writing a query starts its fetch, when it is idle

        hooks = self._hooks

        def on_mount(start_now: Callable[..., Any]) -> Callable[[], None] | None:
            # A subscriber's fetch starts within its `sub` call, not a loop turn later.
            start_now()
            hooks.call("on_mount", key)
            if hooks.on_unmount is None:
                return None
            return lambda: hooks.call("on_unmount", key)

        return derived(read, write, on_mount=on_mount, name=f"{self.name}.query({key})")

    def _expired(self, state: QueryState[T]) -> bool:
        return (
            self.ttl is not None
            and state.fetched_at is not None
            and self._clock() - state.fetched_at > self.ttl
        )

    def _write_start(self, get: Getter, set: Setter, key: str) -> None:
        state: QueryState[T] = get(self._state(key))
        stale = state.status == "idle" or (state.status == "success" and self._expired(state))
        if not stale or self._new_now(get, key):
            return
        loop = running_loop()
        if loop is None and self._fetch_is_async:
            return  # nothing can run it here; a `load` awaited later will
        self._begin_fetch(get, set, key, loop)

    def _write_load(self, get: Getter, set: Setter, key: Any) -> Coroutine[Any, Any, T | None]:
        key = entity_id(key)
        state: QueryState[T] = get(self._state(key))
        if self._new_now(get, key) or (state.status == "success" and not self._expired(state)):
            return ready(lambda: self._result(get, key))
        flight = self._peek(get, self._inflight, key)
        if state.status == "loading" and flight is not None:
            return self._wait(get, key, flight)
        return self._fetch_now(get, set, key, self.load)

    def _write_refresh(self, get: Getter, set: Setter, key: Any) -> Coroutine[Any, Any, T | None]:
        key = entity_id(key)
        if self._new_now(get, key):
            return ready(lambda: self._result(get, key))
        return self._fetch_now(get, set, key, self.refresh)

    def _fetch_now(
        self, get: Getter, set: Setter, key: str, again: Atom[Any]
    ) -> Coroutine[Any, Any, T | None]:
        loop = running_loop()
        if loop is None and self._fetch_is_async:

            async def later() -> T | None:
                result: T | None = await set(again, key)
                return result

            return later()
        task = self._begin_fetch(get, set, key, loop)
        if task is None:
            return ready(lambda: self._result(get, key))
        return self._wait(get, key, task)

    def _begin_fetch(
        self, get: Getter, set: Setter, key: str, loop: asyncio.AbstractEventLoop | None
    ) -> asyncio.Task[Any] | None:
        """Start fetching `key`: the query goes loading; returns the task, if async."""
        prev: QueryState[T] = get(self._state(key))
        set(self._state(key), QueryState("loading", prev.data, None, prev.fetched_at))
        if self._fetch_is_async and loop is not None:
            # The fetch is called inside the task: a task cancelled before it starts (a
            # loop shutting down) then leaves no coroutine behind that nobody awaited.
            task = loop.create_task(self._fetch_task(key, None, set, prev))
            set(self._inflight(key), task)
            return task
        try:
            result = self._fetch(key)
        except Exception as exc:
            self._write_settle(get, set, key, None, self._failure(key, exc, prev))
            return None
        if not inspect.isawaitable(result):
            raw, version = _split_version(result)
            self._write_settle(get, set, key, None, self._outcome(key, raw, prev), version)
            return None
        if loop is None:
            if inspect.iscoroutine(result):
                result.close()
            failure = EntityLoadError(
                self.name, key, "fetch returned an awaitable outside an asyncio loop"
            )
            self._write_settle(get, set, key, None, QueryState("error", prev.data, failure))
            return None
        task = loop.create_task(self._fetch_task(key, result, set, prev))
        set(self._inflight(key), task)
        return task

    async def _fetch_task(
        self, key: str, pending: Awaitable[Any] | None, set: Setter, prev: QueryState[T]
    ) -> None:
        me = asyncio.current_task()
        version = None
        try:
            raw, version = _split_version(await (self._fetch(key) if pending is None else pending))
        except asyncio.CancelledError:
            # Not back to idle: an idle query read would start the fetch again at once.
            stopped = EntityLoadError(self.name, key, "the fetch was cancelled")
            outcome = QueryState("error", prev.data, stopped, prev.fetched_at)
            self._settle_quietly(set, key, me, outcome)
            raise
        except Exception as exc:
            outcome = self._failure(key, exc, prev)
        else:
            outcome = self._outcome(key, raw, prev)
        self._settle_quietly(set, key, me, outcome, version)

    def _settle_quietly(
        self,
        set: Setter,
        key: str,
        token: object,
        outcome: QueryState[T],
        version: int | None = None,
    ) -> None:
        try:
            set(self._settle, key, token, outcome, version)
        except ListenerError:
            # The state is committed; the listeners' own failures have nobody else to go to.
            _log.exception("listeners failed after %s %r loaded", self.name, key)

    def _outcome(self, key: str, raw: Any, prev: QueryState[T]) -> QueryState[T]:
        if raw is None:
            return QueryState("error", None, EntityNotFoundError(self.name, key, self.where))
        try:
            data = self.transform(raw)
        except Exception as exc:
            error = EntityLoadError(self.name, key, f"invalid entity data: {exc}")
            error.__cause__ = exc
            return QueryState("error", prev.data, error, prev.fetched_at)
        return QueryState("success", data, None, self._clock())

    def _failure(self, key: str, exc: Exception, prev: QueryState[T]) -> QueryState[T]:
        if isinstance(exc, MoleculesError):
            error: Exception = exc
        else:
            error = EntityLoadError(self.name, key, f"fetch failed: {type(exc).__name__}: {exc}")
            error.__cause__ = exc
        return QueryState("error", prev.data, error, prev.fetched_at)

    def _write_settle(
        self,
        get: Getter,
        set: Setter,
        key: str,
        token: object,
        outcome: QueryState[T],
        version: int | None = None,
    ) -> None:
        flight = self._peek(get, self._inflight, key)
        if token is not None and flight is not token:
            return  # a newer fetch (or a save) superseded this one
        if flight is not None:
            set(self._inflight(key), None)
        if outcome.status == "success" or outcome.data is None:
            set(self._version(key), version)  # the version of the data now held (or none)
        set(self._state(key), outcome)
        if outcome.status == "success":
            self._after_load(get, set, key)
            self._hooks.call("on_load", key, outcome.data)
        elif outcome.status == "error":
            self._hooks.call("on_error", key, outcome.error)

    async def _wait(self, get: Getter, key: str, task: asyncio.Task[Any] | None) -> T | None:
        while task is not None:
            await asyncio.shield(task)
            current = self._peek(get, self._inflight, key)
            task = None if current is task else current
        return self._result(get, key)

    def _result(self, get: Getter, key: str) -> T | None:
        state: QueryState[T] = get(self._state(key))
        if state.status == "error" and state.error is not None and not self._new_now(get, key):
            raise state.error
        result: T | None = get(self.data(key))
        return result

    def _write_server_data(self, get: Getter, set: Setter, key: Any, raw: Any) -> T | None:
        outcome = self.receive(get, set, entity_id(key), raw)
        if isinstance(outcome.error, EntityLoadError):
            raise outcome.error
        return outcome.data

    def receive(self, get: Getter, set: Setter, key: str, raw: Any) -> QueryState[T]:
        """Inside a write: take `raw` (or a `Versioned`) as the entity's fetched data.

        None means not found.
        """
        raw, version = _split_version(raw)
        outcome = self._outcome(key, raw, get(self._state(key)))
        if key in self._inflight:
            set(self._inflight(key), None)  # a fetch still in flight would bring older data
        self._write_settle(get, set, key, None, outcome, version)
        return outcome

    def _write_refresh_loaded(self, get: Getter, set: Setter) -> None:
        """Refresh, in the background, every entity this store has loaded (after a gap)."""
        for key in list(self._state.keys()):
            self._write_server_changed(get, set, key, None)

    def _write_server_changed(self, get: Getter, set: Setter, key: Any, version: Any) -> None:
        """Refresh `key` in the background if this store holds it at another version."""
        key = entity_id(key)
        if key not in self._state or self._new_now(get, key):
            return  # never loaded anywhere, or local only: nothing to bring up to date
        state: QueryState[T] = get(self._state(key))
        if state.status == "idle":
            return
        held = self._peek(get, self._version, key)
        if version is not None and held == version and state.status != "loading":
            return  # already at that version (this store's own save, heard back)
        loop = running_loop()
        if loop is None and self._fetch_is_async:
            return  # nothing can run the fetch here
        self._begin_fetch(get, set, key, loop)


def _split_version(raw: Any) -> tuple[Any, int | None]:
    """A fetch result as (raw data, version): a `Versioned` carries one, plain data none."""
    if isinstance(raw, Versioned):
        return raw.data, raw.version
    return raw, None
