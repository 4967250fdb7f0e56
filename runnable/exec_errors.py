"""Errors of the executors (HTTP runnables, chat providers, evaluators, services).

They extend the package family in `runnable.errors` (every one is a `RunnableError`):

```
RunnableError
├── HttpRunnableError               an app revision or HTTP evaluator call that failed
├── ProviderError                   a chat provider call that failed
│   ├── ProviderInputError          messages or settings that cannot be sent
│   ├── ProviderStatusError         an HTTP error status (status_code, retryable)
│   │   └── ProviderRateLimitError  HTTP 429 after the last retry
│   ├── ProviderTimeoutError        no answer (or no next chunk) within the timeout
│   ├── ProviderConnectionError     the provider could not be reached
│   └── ProviderStreamError         an error event, bad chunk or early end mid-stream
├── EvaluatorError
│   ├── UnknownEvaluatorError       a built-in evaluator key that does not exist
│   ├── EvaluatorSettingsError      settings an evaluator cannot use
│   └── EvaluatorInputError         inputs that lack what the evaluator compares
├── ServiceDefinitionError          a function that cannot be served by `create_service`
└── InputValidationError
    └── ServiceRequestError         a request to a served function with bad inputs/config
```

Messages are written for a person: they say what failed and where, and never contain
an API key.
"""

from __future__ import annotations

from typing import Any

from runnable.errors import InputValidationError, RunnableError

__all__ = [
    "EvaluatorError",
    "EvaluatorInputError",
    "EvaluatorSettingsError",
    "HttpRunnableError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderInputError",
    "ProviderRateLimitError",
    "ProviderStatusError",
    "ProviderStreamError",
    "ProviderTimeoutError",
    "ServiceDefinitionError",
    "ServiceRequestError",
    "UnknownEvaluatorError",
]


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
