"""What the bridge's server reads and sends: bodies checked whole, values as redacted JSON,
errors as a status and a detail.

Every route reads its body through `read_json_body` (size, content type, finite numbers,
valid text, bounded nesting: refused with a 4xx before anything is applied). Every value
goes through `to_json_data` (pydantic models as `model_dump(mode="json")`, secrets under
secret-named keys replaced), and every error through `error_body` (which HTTP status,
and a message with credentials blanked out).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import attrs
from pydantic import ValidationError

from bridge.errors import (
    AmbiguousRunnableIdError,
    ExecutorNotAvailableError,
    RunnableNotFoundError,
    UnknownRunnableIdError,
    UnknownRunnableTypeError,
)
from molecules import EntityNotFoundError, MoleculesError, QueryState, SaveNotSupportedError
from runnable.errors import (
    ConflictError,
    HttpRunnableError,
    InputValidationError,
    ProviderError,
    RequestBodyError,
    RunnableError,
)
from runnable.http.request_body import MAX_BODY_BYTES, MAX_JSON_DEPTH, read_json
from runnable.redaction import redact_text, to_record_json
from runnable.sources.errors import SourceBackendError

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = [
    "ApiError",
    "ErrorBody",
    "describe_validation_error",
    "error_body",
    "error_text",
    "json_text",
    "read_json_body",
    "to_json_data",
]


@attrs.frozen(slots=True)
class ErrorBody:
    """An error as the server answers it: the HTTP status and the JSON body."""

    status: int
    body: dict[str, Any]


class ApiError(Exception):
    """A request the server refuses on its own (a bad body, an unknown selector...)."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(detail)


async def read_json_body(
    request: Request,
    *,
    default: Any = None,
    max_bytes: int = MAX_BODY_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """The request's JSON body (`default` when empty), or an `ApiError` 4xx naming the fault.

    413 past `max_bytes`, 415 for a content type that is not JSON, 400 for text that is
    not UTF-8 or not JSON, a number that is not finite, a lone surrogate, or nesting past
    `max_depth`. Read before anything is applied, so a refused request changes nothing.
    """
    try:
        return await read_json(request, default=default, max_bytes=max_bytes, max_depth=max_depth)
    except RequestBodyError as exc:
        raise ApiError(exc.status, str(exc)) from None


def to_json_data(value: Any) -> Any:
    """`value` as JSON data: models dumped in JSON mode, secrets redacted at any depth."""
    if isinstance(value, QueryState):
        value = {
            "status": value.status,
            "data": value.data,
            "error": None if value.error is None else error_text(value.error),
            "fetched_at": value.fetched_at,
        }
    return to_record_json(value)


def json_text(value: Any) -> str:
    """`value` as compact JSON text (through `to_json_data`)."""
    return json.dumps(to_json_data(value), separators=(",", ":"), ensure_ascii=False)


def error_text(exc: BaseException) -> str:
    """The message of `exc`, with credentials blanked out."""
    if isinstance(exc, ValidationError):
        return redact_text(describe_validation_error(exc))
    return redact_text(str(exc) or type(exc).__name__)


def describe_validation_error(exc: ValidationError) -> str:
    """A pydantic error as one line: `where: what` for each problem, joined by '; '."""
    parts = []
    for problem in exc.errors(include_url=False, include_input=False):
        cause = (problem.get("ctx") or {}).get("error")
        message = str(cause) if isinstance(cause, Exception) else problem["msg"]
        where = ".".join(str(step) for step in problem["loc"])
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts) or str(exc)


_NOT_FOUND = (
    UnknownRunnableTypeError,
    UnknownRunnableIdError,
    RunnableNotFoundError,
    EntityNotFoundError,
)
_NOT_IMPLEMENTED = (ExecutorNotAvailableError, SaveNotSupportedError)
_UPSTREAM = (HttpRunnableError, ProviderError, SourceBackendError)
_REFUSED = (ValidationError, AmbiguousRunnableIdError, RunnableError, MoleculesError)


def error_body(exc: BaseException) -> ErrorBody:
    """The status and `{"detail": ...}` body of an error (500 for one that is not ours)."""
    detail = error_text(exc)
    if isinstance(exc, ApiError | RequestBodyError):
        return ErrorBody(exc.status, {"detail": detail})
    if isinstance(exc, InputValidationError):  # InvalidInputsError among them
        errors = {name: [redact_text(p) for p in found] for name, found in exc.errors.items()}
        return ErrorBody(400, {"detail": detail, "errors": errors})
    if isinstance(exc, ConflictError):
        # The entity and both versions: a UI offers to reload, or to save over on purpose.
        return ErrorBody(409, exc.to_dict())
    if isinstance(exc, _NOT_FOUND):
        return ErrorBody(404, {"detail": detail})
    if isinstance(exc, _NOT_IMPLEMENTED):
        return ErrorBody(501, {"detail": detail})
    if isinstance(exc, _UPSTREAM):
        return ErrorBody(502, {"detail": detail})
    if isinstance(exc, _REFUSED):
        return ErrorBody(400, {"detail": detail})
    return ErrorBody(500, {"detail": f"internal error ({type(exc).__name__}): {detail}"})
