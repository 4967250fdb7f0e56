"""The `Source` contract: where entity molecules load and save their data.

Every entity a source stores has a version: 1 when created, one more on each save. The
version travels beside the document (`Versioned`), never inside it, so a field of the
entity's own (a prompt's `version`) is never confused with it. `save(id, data,
version=n)` writes only if the stored version is still `n`, else raises
`runnable.ConflictError` and writes nothing; `save` without a version writes whatever is
stored (a new entity, or an overwrite on purpose).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import attrs
from pydantic import BaseModel

from runnable.errors import ConflictError
from runnable.sources.errors import InvalidEntityError

EntityData = dict[str, Any]


@attrs.frozen(slots=True)
class Versioned:
    """An entity's document and the version it was read at.

    The version is None when the backend keeps none (an HTTP server that sends no
    numeric ETag): saves of such an entity are not checked.
    """

    data: EntityData
    version: int | None


@runtime_checkable
class Source(Protocol):
    """Async access to entities by id; `get` returns None for a missing entity."""

    async def get(self, id: str) -> EntityData | None:
        """Return the entity's data (a JSON object carrying its `id`), or None."""
        ...

    async def save(self, id: str, data: Mapping[str, Any]) -> object:
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


@runtime_checkable
class VersionedSource(DeletableSource, Protocol):
    """A source that versions its entities and refuses a save made on an older version."""

    async def get_versioned(self, id: str) -> Versioned | None:
        """Return the entity's document and version, or None."""
        ...

    async def list_versioned(self) -> list[Versioned]:
        """Return every entity with its version, oldest first."""
        ...

    async def save(
        self, id: str, data: Mapping[str, Any], *, version: int | None = None
    ) -> int | None:
        """Write the entity if it is still at `version` (None: any); return the new version.

        Raises `runnable.ConflictError` (nothing written) when the stored version differs.
        """
        ...


def check_version(source: str, entity_id: str, expected: int | None, current: int | None) -> None:
    """Raise ConflictError unless a save on `expected` may replace version `current`."""
    if expected is not None and expected != current:
        raise ConflictError(source, entity_id, expected, current)


def check_expected_version(source: str, entity_id: str, version: object) -> int | None:
    """Return `version` when it is None or a positive int, else raise InvalidEntityError."""
    if version is None or (type(version) is int and version >= 1):
        return version
    raise InvalidEntityError(
        source, entity_id, f"a version must be a positive int or None, got {version!r}"
    )


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
