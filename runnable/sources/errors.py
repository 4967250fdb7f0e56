"""Errors raised by entity sources (part of the `RunnableError` family).

    SourceError                  base: every source error names the source and the entity id
    ├── InvalidEntityError       bad input: an empty id, data that is not a JSON object
    └── SourceBackendError       the backend failed: SQL error, unreachable server, HTTP 5xx,
                                 a reply that is not JSON

A missing entity is not an error: `Source.get` returns None.
"""

from __future__ import annotations

from runnable.errors import RunnableError


class SourceError(RunnableError):
    """Base of every error raised by a source; names the source and the entity id."""

    def __init__(self, source: str, entity_id: str | None, message: str) -> None:
        self.source = source
        self.entity_id = entity_id
        where = source if entity_id is None else f"{source}, entity {entity_id!r}"
        super().__init__(f"{where}: {message}")


class InvalidEntityError(SourceError, ValueError):
    """The id or the data handed to a source is not acceptable."""


class SourceBackendError(SourceError):
    """The backend behind a source failed (never carries connection secrets)."""
