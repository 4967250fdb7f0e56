"""InMemorySource: entities kept in a dict, for tests, demos and defaults."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from runnable.sources.base import (
    EntityData,
    Versioned,
    check_entity_id,
    check_expected_version,
    check_version,
    entity_document,
)


class InMemorySource:
    """A `Source` over a dict; data is copied in and out, so callers never share it."""

    def __init__(
        self,
        entities: Mapping[str, Mapping[str, Any]] | Iterable[Mapping[str, Any]] = (),
        *,
        name: str = "memory",
    ) -> None:
        self.name = name
        self._label = f"InMemorySource({name})"
        self._entities: dict[str, tuple[EntityData, int]] = {}
        items = (
            entities.items()
            if isinstance(entities, Mapping)
            else ((entity.get("id"), entity) for entity in entities)
        )
        for entity_id, data in items:
            document = entity_document(self._label, entity_id, data)
            self._entities[document["id"]] = (document, 1)

    def __repr__(self) -> str:
        return f"{self._label} with {len(self._entities)} entities"

    async def get(self, id: str) -> EntityData | None:
        """Return a copy of the entity's data, or None."""
        found = await self.get_versioned(id)
        return None if found is None else found.data

    async def get_versioned(self, id: str) -> Versioned | None:
        """Return a copy of the entity's data and its version, or None."""
        found = self._entities.get(check_entity_id(self._label, id))
        return None if found is None else Versioned(copy.deepcopy(found[0]), found[1])

    async def save(self, id: str, data: Mapping[str, Any], *, version: int | None = None) -> int:
        """Create or replace the entity (it keeps its place in `list`); the new version.

        With `version`, raises ConflictError unless the stored version is still `version`.
        """
        document = entity_document(self._label, id, data)
        entity_id = document["id"]
        expected = check_expected_version(self._label, entity_id, version)
        stored = self._entities.get(entity_id)
        check_version(self._label, entity_id, expected, None if stored is None else stored[1])
        new_version = 1 if stored is None else stored[1] + 1
        self._entities[entity_id] = (document, new_version)
        return new_version

    async def list_versioned(self) -> list[Versioned]:
        """Return copies of every entity with its version, in insertion order."""
        return [Versioned(copy.deepcopy(doc), v) for doc, v in self._entities.values()]

    async def list(self) -> list[EntityData]:
        """Return copies of every entity in insertion order."""
        return [found.data for found in await self.list_versioned()]

    async def delete(self, id: str) -> None:
        """Remove the entity if it exists."""
        self._entities.pop(check_entity_id(self._label, id), None)
