"""The change feed: a source that tells listeners in any process which entity was saved.

`SqlSource` on PostgreSQL announces every save and delete with NOTIFY (in the same
transaction, so a listener hears only committed writes) and listens with asyncpg's
LISTEN on one held connection:

```python
async with source.listen(on_change):   # on_change(EntityChange) in this event loop
    ...
```

`molecules.follow_changes(store, *molecules)` turns the changes into refreshes of the
entities a store has loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable

import attrs
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = [
    "CHANGE_CHANNEL",
    "ChangeFeed",
    "EntityChange",
    "FeedConnection",
    "change_payload",
    "read_change",
]

CHANGE_CHANNEL = "runnable_entity_changes"
"""The PostgreSQL NOTIFY channel every SqlSource announces its saves on."""

_log = logging.getLogger(__name__)


@attrs.frozen(slots=True)
class EntityChange:
    """One committed write: the entity's new version, or None when it was deleted."""

    id: str
    version: int | None


OnChange = Callable[[EntityChange], object]


@runtime_checkable
class ChangeFeed(Protocol):
    """A source whose writes, from any process, reach `listen`'s callback."""

    @property
    def announces_changes(self) -> bool:
        """True when `listen` works here (SqlSource: on PostgreSQL only)."""
        ...

    def listen(
        self, on_change: OnChange, *, on_gap: Callable[[], object] | None = None
    ) -> AbstractAsyncContextManager[None]:
        """While entered, call `on_change` for every committed write to this source.

        `on_gap()` is called when the feed comes back after losing its connection:
        writes made meanwhile were not announced to this listener.
        """
        ...


def change_payload(schema: str | None, table: str, change: EntityChange) -> str:
    """The NOTIFY payload announcing `change` to `table` in `schema`."""
    return json.dumps(
        {"schema": schema or "", "table": table, "id": change.id, "version": change.version}
    )


def read_change(payload: str, schema: str | None, table: str) -> EntityChange | None:
    """The change a payload announces to `table` in `schema`; None for another table."""
    try:
        data: Any = json.loads(payload)
        if data["schema"] != (schema or "") or data["table"] != table:
            return None
        version = data["version"]
        if not isinstance(data["id"], str) or not (version is None or isinstance(version, int)):
            raise TypeError("id must be a str and version an int or null")
        return EntityChange(data["id"], version)
    except (ValueError, KeyError, TypeError) as exc:
        _log.warning("ignored a change notification that is not ours: %s", exc)
        return None


Deliver = Callable[[object, int, str, str], None]


class FeedConnection:
    """One LISTEN connection that comes back after it is lost (PostgreSQL, asyncpg).

    `connect()` opens a SQLAlchemy connection on an asyncpg engine. When the connection
    drops, it is opened again every `retry` seconds until it works; `on_gap()` is then
    called, since writes made meanwhile were not heard.
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[AsyncConnection]],
        deliver: Deliver,
        label: str,
        *,
        on_gap: Callable[[], object] | None = None,
        retry: float = 1.0,
    ) -> None:
        self._connect = connect
        self._deliver = deliver
        self._label = label
        self._on_gap = on_gap
        self._retry = retry
        self._conn: AsyncConnection | None = None
        self._raw: Any = None
        self._again: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def server_pid(self) -> int | None:
        """The PostgreSQL backend pid of the listening connection (None while away)."""
        raw = self._raw
        return None if raw is None or raw.is_closed() else int(raw.get_server_pid())

    async def open(self) -> None:
        """Connect and LISTEN (errors propagate: the first connection must work)."""
        conn = await self._connect()
        try:
            raw: Any = (await conn.get_raw_connection()).driver_connection
            await raw.add_listener(CHANGE_CHANNEL, self._deliver)
            raw.add_termination_listener(self._lost)
        except BaseException:
            await conn.close()
            raise
        self._conn, self._raw = conn, raw

    async def close(self) -> None:
        """Stop listening and release the connection."""
        self._closed = True
        if self._again is not None:
            self._again.cancel()
        raw, conn = self._raw, self._conn
        self._raw = self._conn = None
        if raw is not None and not raw.is_closed():
            raw.remove_termination_listener(self._lost)
            await raw.remove_listener(CHANGE_CHANNEL, self._deliver)
        if conn is not None:
            with contextlib.suppress(Exception):  # a dropped connection may fail to close
                await conn.close()

    def _lost(self, _raw: object) -> None:
        if self._closed:
            return
        _log.warning("the change feed of %s lost its connection; reconnecting", self._label)
        self._again = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        old = self._conn
        self._raw = self._conn = None
        if old is not None:
            with contextlib.suppress(Exception):
                await old.invalidate()
        while not self._closed:
            await asyncio.sleep(self._retry)
            try:
                await self.open()
            except Exception as exc:
                _log.warning("the change feed of %s cannot reconnect yet: %s", self._label, exc)
                continue
            _log.info("the change feed of %s is back", self._label)
            if self._on_gap is not None:
                try:
                    self._on_gap()
                except Exception:
                    _log.exception("the gap handler of %s failed", self._label)
            return
