"""The molecule factory: one kind of entity as atom families (selectors) and write-only actions.

A `Molecule` holds no data. Every selector is an atom family keyed by entity id, so
`m.data("p1") is m.data("p1")` on every call and every store keeps its own values. The
per-id state is four primitive atoms (the query state, the draft, the "new" and
"deleted" flags) plus the task of a fetch in flight; everything else is derived.

Loading: reading `query(id)` (or anything built on it: `server_data`, `data`,
`is_dirty`...) inside a running asyncio loop starts the fetch of an idle entity; a
subscriber sees `idle -> loading -> success | error`. `await store.set(m.load, id)` fetches
once (cached forever, or `ttl` seconds) and returns the data; `m.refresh` refetches.
Outside a loop nothing is fetched on read, and an async load runs when its result is
awaited. A missing entity is a query in status "error" with an `EntityNotFoundError`;
`server_data` and `data` are then None, and only an awaited `load` raises.

Drafts: `update(id, changes)` merges the changes (top-level keys) into the draft;
`data(id)` is the server data with the draft applied and passed through `transform`
again, so derived fields are derived on both sides. A draft equal to the server data
under the normalised comparison (see `molecules.normalize`) is dropped.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Coroutine, Generator, Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar
from uuid import uuid4

from pydantic import BaseModel

from molecules.core.atom import Atom, Getter, Setter, atom, derived
from molecules.core.errors import ListenerError, MoleculesError
from molecules.core.family import AtomFamily, atom_family
from molecules.core.store import ReadContext, Store
from molecules.errors import (
    EntityLoadError,
    EntityNotFoundError,
    EntityNotLoadedError,
    InvalidEntityIdError,
    SaveNotSupportedError,
)
from molecules.hooks import MoleculeHooks
from molecules.normalize import normalize
from molecules.query import IDLE, QueryState, running_loop

__all__ = ["Molecule", "QueryState", "create_molecule", "entity_id"]

T = TypeVar("T")
Family = AtomFamily[Any, Atom[Any]]
Fetch = Callable[[str], Any]
Save = Callable[[str, Any], Any]

_log = logging.getLogger(__name__)


def entity_id(key: object) -> str:
    """The entity id in `key`: a non-empty str, or an object (a RunnableRef) with a str `id`."""
    if isinstance(key, str):
        if key:
            return key
    else:
        ident = getattr(key, "id", None)
        if isinstance(ident, str) and ident:
            return ident
    raise InvalidEntityIdError(
        None, None, f"an entity id must be a non-empty str or a ref with an id, got {key!r}"
    )


def id_family(factory: Callable[[str], Atom[Any]]) -> Family:
    """An atom family keyed by entity id that also accepts refs (`f(ref) is f(ref.id)`)."""
    return atom_family(lambda key: factory(entity_id(key)), key=entity_id)


def as_document(value: Any) -> dict[str, Any]:
    """Entity data as a plain JSON-ready dict (a pydantic model is dumped in JSON mode)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return dict(value)
    raise _not_entity_data(value)


def _as_fields(value: Any) -> dict[str, Any]:
    """Entity data or changes as a dict of fields (a model gives the fields it was given)."""
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=True)
    if isinstance(value, Mapping):
        return dict(value)
    raise _not_entity_data(value)


def _not_entity_data(value: Any) -> TypeError:
    kind = type(value).__name__
    return TypeError(f"entity data must be a mapping or a pydantic model, not {kind}")


def _is_async(fn: Callable[..., Any] | None) -> bool:
    return fn is not None and (
        inspect.iscoroutinefunction(fn)
        or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004
    )


def _start_from_read(store: Store, start: Atom[Any], key: str) -> None:
    store.set(start, key)


class _KeyedRead:
    """`read(get, key)` as a one-argument read; slots keep it smaller than a closure."""

    __slots__ = ("key", "read")

    def __init__(self, read: Callable[[Getter, str], Any], key: str) -> None:
        self.read = read
        self.key = key

    def __call__(self, get: Getter) -> Any:
        return self.read(get, self.key)


class _Ready(Coroutine[Any, Any, Any]):
    """An action's result that needs no waiting, as a coroutine object.

    It runs `value()` when awaited (or driven by `asyncio.run`/`create_task`), and,
    unlike an `async def` coroutine, it is no mistake to drop it unawaited: a plain
    fetch or save has already done its work when the action returns.
    """

    __slots__ = ("_value",)

    def __init__(self, value: Callable[[], Any]) -> None:
        self._value = value

    def send(self, _: Any) -> Any:
        raise StopIteration(self._value())

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        raise typ if val is None else val

    def close(self) -> None:
        return None

    def __await__(self) -> Generator[Any, None, Any]:
        return self._value()
        yield  # a generator that returns at once


def _ready(value: Callable[[], Any]) -> Coroutine[Any, Any, Any]:
    return _Ready(value)


class Molecule(Generic[T]):
    """The selectors and actions of one kind of entity (see the module docstring).

    Selectors (atom families keyed by id): `query`, `server_data`, `draft`, `data`,
    `is_dirty`, `is_new`, `is_deleted`. Actions (write-only atoms, first argument the id):
    `load`, `refresh`, `update`, `discard`, `delete`, `restore`, `save`, and `create(data)`
    which returns the new id; `set_server_data(id, data)` puts data fetched elsewhere (a
    list endpoint) into the store as if it had been fetched.
    """

    def __init__(
        self,
        name: str,
        fetch: Fetch,
        *,
        save: Save | None = None,
        transform: Callable[[Any], T] | None = None,
        merge: Callable[[T, dict[str, Any]], T] | None = None,
        is_dirty: Callable[[T, T], bool] | None = None,
        is_new: Callable[[str], bool] | None = None,
        exclude_fields: Collection[str] = (),
        ttl: float | None = None,
        remove: Callable[[str], Any] | None = None,
        hooks: MoleculeHooks | Mapping[str, Any] | None = None,
        where: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a molecule needs a non-empty name, got {name!r}")
        if not callable(fetch):
            raise TypeError(f"molecule {name!r}: fetch must be callable, got {fetch!r}")
        if ttl is not None and ttl <= 0:
            raise ValueError(f"molecule {name!r}: ttl must be a positive number of seconds")
        self.name = name
        self.where = where
        self.ttl = ttl
        self.exclude_fields = tuple(exclude_fields)
        self._fetch = fetch
        self._fetch_is_async = _is_async(fetch)
        self._save = save
        self._remove = remove
        self._transform = transform
        self._merge = merge
        self._is_dirty = is_dirty
        self._is_new = is_new
        self._hooks = MoleculeHooks.of(hooks)
        self._clock = clock
        self._selectors: dict[str, Family] = {}
        self._actions: dict[str, Atom[Any]] = {}

        # Per-id state: the only primitive atoms; everything public is derived from them.
        self._state = id_family(lambda _: atom(IDLE))
        self._draft = id_family(lambda _: atom(None))
        self._new = id_family(lambda key: atom(bool(is_new and is_new(key))))
        self._deleted = id_family(lambda _: atom(False))
        self._inflight = id_family(lambda _: atom(None))
        self._normal_server = id_family(
            lambda key: derived(
                lambda get: normalize(get(self.server_data(key)), self.exclude_fields)
            )
        )

        self.query: Family = id_family(self._make_query)
        self._selectors["query"] = self.query
        self.server_data = self.selector("server_data", lambda get, key: get(self.query(key)).data)
        self.draft = self.selector("draft", lambda get, key: get(self._draft(key)))
        self.data = self.selector("data", self._read_data)
        self.is_dirty = self.selector("is_dirty", self._read_is_dirty)
        self.is_new = self.selector("is_new", lambda get, key: get(self._new(key)))
        self.is_deleted = self.selector("is_deleted", lambda get, key: get(self._deleted(key)))

        self.load = self.action("load", self._write_load)
        self.refresh = self.action("refresh", self._write_refresh)
        self.update = self.action("update", self._write_update)
        self.discard = self.action("discard", self._write_discard)
        self.create = self.action("create", self._write_create)
        self.delete = self.action("delete", self._write_delete)
        self.restore = self.action("restore", self._write_restore)
        self.save = self.action("save", self._write_save)
        self.set_server_data = self.action("set_server_data", self._write_server_data)
        self._start: Atom[None] = derived(write=self._write_start, name=f"{name}._start")
        self._settle: Atom[None] = derived(write=self._write_settle, name=f"{name}._settle")
        self._saved: Atom[None] = derived(write=self._write_saved, name=f"{name}._saved")

    def __repr__(self) -> str:
        return f"<Molecule {self.name}>"

    # -- building blocks for subclasses ------------------------------------------------

    @property
    def selectors(self) -> Mapping[str, Family]:
        """Every selector family by name (subclasses add theirs with `selector`)."""
        return MappingProxyType(self._selectors)

    @property
    def actions(self) -> Mapping[str, Atom[Any]]:
        """Every action atom by name (subclasses add theirs with `action`)."""
        return MappingProxyType(self._actions)

    def selector(
        self,
        name: str,
        read: Callable[[Getter, str], Any],
        *,
        eq: Callable[[Any, Any], bool] | None = None,
    ) -> Family:
        """Register a selector: an atom family whose member for `id` reads `read(get, id)`."""
        label = self.name

        def factory(key: str) -> Atom[Any]:
            return derived(_KeyedRead(read, key), eq=eq, name=f"{label}.{name}({key})")

        family = id_family(factory)
        self._selectors[name] = family
        return family

    def action(self, name: str, write: Callable[..., Any]) -> Atom[Any]:
        """Register an action: a write-only atom, `store.set(m.<name>, *args)`."""
        made: Atom[Any] = derived(write=write, name=f"{self.name}.{name}")
        self._actions[name] = made
        return made

    def apply(self, key: str, server: T | None, draft: Mapping[str, Any]) -> T:
        """The entity `server` with `draft` applied (`transform` runs on the result)."""
        if server is None:
            return self.transform({"id": key, **draft})
        if self._merge is not None:
            return self._merge(server, dict(draft))
        return self.transform({**_as_fields(server), **draft})

    def transform(self, raw: Any) -> T:
        """Raw data as this molecule's entity data (`transform`, else a plain dict)."""
        if self._transform is not None:
            return self._transform(raw)
        result: T = raw if isinstance(raw, BaseModel) else dict(raw)  # type: ignore[assignment]
        return result

    def differs(self, get: Getter, key: str, server: T, merged: T) -> bool:
        """True when `merged` is a change from `server` (the rule behind `is_dirty`)."""
        if self._is_dirty is not None:
            return bool(self._is_dirty(server, merged))
        return bool(normalize(merged, self.exclude_fields) != get(self._normal_server(key)))

    def _peek(self, get: Getter, family: Family, key: str, default: Any = None) -> Any:
        """In a write: a per-id state value, without making its atom if it has none yet.

        Only for writes: a read must `get` the atom itself, or it would not be told when
        the atom is made and set later.
        """
        return get(family(key)) if key in family else default

    def _new_now(self, get: Getter, key: str) -> bool:
        """In a write: whether `key` is new (see `_peek`)."""
        if key in self._new:
            return bool(get(self._new(key)))
        return bool(self._is_new is not None and self._is_new(key))

    # -- selectors ---------------------------------------------------------------------

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

        hooks = self._hooks
        on_mount = None
        if hooks.on_mount is not None or hooks.on_unmount is not None:

            def on_mount(_set_self: Callable[..., Any]) -> Callable[[], None]:
                hooks.call("on_mount", key)
                return lambda: hooks.call("on_unmount", key)

        return derived(read, on_mount=on_mount, name=f"{self.name}.query({key})")

    def _read_data(self, get: Getter, key: str) -> T | None:
        server: T | None = get(self.server_data(key))
        draft = get(self._draft(key))
        if draft is None:
            return server
        return self.apply(key, server, draft)

    def _read_is_dirty(self, get: Getter, key: str) -> bool:
        if get(self._new(key)):
            return True
        if get(self._draft(key)) is None:
            return False
        server = get(self.server_data(key))
        if server is None:
            return True
        return self.differs(get, key, server, get(self.data(key)))

    # -- loading -----------------------------------------------------------------------

    def _expired(self, state: QueryState[T]) -> bool:
        return (
            self.ttl is not None
            and state.fetched_at is not None
            and self._clock() - state.fetched_at > self.ttl
        )

    def _write_start(self, get: Getter, set: Setter, key: str) -> None:
        if get(self._state(key)).status == "idle" and not self._new_now(get, key):
            self._begin_fetch(get, set, key, running_loop())

    def _write_load(self, get: Getter, set: Setter, key: Any) -> Coroutine[Any, Any, T | None]:
        key = entity_id(key)
        state: QueryState[T] = get(self._state(key))
        if self._new_now(get, key) or (state.status == "success" and not self._expired(state)):
            return _ready(lambda: self._result(get, key))
        flight = self._peek(get, self._inflight, key)
        if state.status == "loading" and flight is not None:
            return self._wait(get, key, flight)
        return self._fetch_now(get, set, key, self.load)

    def _write_refresh(self, get: Getter, set: Setter, key: Any) -> Coroutine[Any, Any, T | None]:
        key = entity_id(key)
        if self._new_now(get, key):
            return _ready(lambda: self._result(get, key))
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
            return _ready(lambda: self._result(get, key))
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
            self._write_settle(get, set, key, None, self._outcome(key, result, prev))
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
        try:
            raw = await (self._fetch(key) if pending is None else pending)
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
        self._settle_quietly(set, key, me, outcome)

    def _settle_quietly(self, set: Setter, key: str, token: object, outcome: QueryState[T]) -> None:
        try:
            set(self._settle, key, token, outcome)
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
        self, get: Getter, set: Setter, key: str, token: object, outcome: QueryState[T]
    ) -> None:
        flight = self._peek(get, self._inflight, key)
        if token is not None and flight is not token:
            return  # a newer fetch (or a save) superseded this one
        if flight is not None:
            set(self._inflight(key), None)
        set(self._state(key), outcome)
        if outcome.status == "success":
            self._recheck_draft(get, set, key)
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
        """Inside a write: take `raw` as the entity's fetched data (None: not found)."""
        outcome = self._outcome(key, raw, get(self._state(key)))
        if key in self._inflight:
            set(self._inflight(key), None)  # a fetch still in flight would bring older data
        self._write_settle(get, set, key, None, outcome)
        return outcome

    # -- drafts ------------------------------------------------------------------------

    def _recheck_draft(self, get: Getter, set: Setter, key: str) -> None:
        """Drop a draft that no longer changes anything."""
        if self._peek(get, self._draft, key) is None:
            return
        try:
            dirty = get(self.is_dirty(key))
        except Exception:
            return  # a draft the new server data refuses stays, for its author to fix
        if not dirty:
            set(self._draft(key), None)

    def _write_update(self, get: Getter, set: Setter, key: Any, changes: Any) -> T | None:
        key = entity_id(key)
        fields = _as_fields(changes)
        old = get(self._draft(key))
        draft = {**old, **fields} if old else fields
        if not draft:
            return get(self.data(key))  # type: ignore[no-any-return]
        set(self._draft(key), draft)
        try:
            # Read through the selectors: their nodes keep what this computes, so a view
            # of data or is_dirty after the edit costs nothing more.
            merged: T | None = get(self.data(key))
            dirty = get(self.is_dirty(key))
        except Exception:
            set(self._draft(key), old)  # data the entity refuses: the edit is not taken
            raise
        if not dirty:
            set(self._draft(key), None)
        self._hooks.call("on_update", key, fields)
        return merged

    def _write_discard(self, get: Getter, set: Setter, key: Any) -> None:
        key = entity_id(key)
        set(self._draft(key), None)
        if self._new_now(get, key):
            set(self._new(key), False)
        self._hooks.call("on_discard", key)

    def _write_create(self, get: Getter, set: Setter, data: Any) -> str:
        fields = _as_fields(data)
        given = fields.get("id")
        key = given if isinstance(given, str) and given else f"local-{uuid4().hex}"
        document = {**fields, "id": key}
        entity = self.apply(key, None, document)  # refuse invalid data now, not on read
        set(self._draft(key), document)
        set(self._new(key), True)
        set(self._deleted(key), False)
        self._hooks.call("on_create", key, entity)
        return key

    def _write_delete(self, get: Getter, set: Setter, key: Any) -> None:
        key = entity_id(key)
        set(self._deleted(key), True)
        self._hooks.call("on_delete", key)

    def _write_restore(self, get: Getter, set: Setter, key: Any) -> None:
        key = entity_id(key)
        set(self._deleted(key), False)
        self._hooks.call("on_restore", key)

    # -- saving ------------------------------------------------------------------------

    def _write_save(self, get: Getter, set: Setter, key: Any) -> Coroutine[Any, Any, T | None]:
        key = entity_id(key)
        fn: Callable[..., Any]
        args: tuple[Any, ...]
        if self._peek(get, self._deleted, key, False):
            if self._remove is None:
                raise SaveNotSupportedError(
                    self.name, key, "is deleted, but the molecule has no remove function"
                )
            fn, args = self._remove, (key,)
            finish: tuple[Any, ...] = (key, None, None, True)
        else:
            draft = self._peek(get, self._draft, key)
            if draft is None and not self._new_now(get, key):
                return _ready(lambda: self._result(get, key))
            if self._save is None:
                raise SaveNotSupportedError(self.name, key, "the molecule has no save function")
            entity = get(self.data(key))
            if entity is None:
                raise EntityNotLoadedError(self.name, key, "nothing to save")
            fn, args = self._save, (key, as_document(entity))
            finish = (key, draft, entity, False)
        loop = running_loop()
        if loop is None and _is_async(fn):

            async def later() -> T | None:
                result: T | None = await set(self.save, key)
                return result

            return later()
        removed = finish[3]
        result = fn(*args)
        if not inspect.isawaitable(result):
            set(self._saved, *finish)
            return _ready(lambda: None if removed else self._result(get, key))
        if loop is None:
            raise SaveNotSupportedError(
                self.name, key, "save returned an awaitable outside an asyncio loop"
            )
        task = loop.create_task(self._save_task(result, set, finish))
        return self._wait_save(get, key, task, removed)

    async def _save_task(
        self, pending: Awaitable[Any], set: Setter, finish: tuple[Any, ...]
    ) -> BaseException | None:
        try:
            await pending
        except Exception as exc:
            return exc  # handed to the awaiting caller, never left unretrieved
        try:
            set(self._saved, *finish)
        except ListenerError:
            _log.exception("listeners failed after %s %r was saved", self.name, finish[0])
        return None

    async def _wait_save(
        self, get: Getter, key: str, task: asyncio.Task[Any], removed: bool
    ) -> T | None:
        error = await asyncio.shield(task)
        if error is not None:
            raise error
        return None if removed else self._result(get, key)

    def _write_saved(
        self, get: Getter, set: Setter, key: str, snapshot: Any, entity: Any, removed: bool
    ) -> None:
        if key in self._inflight:
            set(self._inflight(key), None)  # a fetch started before the save is stale now
        if removed:
            gone = EntityNotFoundError(self.name, key, self.where)
            set(self._state(key), QueryState("error", None, gone))
            set(self._draft(key), None)
            set(self._new(key), False)
            self._hooks.call("on_remove", key)
            return
        set(self._state(key), QueryState("success", entity, None, self._clock()))
        set(self._new(key), False)
        if self._peek(get, self._draft, key) is snapshot:
            set(self._draft(key), None)
        else:
            self._recheck_draft(get, set, key)  # edits made while the save ran stay
        self._hooks.call("on_save", key, entity)


def create_molecule(
    name: str,
    fetch: Fetch,
    *,
    save: Save | None = None,
    transform: Callable[[Any], Any] | None = None,
    merge: Callable[[Any, dict[str, Any]], Any] | None = None,
    is_dirty: Callable[[Any, Any], bool] | None = None,
    is_new: Callable[[str], bool] | None = None,
    exclude_fields: Collection[str] = (),
    ttl: float | None = None,
    remove: Callable[[str], Any] | None = None,
    hooks: MoleculeHooks | Mapping[str, Any] | None = None,
    where: str | None = None,
    clock: Callable[[], float] = time.time,
) -> Molecule[Any]:
    """A molecule for one kind of entity; `fetch(id)` and `save(id, data)` may be async.

    `transform(raw)` turns fetched data into entity data (and must accept its own
    output); `merge(server, draft)` replaces the default "draft keys over server keys";
    `is_dirty(server, merged)` replaces the normalised comparison; `is_new(id)` marks ids
    that are local from the start; `remove(id)` deletes from the source when a
    soft-deleted entity is saved; `where` names the source in messages.
    """
    return Molecule(
        name,
        fetch,
        save=save,
        transform=transform,
        merge=merge,
        is_dirty=is_dirty,
        is_new=is_new,
        exclude_fields=exclude_fields,
        ttl=ttl,
        remove=remove,
        hooks=hooks,
        where=where,
        clock=clock,
    )
