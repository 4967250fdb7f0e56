"""Turning what callers pass to the run store into column values (JSON text, redacted).

A document column's value is its JSON text, made once when the write is queued
(`to_record_json_text`); `parsed_row` turns a row of them back into documents.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table

from runnable.redaction import (
    REDACTED,
    is_secret_key,
    redact_text,
    to_record_json,
    to_record_json_text,
)
from runnable.tracking.errors import InvalidTrackingValueError
from runnable.tracking.models import TERMINAL_STATUSES, RunStatus, TaskUsage, TrackedVariable
from runnable.types import ErrorInfo

_VARIABLE_KEYS = frozenset({"name", "value", "source"})


def status_value(status: RunStatus | str) -> RunStatus:
    """Return `status` as a RunStatus, or raise InvalidTrackingValueError naming the choices."""
    if type(status) is RunStatus:  # the common case, without the enum lookup
        return status
    try:
        return RunStatus(status)
    except ValueError:
        choices = ", ".join(member.value for member in RunStatus)
        raise InvalidTrackingValueError(
            f"unknown status {status!r}; expected one of {choices}"
        ) from None


_STATUS_TEXT = {status.value: status.value for status in RunStatus}


def status_text(status: RunStatus | str) -> str:
    """`status_value(status).value`, without the enum's slow `value` for the usual case."""
    # A RunStatus hashes and compares as its text, so one lookup serves members and text.
    text = _STATUS_TEXT.get(status) if isinstance(status, str) else None
    return text if text is not None else status_value(status).value


def terminal_status(status: RunStatus | str) -> RunStatus:
    """Return `status` if it ends a run or task, else raise InvalidTrackingValueError."""
    value = status_value(status)
    if value not in TERMINAL_STATUSES:
        choices = ", ".join(sorted(TERMINAL_STATUSES))
        raise InvalidTrackingValueError(
            f"status {value.value!r} does not finish; use one of {choices}"
        )
    return value


def ref_text(ref: object) -> str | None:
    """Return a runnable ref as "kind:id", or "id" for a bare id.

    Takes a str, a `RunnableRef` (or any object with `kind` and `id`) or a dict.
    """
    if ref is None or isinstance(ref, str):
        return ref
    if isinstance(ref, Mapping):
        kind, entity_id = ref.get("kind"), ref.get("id")
    else:
        kind, entity_id = getattr(ref, "kind", None), getattr(ref, "id", None)
    if not entity_id:
        raise InvalidTrackingValueError(f"runnable_ref must be 'kind:id' or have an id: {ref!r}")
    return f"{kind}:{entity_id}" if kind else str(entity_id)


def tracked_variables(variables: object) -> dict[str, dict[str, Any]]:
    """Return variables as {name: {"value", "source"}}, secrets redacted.

    Accepts {name: ResolvedVariable-like or {"value", "source"} or a bare value}, or an
    iterable of objects with `name`, `value` and `source`.
    """
    if variables is None:
        return {}
    items: Iterable[tuple[object, object]]
    if isinstance(variables, Mapping):
        items = variables.items()
    elif isinstance(variables, Iterable) and not isinstance(variables, str | bytes):
        items = ((getattr(item, "name", None), item) for item in variables)
    else:
        raise InvalidTrackingValueError(
            f"variables must be a mapping or an iterable: {variables!r}"
        )
    result: dict[str, dict[str, Any]] = {}
    for name, item in items:
        if not isinstance(name, str) or not name:
            raise InvalidTrackingValueError(f"a variable needs a non-empty str name, got {name!r}")
        value, source = _value_and_source(item)
        result[name] = {
            "value": REDACTED
            if is_secret_key(name) and value is not None
            else to_record_json(value),
            "source": None if source is None else str(source),
        }
    return result


def _value_and_source(item: object) -> tuple[Any, Any]:
    if isinstance(item, TrackedVariable):
        return item.value, item.source
    if isinstance(item, Mapping):
        if "value" in item and set(item) <= _VARIABLE_KEYS:
            return item["value"], item.get("source")
        return item, None
    if hasattr(item, "value") and hasattr(item, "source"):
        return item.value, item.source
    return item, None


def error_text(error: object) -> str | None:
    """An error as the JSON text stored: `{"message", "type", "code", "status_code"}`.

    Takes an exception, an `ErrorInfo`, a mapping with those keys, or a message; the
    message is redacted (credentials blanked out).
    """
    if error is None:
        return None
    if isinstance(error, BaseException):
        info = ErrorInfo.from_exception(error)
    elif isinstance(error, ErrorInfo):
        info = error
    elif isinstance(error, Mapping):
        info = ErrorInfo.model_validate(
            {k: error.get(k) for k in ("message", "type", "code", "status_code") if k in error}
        )
    else:
        info = ErrorInfo(message=str(error))
    return info.model_copy(update={"message": redact_text(info.message)}).to_json()


def usage_values(usage: object, explicit: Mapping[str, float | int | None]) -> dict[str, Any]:
    """Merge a usage object or mapping (OpenAI names accepted) with explicit values."""
    values = {} if usage is None else TaskUsage.model_validate(usage).model_dump(exclude_none=True)
    for key, value in explicit.items():
        if value is not None:
            values[key] = value
    return values


def _mapping_text(value: Mapping[str, Any]) -> str:
    return to_record_json_text(value if type(value) is dict else dict(value))


def _sequence_text(value: Any) -> str:
    return to_record_json_text(value if type(value) is list else list(value))


_COLUMN_VALUES: dict[str, Callable[[Any], Any]] = {
    "status": status_text,
    "runnable_ref": ref_text,
    "inputs": _mapping_text,
    "messages": _sequence_text,
    # Redacted by name already: a secret variable keeps its source, only its value goes.
    "variables": lambda variables: json.dumps(tracked_variables(variables)),
    "settings": _mapping_text,
    "stats": _mapping_text,
    "request": to_record_json_text,
    "response": to_record_json_text,
    "error": error_text,
}
# What a new row holds in the columns a caller did not give.
_EMPTY_DOCUMENTS: dict[str, str] = {
    "inputs": "{}",
    "messages": "[]",
    "variables": "{}",
    "settings": "{}",
    "stats": "{}",
    "partial_text": "",
}
_DOCUMENTS = frozenset(
    {"inputs", "messages", "variables", "settings", "stats", "request", "response"}
)  # the columns whose values are JSON text


_EMPTY_ROWS: dict[str, dict[str, Any]] = {}  # each table's row of defaults, made once


def column_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Return the given fields (None meaning not given) as column values, JSON and redacted."""
    values = {}
    for name, value in fields.items():
        if value is not None:
            convert = _COLUMN_VALUES.get(name)  # none for plain values: no call
            values[name] = value if convert is None else convert(value)
    return values


def new_row(table: Table, now: datetime, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Return every column of a new row of `table`: the given fields, then the defaults."""
    empty = _EMPTY_ROWS.get(table.name)
    if empty is None:
        empty = _EMPTY_ROWS[table.name] = {
            column.name: _EMPTY_DOCUMENTS.get(column.name) for column in table.columns
        }
    row = empty.copy()
    row["created_at"] = row["updated_at"] = now
    for name, value in fields.items():
        if value is not None:
            convert = _COLUMN_VALUES.get(name)
            row[name] = value if convert is None else convert(value)
    if row["status"] in TERMINAL_STATUSES:
        row["finished_at"] = now
    return row


def parsed_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as its record reads it: the documents' JSON text parsed."""
    return {
        name: json.loads(value) if name in _DOCUMENTS and value is not None else value
        for name, value in row.items()
    }
