"""The `Source` contract: where entity molecules load and save their data."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from runnable.sources.errors import InvalidEntityError

EntityData = dict[str, Any]


@runtime_checkable
class Source(Protocol):
    """Async access to entities by id; `get` returns None for a missing entity."""

    async def get(self, id: str) -> EntityData | None:
        """Return the entity's data (a JSON object carrying its `id`), or None."""
        ...

    async def save(self, id: str, data: Mapping[str, Any]) -> None:
        """Create or replace the entity `id` with `data`."""
        ...

    async def list(self) -> list[EntityData]:
        """Return every entity, oldest first."""
        ...


@runtime_checkable
class DeletableSource(Source, Protocol):
    """A source that can also delete entities (deleting a missing id is not an error)."""

    async def delete(self, id: str) -> None:
        """Remove the entity `id` if it exists."""
        ...


def check_entity_id(source: str, id: object) -> str:
    """Return `id` when it is a non-empty string, else raise InvalidEntityError."""
    if not isinstance(id, str) or not id:
        raise InvalidEntityError(source, None, f"an entity id must be a non-empty str, got {id!r}")
    return id


def json_copy(source: str, entity_id: str | None, value: object, what: str) -> Any:
    """Return a fresh copy of `value` as JSON data, or raise InvalidEntityError naming `what`.

    Every source stores exactly what JSON can carry, so the in-memory source behaves like
    the SQL and HTTP ones.
    """
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidEntityError(
            source, entity_id, f"{what} is not JSON-serialisable: {exc}"
        ) from None


def entity_document(source: str, id: object, data: object) -> EntityData:
    """Return `data` as a fresh JSON object whose `id` is `id` (the argument wins)."""
    entity_id = check_entity_id(source, id)
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    if not isinstance(data, Mapping):
        raise InvalidEntityError(
            source, entity_id, f"entity data must be a mapping, got {type(data).__name__}"
        )
    document: EntityData = json_copy(source, entity_id, dict(data), "entity data")
    document["id"] = entity_id
    return document
