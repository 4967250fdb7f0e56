"""InMemorySource: entities kept in a dict, for tests, demos and defaults."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from runnable.sources.base import EntityData, check_entity_id, entity_document


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
        self._entities: dict[str, EntityData] = {}
        items = (
            entities.items()
            if isinstance(entities, Mapping)
            else ((entity.get("id"), entity) for entity in entities)
        )
        for entity_id, data in items:
            document = entity_document(self._label, entity_id, data)
            self._entities[document["id"]] = document

    def __repr__(self) -> str:
        return f"{self._label} with {len(self._entities)} entities"

    async def get(self, id: str) -> EntityData | None:
        """Return a copy of the entity's data, or None."""
        document = self._entities.get(check_entity_id(self._label, id))
        return None if document is None else copy.deepcopy(document)

    async def save(self, id: str, data: Mapping[str, Any]) -> None:
        """Create or replace the entity (an existing one keeps its place in `list`)."""
        document = entity_document(self._label, id, data)
        self._entities[document["id"]] = document

    async def list(self) -> list[EntityData]:
        """Return copies of every entity in insertion order."""
        return [copy.deepcopy(document) for document in self._entities.values()]

    async def delete(self, id: str) -> None:
        """Remove the entity if it exists."""
        self._entities.pop(check_entity_id(self._label, id), None)
