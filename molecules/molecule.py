"""The molecule factory: one kind of entity as atom families (selectors) and write-only actions.

A `Molecule` holds no data. Every selector is an atom family keyed by entity id, so
`m.data("p1") is m.data("p1")` on every call and every store keeps its own values.
Loading is described in `molecules.loading`.

Drafts: `update(id, changes)` merges the changes (top-level keys) into the draft;
`data(id)` is the server data with the draft applied and passed through `transform`
again, so derived fields are derived on both sides. A draft equal to the server data
under the normalised comparison (see `molecules.comparison`) is dropped. `save` writes
the merged data through the molecule's `save` and clears the draft; saving a
soft-deleted entity removes it through `remove`.

Versions: when the server data came with a version (`server_version(id)`), `save` passes
it on as `save(id, data, version=n)`, so a source refuses a save made on an older version
with `ConflictError` (the draft stays; `refresh`, then `save` again, writes over the
newer version on purpose). The version `save` returns becomes the new server version.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping
from typing import Any, TypeVar
from uuid import uuid4

from molecules.base import Fetch, Save, as_document, as_fields, is_async
from molecules.comparison import normalize
from molecules.core.atom import Atom, Getter, Setter, derived
from molecules.core.errors import ListenerError
from molecules.errors import EntityNotFoundError, EntityNotLoadedError, SaveNotSupportedError
from molecules.hooks import MoleculeHooks
from molecules.ids import entity_id, id_family
from molecules.loading import LoadingMolecule
from molecules.query import QueryState, running_loop
from molecules.ready import ready
from runnable.sources.base import Versioned

__all__ = ["Molecule", "QueryState", "create_molecule", "entity_id"]

T = TypeVar("T")

_log = logging.getLogger(__name__)


class Molecule(LoadingMolecule[T]):
    """The selectors and actions of one kind of entity (see the module docstring).

    Selectors (atom families keyed by id): `query`, `server_data`, `draft`, `data`,
    `is_dirty`, `is_new`, `is_deleted`. Actions (write-only atoms, first argument the id):
    `load`, `refresh`, `update`, `discard`, `delete`, `restore`, `save`, and `create(data)`
    which returns the new id; `set_server_data(id, data)` puts data fetched elsewhere (a
    list endpoint) into the store as if it had been fetched. Options: see
    `create_molecule`.
    """

    def __init__(self, name: str, fetch: Fetch, **options: Any) -> None:
        super().__init__(name, fetch, **options)
        self._normal_server = id_family(
            lambda key: derived(
                lambda get: normalize(get(self.server_data(key)), self.exclude_fields)
            )
        )
        self.draft = self.selector("draft", lambda get, key: get(self._draft(key)))
        self.data = self.selector("data", self._read_data)
        self.is_dirty = self.selector("is_dirty", self._read_is_dirty)
        self.is_new = self.selector("is_new", lambda get, key: get(self._new(key)))
        self.is_deleted = self.selector("is_deleted", lambda get, key: get(self._deleted(key)))
        self.update = self.action("update", self._write_update)
        self.discard = self.action("discard", self._write_discard)
        self.create = self.action("create", self._write_create)
        self.delete = self.action("delete", self._write_delete)
        self.restore = self.action("restore", self._write_restore)
        self.save = self.action("save", self._write_save)
        self._saved: Atom[None] = derived(write=self._write_saved, name=f"{name}._saved")

    def differs(self, get: Getter, key: str, server: T, merged: T) -> bool:
        """True when `merged` is a change from `server` (the rule behind `is_dirty`)."""
        if self._is_dirty is not None:
            return bool(self._is_dirty(server, merged))
        return bool(normalize(merged, self.exclude_fields) != get(self._normal_server(key)))

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

    def _after_load(self, get: Getter, set: Setter, key: str) -> None:
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
        fields = as_fields(changes)
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
        fields = as_fields(data)
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

    def _write_save(self, get: Getter, set: Setter, key: Any) -> Coroutine[Any, Any, T | None]:
        key = entity_id(key)
        fn: Callable[..., Any]
        args: tuple[Any, ...]
        if self._peek(get, self._deleted, key, False):
            if self._remove is None:
                raise SaveNotSupportedError(
                    self.name, key, "is deleted, but the molecule has no remove function"
                )
            fn, args, kwargs = self._remove, (key,), {}
            finish: tuple[Any, ...] = (key, None, None, True)
        else:
            draft = self._peek(get, self._draft, key)
            if draft is None and not self._new_now(get, key):
                return ready(lambda: self._result(get, key))
            if self._save is None:
                raise SaveNotSupportedError(self.name, key, "the molecule has no save function")
            entity = get(self.data(key))
            if entity is None:
                raise EntityNotLoadedError(self.name, key, "nothing to save")
            fn, args = self._save, (key, as_document(entity))
            held = None if self._new_now(get, key) else self._peek(get, self._version, key)
            kwargs = {} if held is None else {"version": held}
            finish = (key, draft, entity, False)
        loop = running_loop()
        if loop is None and is_async(fn):

            async def later() -> T | None:
                result: T | None = await set(self.save, key)
                return result

            return later()
        removed = finish[3]
        result = fn(*args, **kwargs)
        if not inspect.isawaitable(result):
            set(self._saved, *finish, _saved_version(result))
            return ready(lambda: None if removed else self._result(get, key))
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
            result = await pending
        except Exception as exc:
            return exc  # handed to the awaiting caller, never left unretrieved
        try:
            set(self._saved, *finish, _saved_version(result))
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
        self,
        get: Getter,
        set: Setter,
        key: str,
        snapshot: Any,
        entity: Any,
        removed: bool,
        version: int | None,
    ) -> None:
        if key in self._inflight:
            set(self._inflight(key), None)  # a fetch started before the save is stale now
        set(self._version(key), None if removed else version)
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
            self._after_load(get, set, key)  # edits made while the save ran stay
        self._hooks.call("on_save", key, entity)


def _saved_version(result: Any) -> int | None:
    """The version a save returned (an int, or a `Versioned`), or None."""
    if isinstance(result, Versioned):
        return result.version
    return result if type(result) is int else None


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
