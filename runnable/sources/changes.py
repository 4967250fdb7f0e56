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

import json
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable

import attrs

__all__ = ["CHANGE_CHANNEL", "ChangeFeed", "EntityChange", "change_payload", "read_change"]

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

    def listen(self, on_change: OnChange) -> AbstractAsyncContextManager[None]:
        """While entered, call `on_change` for every committed write to this source."""
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
