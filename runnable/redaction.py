"""Secret redaction: run records, events, logs and error messages never carry an API key.

The one place that decides what a secret looks like: secret-named keys (`is_secret_key`),
credential shapes in text (`redact_text`: bearer tokens, provider key shapes, passwords
in URLs, `key=value` pairs), and a logging filter that applies them to log records.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from pydantic_core import PydanticSerializationError, to_json, to_jsonable_python

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
        "passwd",
        "pwd",
        "secret",
        "auth",
        "credentials",
    }
)
"""Keys (compared lower-cased, with '-' read as '_') whose values are always redacted.

A bare `token` is not one: in LLM payloads it is usually a piece of text (`*_token` is)."""

# Case-sensitive for Basic/Token, so prose like "a basic error" is left alone.
_BEARER = re.compile(r"\b((?i:bearer)|Basic|Token)\s+[A-Za-z0-9._~+/=-]{4,}")
# Key shapes that providers use (OpenAI/Anthropic `sk-...`, GitHub `ghp_...`, Slack
# `xox?-...`, Google `AIza...`) and passwords inside URLs (`scheme://user:password@`).
_KEY_SHAPES = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{12,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|AIza[A-Za-z0-9_-]{30,})"
)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*):[^@\s/]+@", re.IGNORECASE)
# `api_key=...` in query strings, `'password': '...'` in reprs, `token: ...` in messages.
_KEY_VALUE = re.compile(
    r"(?<![A-Za-z0-9])((?:(?:[A-Za-z0-9]+[_-])+token|(?:[A-Za-z0-9]+[_-])*"
    r"(?:api[_-]?key|access[_-]?key|secret|password|passwd|pwd|authorization))"
    r"['\"]?\s*[=:]\s*['\"]?)([^'\"&\s,;}]+)",
    re.IGNORECASE,
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SECRET_SUFFIXES = (
    "_api_key",
    "_apikey",
    "_secret",
    "_password",
    "_token",
    "_passwd",
    "_access_key",
    "_credentials",
)


@functools.lru_cache(maxsize=4096)  # the same few keys, in every record written
def is_secret_key(key: str) -> bool:
    """Tell whether a key names a secret (`Authorization`, `x-api-key`, `openaiApiKey`...)."""
    normal = _CAMEL.sub("_", key.strip()).lower().replace("-", "_")
    return normal in SECRET_KEYS or normal.endswith(_SECRET_SUFFIXES)


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
    """Return `text` with credentials blanked out: after `Bearer`/`Basic`/`Token`, strings
    shaped like provider API keys, and passwords in URLs."""
    text = _BEARER.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    text = _KEY_SHAPES.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(lambda match: f"{match.group(1)}:{REDACTED}@", text)
    return _KEY_VALUE.sub(lambda match: f"{match.group(1)}{REDACTED}", text)


MIN_SECRET_VALUE_CHARS = 4
"""Shorter values of secret-named variables are not searched for in text (too common)."""


def secret_values(variables: Mapping[str, Any]) -> list[str]:
    """The values of secret-named variables, as text, longest first (for `redact_values`)."""
    found = {
        text
        for name, value in variables.items()
        if is_secret_key(name)
        and value is not None
        and len(text := value if isinstance(value, str) else str(value)) >= MIN_SECRET_VALUE_CHARS
    }
    return sorted(found, key=len, reverse=True)


def redact_values(value: Any, secrets: Sequence[str]) -> Any:
    """A copy of a JSON-like value with each of `secrets` blanked out of every string in it."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {key: redact_values(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_values(item, secrets) for item in value]
    return value


def _unknown_to_json(value: Any) -> Any:
    if attrs.has(type(value)):
        return attrs.asdict(value, recurse=False)
    # Never repr() an unknown object: a client or a config object may hold a key.
    return f"<{type(value).__qualname__}>"


def to_record_json(value: Any) -> Any:
    """Convert a payload (models, dataclasses, attrs, datetimes...) to redacted JSON data."""
    data = to_jsonable_python(value, fallback=_unknown_to_json)
    _redact_in_place(data)  # its containers are new: no second copy (run records are hot)
    return data


# Every secret-named string (`is_secret_key`: a name in SECRET_KEYS or one of the
# suffixes, compared lower-cased after `strip()`) ends with one of these words, then
# maybe whitespace or an escape, then its closing quote. Text with none of them holds
# no secret-named key, so it needs no redaction. The screen may say yes too often,
# never too rarely: a test holds it to `to_record_json`.
_SECRET_WORDS = (
    "key", "token", "authorization", "cookie", "secret", "password", "passwd", "pwd",
    "auth", "credentials",
)  # fmt: skip
# Matched in the lower-cased text, as `is_secret_key` compares (IGNORECASE is 7x slower).
_MAYBE_SECRET = re.compile(rf"(?:{'|'.join(_SECRET_WORDS)})" r'(?:\s|\\u[0-9a-f]{4}|\\.)*"')


def _maybe_secret(text: str) -> bool:
    # Substring searches first, one per stem of the words (the pattern alone tries every
    # position of the text): most documents have none, and end here.
    lowered = text.lower()
    return (
        "key" in lowered
        or "auth" in lowered
        or "token" in lowered
        or "passw" in lowered
        or "pwd" in lowered
        or "secret" in lowered
        or "cookie" in lowered
        or "credentials" in lowered
    ) and _MAYBE_SECRET.search(lowered) is not None


def to_record_json_text(value: Any) -> str:
    """`to_record_json` as JSON text: what the run store writes, made when a write is queued."""
    # One pass in pydantic-core when nothing in the text can be secret (nearly always);
    # a run store writes several documents for every node it records.
    try:
        text = to_json(value, fallback=_unknown_to_json).decode()
    except PydanticSerializationError:  # a lone surrogate: the json module escapes it
        pass
    else:
        if not _maybe_secret(text):
            return text
    return json.dumps(to_record_json(value))


def _redact_in_place(value: Any) -> None:
    """`redact_secrets` on JSON data that nobody else holds, changing it where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            if item is not None and isinstance(key, str) and is_secret_key(key):
                value[key] = REDACTED
            elif isinstance(item, dict | list):
                _redact_in_place(item)
    elif isinstance(value, list):
        if len(value) == 2 and isinstance(value[0], str) and is_secret_key(value[0]):
            value[1] = REDACTED
            return
        for item in value:
            if isinstance(item, dict | list):
                _redact_in_place(item)


class RedactingFilter(logging.Filter):
    """A logging filter that blanks credentials out of each record's message (`redact_text`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with credentials redacted; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report
            return True
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = RedactingFilter()


def install_log_redaction(*names: str) -> None:
    """Redact credentials in every record of the named loggers (idempotent)."""
    for name in names:
        found = logging.getLogger(name)
        if _FILTER not in found.filters:
            found.addFilter(_FILTER)
