"""Entity sources: where entity molecules load and save their data."""

from runnable.sources.base import DeletableSource, EntityData, Source, Versioned, VersionedSource
from runnable.sources.changes import ChangeFeed, EntityChange
from runnable.sources.errors import InvalidEntityError, SourceBackendError, SourceError
from runnable.sources.http import HttpSource
from runnable.sources.memory import InMemorySource
from runnable.sources.scoped import SCOPE_TABLES, Scope, ScopedVariableSource
from runnable.sources.sql import ENTITY_METADATA, ENTITY_TABLES, SqlSource, entity_table

__all__ = [
    "ENTITY_METADATA",
    "ENTITY_TABLES",
    "SCOPE_TABLES",
    "ChangeFeed",
    "DeletableSource",
    "EntityChange",
    "EntityData",
    "HttpSource",
    "InMemorySource",
    "InvalidEntityError",
    "Scope",
    "ScopedVariableSource",
    "Source",
    "SourceBackendError",
    "SourceError",
    "SqlSource",
    "Versioned",
    "VersionedSource",
    "entity_table",
]
