"""Secret redaction: what the run store writes never carries an API key."""

from __future__ import annotations

import re
from typing import Any

import attrs
from pydantic_core import to_jsonable_python

REDACTED = "[REDACTED]"

SECRET_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "x_api_key",
        "api_token",
        "access_token",
        "refresh_token",
        "id_token",
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "client_secret",
        "secret_key",
        "private_key",
        "password",
        "secret",
    }
)
"""Keys (compared lower-cased, with '-' read as '_') whose values are always redacted."""

_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{4,}", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    """Tell whether a key names a secret (`Authorization`, `x-api-key`, `openai_api_key`)."""
    normal = key.strip().lower().replace("-", "_")
    return normal in SECRET_KEYS or normal.endswith(("_api_key", "_secret", "_password"))


def redact_secrets(value: Any) -> Any:
    """Return a copy of a JSON-like value with every secret-named key's value redacted.

    Works at any depth, in mappings and in header lists of `[name, value]` pairs.
    """
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and is_secret_key(key) and item is not None
            else redact_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        if len(value) == 2 and isinstance(value[0], str) and is_secret_key(value[0]):
            return [value[0], REDACTED]
        return [redact_secrets(item) for item in value]
    return value


def redact_text(text: str) -> str:
    """Return `text` with credentials after `Bearer`/`Basic`/`Token` blanked out."""
    return _BEARER.sub(lambda match: f"{match.group(1)} {REDACTED}", text)


def _unknown_to_json(value: Any) -> Any:
    if attrs.has(type(value)):
        return attrs.asdict(value, recurse=False)
    # Never repr() an unknown object: a client or a config object may hold a key.
    return f"<{type(value).__qualname__}>"


def to_record_json(value: Any) -> Any:
    """Convert a payload (models, dataclasses, attrs, datetimes...) to redacted JSON data."""
    return redact_secrets(to_jsonable_python(value, fallback=_unknown_to_json))
