"""Reading a JSON request body safely: bounded size, JSON only, finite numbers, valid text.

Both servers (`bridge.server` and `runnable.http.service`) read bodies through here, so
a request is refused whole, with a 4xx naming what is wrong, BEFORE anything acts on it:

- 413 past `max_bytes` (read in chunks: a lying Content-Length buys nothing),
- 415 for a declared content type that is not JSON,
- 400 for text that is not UTF-8 or not JSON, `NaN`/`Infinity` or a number too large to
  be finite, a lone surrogate (`"\\ud800"`), or arrays and objects nested past `max_depth`.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from runnable.errors import RequestBodyError

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["MAX_BODY_BYTES", "MAX_JSON_DEPTH", "parse_json", "read_json"]

MAX_BODY_BYTES = 1_000_000
MAX_JSON_DEPTH = 64

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _not_finite(text: str) -> Any:
    raise RequestBodyError(400, f"the body holds {text}, which is not a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        _not_finite(text[:40])
    return value


def _check_tree(value: Any, max_depth: int, surrogates: bool) -> None:
    """Nesting within `max_depth`; with `surrogates`, no string holding a lone one."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "$")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise RequestBodyError(400, f"the body nests deeper than {max_depth} at {path}")
            if isinstance(item, dict):
                for key, child in item.items():
                    if surrogates and _SURROGATE.search(key):
                        raise RequestBodyError(400, f"a key under {path} holds a lone surrogate")
                    stack.append((child, depth + 1, f"{path}.{key[:40]}"))
            else:
                stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(item))
        elif surrogates and isinstance(item, str) and _SURROGATE.search(item):
            raise RequestBodyError(400, f"the string at {path} holds a lone surrogate")


def parse_json(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`raw` as JSON data, or `RequestBodyError` (400) saying what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestBodyError(400, f"the body is not UTF-8 text: {exc.reason}") from None
    try:
        value = json.loads(text, parse_constant=_not_finite, parse_float=_finite_float)
    except RecursionError:
        raise RequestBodyError(400, f"the body nests deeper than {max_depth}") from None
    except ValueError as exc:
        if isinstance(exc, RequestBodyError):
            raise
        raise RequestBodyError(400, f"the body is not JSON: {exc}") from None
    # A lone surrogate can only come from a `\u` escape: most bodies skip the search.
    _check_tree(value, max_depth, _SURROGATE_ESCAPE.search(raw) is not None)
    return value


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("application/json", "") or media.endswith("+json")


async def read_json(
    request: Request,
    *,
    default: Any = None,
    max_bytes: int = MAX_BODY_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """The request's JSON body (`default` when empty), checked whole before it is used."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise RequestBodyError(413, f"the body is {declared} bytes; at most {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise RequestBodyError(413, f"the body is over {max_bytes} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return default
    content_type = request.headers.get("content-type", "")
    if not _is_json(content_type):
        raise RequestBodyError(415, f"the body must be application/json, not {content_type[:80]!r}")
    return parse_json(raw, max_depth=max_depth)
