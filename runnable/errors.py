"""The error family of the `runnable` package.

Every error raised on purpose by `runnable` derives from `RunnableError`, so a caller can
catch the base. Errors caused by bad input also derive from `ValueError`.

```
RunnableError
├── InvalidRefError                 a runnable ref that is not "kind:id"
├── TemplateError                   a template that cannot be parsed or rendered
│   ├── UnsupportedTemplateFormatError
│   ├── MissingTemplateVariablesError   strict render without some variables
│   └── TemplateLimitError          a template past a resource limit (names the limit)
├── SchemaError                     a schema that is not a JSON schema
├── InputValidationError            inputs that do not satisfy their ports
├── OpenAPIError                    an OpenAPI document that cannot be read
├── ConflictError                   a save made on an older version than the one stored
├── ChainError
│   ├── ChainCycleError             a chain whose connections form a cycle
│   └── MappingPathError            an input-mapping path that is malformed or unknown
├── VariablesError                  variable layers that cannot be resolved
│   └── MissingVariablesError       required variables that no layer supplies
├── MessageError                    chat messages or resources that cannot be built
├── HttpRunnableError               an app revision or HTTP evaluator call that failed
├── ProviderError                   a chat provider call that failed
│   ├── ProviderInputError          messages or settings that cannot be sent
│   ├── ProviderStatusError         an HTTP error status (status_code, retryable)
│   │   └── ProviderRateLimitError  HTTP 429 after the last retry
│   ├── ProviderTimeoutError        no answer (or no next chunk) within the timeout
│   ├── ProviderConnectionError     the provider could not be reached
│   └── ProviderStreamError         an error event, bad chunk or early end mid-stream
├── StructuredOutputError           a reply that is not JSON or breaks the response schema
├── EvaluatorError
│   ├── UnknownEvaluatorError       a built-in evaluator key that does not exist
│   ├── EvaluatorSettingsError      settings an evaluator cannot use
│   └── EvaluatorInputError         inputs that lack what the evaluator compares
├── ServiceDefinitionError          a function that cannot be served by `create_service`
├── RetryableError                  raised by an executor: this failure is worth a retry
├── DeadlineExceededError           a whole call ran past its deadline (also a TimeoutError)
└── RequestBodyError                an HTTP body refused before use (status: 400, 413, 415)

InputValidationError
└── ServiceRequestError             a request to a served function with bad inputs/config
```

Messages are written for a person: they say what failed and where, and never contain
an API key.
"""

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "ChainCycleError",
    "ChainError",
    "ConflictError",
    "DeadlineExceededError",
    "EvaluatorError",
    "EvaluatorInputError",
    "EvaluatorSettingsError",
    "HttpRunnableError",
    "InputValidationError",
    "InvalidRefError",
    "MappingPathError",
    "MessageError",
    "MissingTemplateVariablesError",
    "MissingVariablesError",
    "OpenAPIError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderInputError",
    "ProviderRateLimitError",
    "ProviderStatusError",
    "ProviderStreamError",
    "ProviderTimeoutError",
    "RequestBodyError",
    "RetryableError",
    "RunnableError",
    "SchemaError",
    "ServiceDefinitionError",
    "ServiceRequestError",
    "StructuredOutputError",
    "TemplateError",
    "TemplateLimitError",
    "UnknownEvaluatorError",
    "UnsupportedTemplateFormatError",
    "VariablesError",
]


class RunnableError(Exception):
    """Base class of every error the `runnable` package raises on purpose."""


class InvalidRefError(RunnableError, ValueError):
    """A runnable reference that is not a kind and an id."""


class TemplateError(RunnableError, ValueError):
    """A template that cannot be parsed or rendered; names the format and the position."""

    def __init__(
        self,
        message: str,
        *,
        format: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.format = format
        self.line = line
        self.column = column
        where = ""
        if line is not None:
            where = f" at line {line}" + (f", column {column}" if column is not None else "")
        prefix = f"{format} template" if format else "template"
        super().__init__(f"{prefix}{where}: {message}")


class UnsupportedTemplateFormatError(TemplateError):
    """A template format this package does not know."""


class MissingTemplateVariablesError(TemplateError):
    """A strict render lacks values for some of the template's variables."""

    def __init__(self, missing: Sequence[str], *, format: str | None = None) -> None:
        self.missing = list(missing)
        super().__init__("missing variables: " + ", ".join(self.missing), format=format)


class TemplateLimitError(TemplateError):
    """A template that goes past one of the limits of `runnable.templates.TemplateLimits`.

    `limit` is the name of the limit (`max_output_chars`, `max_nesting`...).
    """

    def __init__(
        self, limit: str, message: str, *, format: str | None = None, line: int | None = None
    ) -> None:
        self.limit = limit
        super().__init__(f"limit {limit} exceeded: {message}", format=format, line=line)


class SchemaError(RunnableError, ValueError):
    """A schema that is not a JSON schema (or a `$ref` that cannot be resolved)."""


class InputValidationError(RunnableError, ValueError):
    """Inputs that do not satisfy their ports; `errors` maps each bad input to its problems."""

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors = {name: list(problems) for name, problems in errors.items()}
        details = "; ".join(
            f"{name}: {', '.join(problems)}" for name, problems in self.errors.items()
        )
        super().__init__(f"invalid inputs ({', '.join(self.errors)}): {details}")


class OpenAPIError(RunnableError, ValueError):
    """An OpenAPI document that cannot be read as a runnable's interface."""


class ConflictError(RunnableError):
    """A save made on an older version of an entity than the stored one; nothing was written.

    `current_version` is None when the entity no longer exists. Reload the entity (a
    store keeps the draft) and save again to write over the newer version on purpose.
    """

    def __init__(
        self, source: str, entity_id: str, expected_version: int, current_version: int | None
    ) -> None:
        self.source = source
        self.entity_id = entity_id
        self.expected_version = expected_version
        self.current_version = current_version
        now = (
            "it no longer exists"
            if current_version is None
            else f"it is at version {current_version} now"
        )
        # The HTTP face shows `detail` alone: where the source lives (a file path, a host)
        # is the server's business, not its clients'.
        self.detail = (
            f"entity {entity_id!r}: saved on version {expected_version}, but {now}; "
            "reload it and save again"
        )
        super().__init__(f"{source}, {self.detail}")

    def to_dict(self) -> dict[str, Any]:
        """The conflict as JSON data (an HTTP 409 body): the entity and both versions."""
        return {
            "detail": self.detail,
            "entity_id": self.entity_id,
            "expected_version": self.expected_version,
            "current_version": self.current_version,
        }


class ChainError(RunnableError):
    """A chain that cannot be planned or whose inputs cannot be resolved."""


class ChainCycleError(ChainError, ValueError):
    """The connections of a chain form a cycle; `cycle` lists its node ids in order."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = list(cycle)
        path = " -> ".join([*self.cycle, self.cycle[0]]) if self.cycle else "?"
        super().__init__(f"chain has a cycle: {path}")


class MappingPathError(ChainError, ValueError):
    """An input-mapping path that is malformed, refused, or (when strict) finds nothing."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"mapping path {path!r}: {problem}")


class VariablesError(RunnableError, ValueError):
    """Variable layers that cannot be resolved (an unknown layer, a layer that is no mapping)."""


class MissingVariablesError(VariablesError):
    """Required variables that no layer supplies; `missing` names every one of them."""

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = list(missing)
        super().__init__("missing required variables: " + ", ".join(self.missing))


class MessageError(RunnableError, ValueError):
    """Chat messages or resources that cannot be turned into a provider request."""


class HttpRunnableError(RunnableError):
    """An HTTP runnable call failed.

    `reason` is "http" (an error status), "timeout", "unreachable" (no connection, or an
    HTML error page from a proxy) or "invalid" (inputs that cannot be sent as JSON).
    """

    def __init__(
        self,
        message: str,
        *,
        url: str,
        reason: str,
        status_code: int | None = None,
        detail: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.reason = reason
        self.status_code = status_code
        self.detail = detail


class ProviderError(RunnableError):
    """A chat provider call failed."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class ProviderInputError(ProviderError, ValueError):
    """Messages or settings that cannot be sent to a provider."""


class ProviderStatusError(ProviderError):
    """The provider answered with an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_type: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.error_type = error_type
        self.retryable = retryable


class ProviderRateLimitError(ProviderStatusError):
    """The provider kept answering HTTP 429 (rate limited) until retries ran out."""


class ProviderTimeoutError(ProviderError, TimeoutError):
    """The provider did not answer, or stopped streaming, within the timeout."""


class ProviderConnectionError(ProviderError, ConnectionError):
    """The provider could not be reached."""


class ProviderStreamError(ProviderError):
    """A stream that carried an error event, an unreadable chunk, or ended too early."""


class StructuredOutputError(RunnableError, ValueError):
    """The model's reply is not JSON, or breaks the prompt's response schema.

    `path` is where ("items/0/name", "(root)"); `output` is the model's text, kept as the
    failed execution's output.
    """

    def __init__(self, message: str, *, path: str, output: str) -> None:
        self.path = path
        self.output = output
        super().__init__(message)


class EvaluatorError(RunnableError):
    """A built-in evaluator could not run."""


class UnknownEvaluatorError(EvaluatorError, KeyError):
    """No built-in evaluator has this key."""

    def __init__(self, key: str, known: list[str]) -> None:
        self.key = key
        self.known = known
        super().__init__(f"unknown evaluator {key!r}; built-in evaluators: {', '.join(known)}")

    def __str__(self) -> str:
        # KeyError would repr() the message; a person should read it plainly.
        return str(self.args[0])


class EvaluatorSettingsError(EvaluatorError, ValueError):
    """Settings that an evaluator cannot use; the message names the evaluator and field."""


class EvaluatorInputError(EvaluatorError, ValueError):
    """Inputs that lack the values an evaluator compares."""


class ServiceDefinitionError(RunnableError, TypeError):
    """A function `create_service` cannot serve (the message says which and why)."""


class ServiceRequestError(InputValidationError):
    """Bad inputs or config for a served function; `detail` lists errors the FastAPI way."""

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        self.detail = detail
        errors: dict[str, list[str]] = {}
        for item in detail:
            key = ".".join(str(part) for part in item["loc"][1:]) or "body"
            errors.setdefault(key, []).append(str(item["msg"]))
        super().__init__(errors)


class RetryableError(RunnableError):
    """Raise (or subclass) this in an executor to mark a failure as worth another attempt.

    A plain exception raised by an executor is never retried; timeouts, connection
    errors, HTTP 429 and 5xx, and this error are.
    """


class DeadlineExceededError(RunnableError, TimeoutError):
    """A whole call (a provider call, a chain node, a turn) ran past its deadline."""

    def __init__(self, what: str, deadline: float) -> None:
        self.deadline = deadline
        super().__init__(f"{what} did not finish within its deadline of {deadline:g} s")


class RequestBodyError(RunnableError, ValueError):
    """An HTTP request body refused before anything reads it; `status` is the HTTP status.

    400: not UTF-8, not JSON, a number that is not finite, a lone surrogate, nesting too
    deep; 413: too large; 415: not `application/json`.
    """

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)
