"""Structured output: a reply parsed as JSON and checked against the prompt's schema.

A prompt asks for it with `settings.response_format`: `{"type": "json_object"}` (any
JSON object) or `{"type": "json_schema", "json_schema": {"name": ..., "schema": {...}}}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from runnable.errors import StructuredOutputError
from runnable.ports import schema_violations

__all__ = ["parse_structured", "response_schema", "wants_json"]


def wants_json(settings: Mapping[str, Any]) -> bool:
    """True when the settings ask the model for a JSON reply."""
    response_format = settings.get("response_format")
    if not isinstance(response_format, Mapping):
        return False
    return response_format.get("type") in ("json_object", "json_schema")


def response_schema(settings: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON schema of a `json_schema` response format, if the settings have one."""
    response_format = settings.get("response_format")
    if not isinstance(response_format, Mapping) or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    return dict(schema) if isinstance(schema, Mapping) else None


def parse_structured(text: str, settings: Mapping[str, Any]) -> Any:
    """The reply as JSON, valid against the response schema; else `StructuredOutputError`.

    The error names the first failing path and keeps `text` as its `output`.
    """
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise StructuredOutputError(
            f"the model's reply is not JSON ({exc})", path="(root)", output=text
        ) from None
    schema = response_schema(settings)
    violations = schema_violations(value, schema) if schema is not None else []
    if violations:
        path, message = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise StructuredOutputError(
            f"the model's reply breaks the response schema at {path}: {message}{more}",
            path=path,
            output=text,
        )
    return value
