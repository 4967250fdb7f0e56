"""Boundary data of the runnable domain: refs, runnables, ports and execution results.

Every model round-trips through JSON (`Model.model_validate_json(m.model_dump_json()) == m`)
and every field but `RunnableData.id`/`kind`, `RunnablePort.key` and `RunnableRef.id` has
a default.
"""

import json
import warnings
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from runnable.errors import InvalidRefError
from runnable.redaction import redact_text

_UNSET: Any = object()


def _given(**arguments: Any) -> dict[str, Any]:
    """The arguments that were passed: lets models take their fields positionally."""
    return {name: value for name, value in arguments.items() if value is not _UNSET}


__all__ = [
    "ErrorInfo",
    "ExecutionMetrics",
    "ExecutionResult",
    "ExecutionStatus",
    "HttpRequestFormat",
    "RunnableData",
    "RunnablePort",
    "RunnableRef",
    "RunnableSchemas",
    "TraceInfo",
    "error_info",
]


def _parse_ref_text(text: str) -> dict[str, Any]:
    """Split "kind:id" at its first colon; a text without a colon is a bare id."""
    text = text.strip()
    if not text:
        raise InvalidRefError("runnable ref is empty; expected 'kind:id' or an id")
    kind, sep, ident = text.partition(":")
    if not sep:
        return {"kind": None, "id": text}
    if not kind or not ident:
        raise InvalidRefError(f"runnable ref {text!r} is not 'kind:id'")
    return {"kind": kind, "id": ident}


class RunnableRef(BaseModel):
    """A reference to one runnable: its kind (None for a bare id) and its id.

    `RunnableRef("app_revision", "rev-42")`, `RunnableRef("app_revision:rev-42")` and
    `RunnableRef(kind="app_revision", id="rev-42")` are equal; so is the result of
    validating the string "app_revision:rev-42" wherever a ref is expected.
    """

    model_config = ConfigDict(frozen=True)

    kind: str | None = None
    id: str

    def __init__(self, kind: str | None = None, id: str | None = None, /, **data: Any) -> None:
        if kind is not None and id is None:
            data.update(_parse_ref_text(kind))
        else:
            if kind is not None:
                data["kind"] = kind
            if id is not None:
                data["id"] = id
        super().__init__(**data)

    @model_validator(mode="before")
    @classmethod
    def _accept_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _parse_ref_text(value)
        return value

    @field_validator("kind", "id")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value

    @classmethod
    def parse(cls, value: "str | RunnableRef | dict[str, Any]") -> "RunnableRef":
        """Return `value` as a ref: a ref itself, a "kind:id" text, a bare id, or a dict."""
        if isinstance(value, RunnableRef):
            return value
        return cls.model_validate(value)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}" if self.kind else self.id


class RunnableSchemas(BaseModel):
    """The JSON schemas a runnable declares (each None when unknown)."""

    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    parameters: dict[str, Any] | None = None
    messages: dict[str, Any] | None = None


class HttpRequestFormat(BaseModel):
    """How an HTTP runnable takes a request: the body's shape, and whether its config goes.

    `body`: "inputs" (`{"inputs": ...}`), "fields" (the inputs as top-level fields) or
    "invoke" (`{"data": {"inputs", "parameters"}}`); see `runnable.http.invocation`.
    `references` name the deployed config a service should fetch itself, when the config
    does not go (`{"application": {"slug": ...}, "environment": {"slug": ...}}`).
    """

    model_config = ConfigDict(frozen=True)

    body: Literal["inputs", "fields", "invoke"] = "inputs"
    with_config: bool = True
    references: dict[str, dict[str, Any]] | None = None


class RunnableData(BaseModel):
    """One runnable as the bridge sees it, whatever its kind.

    `request` (HTTP runnables) says how the service takes a request; None means the
    seed's default: `{"inputs": ...}`, with the config on a `/test` route.
    """

    id: str
    kind: str
    name: str | None = None
    version: int | str | None = None
    slug: str | None = None
    configuration: dict[str, Any] = Field(default_factory=dict)
    invocation_url: str | None = None
    schemas: RunnableSchemas = Field(default_factory=RunnableSchemas)
    request: HttpRequestFormat | None = None

    def __init__(
        self,
        /,
        id: str = _UNSET,
        kind: str = _UNSET,
        name: str | None = _UNSET,
        version: int | str | None = _UNSET,
        slug: str | None = _UNSET,
        configuration: dict[str, Any] = _UNSET,
        invocation_url: str | None = _UNSET,
        schemas: RunnableSchemas = _UNSET,
        **data: Any,
    ) -> None:
        fields = _given(
            id=id,
            kind=kind,
            name=name,
            version=version,
            slug=slug,
            configuration=configuration,
            invocation_url=invocation_url,
            schemas=schemas,
        )
        super().__init__(**fields, **data)

    @property
    def ref(self) -> RunnableRef:
        """The ref that names this runnable."""
        return RunnableRef(self.kind, self.id)


with warnings.catch_warnings():
    # `schema` is the contract's field name; it shadows BaseModel's deprecated `schema()`.
    warnings.filterwarnings("ignore", message=".*shadows an attribute in parent.*")

    class RunnablePort(BaseModel):
        """One input or output of a runnable: key, display name, JSON type and schema."""

        key: str
        name: str | None = None
        type: str = "string"
        required: bool = False
        schema: dict[str, Any] | None = None  # type: ignore[assignment]
        description: str | None = None
        default: Any = None

        def __init__(
            self,
            /,
            key: str = _UNSET,
            name: str | None = _UNSET,
            type: str = _UNSET,
            required: bool = _UNSET,
            schema: dict[str, Any] | None = _UNSET,
            **data: Any,
        ) -> None:
            fields = _given(key=key, name=name, type=type, required=required, schema=schema)
            super().__init__(**fields, **data)


class ExecutionStatus(StrEnum):
    """Where one execution stands."""

    IDLE = "idle"
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    ERROR = "error"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"

    @property
    def is_terminal(self) -> bool:
        """True for the statuses an execution never leaves."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        ExecutionStatus.SUCCESS,
        ExecutionStatus.ERROR,
        ExecutionStatus.CANCELLED,
        ExecutionStatus.SKIPPED,
    }
)


class ExecutionMetrics(BaseModel):
    """Timings, token usage and cost of one execution (None when not measured)."""

    latency_ms: float | None = None
    ttft_ms: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None

    @property
    def total_tokens(self) -> int | None:
        """Tokens in plus tokens out, or None when neither is known."""
        if self.tokens_in is None and self.tokens_out is None:
            return None
        return (self.tokens_in or 0) + (self.tokens_out or 0)


class TraceInfo(BaseModel):
    """Where the trace of an execution can be found."""

    trace_id: str | None = None
    span_id: str | None = None
    url: str | None = None


class ErrorInfo(BaseModel):
    """Why an execution failed; a plain string validates as `ErrorInfo(message=...)`.

    `type` is the exception's class name, `code` a machine-readable code a service gave
    (Agenta's `status.code`, a provider's error code), `status_code` an HTTP status.
    """

    message: str = ""
    type: str | None = None
    code: str | None = None
    status_code: int | None = None
    details: Any = None

    @classmethod
    def from_exception(cls, error: BaseException) -> "ErrorInfo":
        """An exception as ErrorInfo: redacted message (or type), type, code, HTTP status.

        An exception that carries an `ErrorInfo` (`error.error`, as the runner's
        `NodeExecutionError` does) gives that one.
        """
        carried = getattr(error, "error", None)
        if isinstance(carried, ErrorInfo):
            return carried
        status = getattr(error, "status_code", None)
        code = getattr(error, "code", None)
        return cls(
            message=redact_text(str(error)) or type(error).__name__,
            type=type(error).__name__,
            code=str(code) if isinstance(code, str | int) and not isinstance(code, bool) else None,
            status_code=status if isinstance(status, int) else None,
        )

    def to_json(self) -> str:
        """The JSON text stored for this error: message, type, code and status_code."""
        return json.dumps(
            {
                "message": self.message,
                "type": self.type,
                "code": self.code,
                "status_code": self.status_code,
            }
        )

    @model_validator(mode="before")
    @classmethod
    def _accept_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"message": value}
        return value


error_info = ErrorInfo.from_exception
"""An exception as `ErrorInfo` (the one converter every layer uses)."""


class ExecutionResult(BaseModel):
    """The outcome (or the state so far) of one execution."""

    execution_id: str = Field(default_factory=lambda: uuid4().hex)
    status: ExecutionStatus = ExecutionStatus.IDLE
    started_at: datetime | None = None
    completed_at: datetime | None = None
    output: Any = None
    structured_output: Any = None
    error: ErrorInfo | None = None
    trace: TraceInfo | None = None
    metrics: ExecutionMetrics = Field(default_factory=ExecutionMetrics)

    @property
    def duration_ms(self) -> float | None:
        """Milliseconds from start to completion, when both are known."""
        if self.started_at is None or self.completed_at is None:
            return None
        return (self.completed_at - self.started_at).total_seconds() * 1000.0
