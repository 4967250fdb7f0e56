"""What the bridge's server sends: values as redacted JSON, errors as a status and a detail.

Nothing here imports the web framework, so the rules are plain functions: every value
goes through `to_json_data` (pydantic models as `model_dump(mode="json")`, secrets under
secret-named keys replaced), and every error through `error_status` (which HTTP status,
and a message with credentials blanked out).
"""

from __future__ import annotations

import json
from typing import Any

import attrs
from pydantic import ValidationError

from bridge.errors import (
    AmbiguousRunnableId,
    ExecutorNotAvailable,
    RunnableNotFoundError,
    UnknownRunnableId,
    UnknownRunnableType,
)
from molecules import EntityNotFoundError, MoleculesError, QueryState, SaveNotSupportedError
from runnable.errors import (
    ConflictError,
    HttpRunnableError,
    InputValidationError,
    ProviderError,
    RunnableError,
)
from runnable.redaction import redact_text, to_record_json
from runnable.sources.errors import SourceBackendError

__all__ = [
    "ApiError",
    "ErrorBody",
    "describe_validation_error",
    "error_body",
    "error_text",
    "json_text",
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


_NOT_FOUND = (UnknownRunnableType, UnknownRunnableId, RunnableNotFoundError, EntityNotFoundError)
_NOT_IMPLEMENTED = (ExecutorNotAvailable, SaveNotSupportedError)
_UPSTREAM = (HttpRunnableError, ProviderError, SourceBackendError)
_REFUSED = (ValidationError, AmbiguousRunnableId, RunnableError, MoleculesError)


def error_body(exc: BaseException) -> ErrorBody:
    """The status and `{"detail": ...}` body of an error (500 for one that is not ours)."""
    detail = error_text(exc)
    if isinstance(exc, ApiError):
        return ErrorBody(exc.status, {"detail": detail})
    if isinstance(exc, InputValidationError):  # InvalidInputsError among them
        errors = {name: [redact_text(p) for p in found] for name, found in exc.errors.items()}
        return ErrorBody(400, {"detail": detail, "errors": errors})
    if isinstance(exc, ConflictError):
        # The entity and both versions: a UI offers to reload, or to save over on purpose.
        return ErrorBody(409, {**exc.to_dict(), "detail": detail})
    if isinstance(exc, _NOT_FOUND):
        return ErrorBody(404, {"detail": detail})
    if isinstance(exc, _NOT_IMPLEMENTED):
        return ErrorBody(501, {"detail": detail})
    if isinstance(exc, _UPSTREAM):
        return ErrorBody(502, {"detail": detail})
    if isinstance(exc, _REFUSED):
        return ErrorBody(400, {"detail": detail})
    return ErrorBody(500, {"detail": f"internal error ({type(exc).__name__}): {detail}"})
