"""Column types shared by the SQL sources and the run store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, TypeDecorator
from sqlalchemy.engine import Dialect

# Plain JSON (text) on every dialect, not jsonb: jsonb turns 4.358022125018883e16 into
# 43580221250188830 and reorders keys, and a document must read back as it was written.
# None is stored as SQL NULL, not as the JSON literal null.
JsonDocument = JSON(none_as_null=True)


class JsonText(TypeDecorator[Any]):
    """A JsonDocument written from JSON text its caller made, and read back parsed.

    The run store turns a document into text (redacted) when it queues the write: a queued
    row then holds strings the garbage collector never walks, and the column hands them to
    the driver as they are instead of serializing again.
    """

    impl = JsonDocument
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        """No processing: the value is JSON text already (or None, stored as NULL)."""
        return None


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    SQLite keeps no offset, so values go in as naive UTC there; PostgreSQL gets timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC before writing."""
        if value is None:
            return None
        if value.tzinfo is not UTC:
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value.isoformat()} given where UTC is required")
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, the text its DATETIME stores, made in one step (run stores write many)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        normalise = self.process_bind_param

        def process(value: datetime | None) -> str | None:
            if value is not None and value.tzinfo is UTC:  # what utc_now() makes
                return value.isoformat(" ", "microseconds")[:26]  # without "+00:00"
            naive = normalise(value, dialect)
            # SQLAlchemy's SQLite DATETIME format, always with microseconds.
            return None if naive is None else naive.isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)
