"""Which node failures are worth another attempt, and which policy applies to a node.

The waiting itself is `runnable.retry.RetryPolicy` (backoff with jitter); this file only
adds what a graph needs on top: a policy per node and a verdict on an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from runnable.chain import Node
from runnable.errors import (
    ChainError,
    DeadlineExceededError,
    HttpRunnableError,
    InputValidationError,
    ProviderInputError,
    ProviderStatusError,
    RetryableError,
)
from runnable.retry import RetryPolicy, is_retryable_status
from runnable.runner.errors import NodeExecutionError

__all__ = ["RetryLike", "is_retryable_error", "retry_policy_for"]

RetryLike = RetryPolicy | Mapping[str, RetryPolicy] | Callable[[Node], RetryPolicy | None] | None


def is_retryable_error(error: BaseException) -> bool:
    """True only for failures that the same call may not repeat.

    Those are: timeouts and connection errors (a provider's or an HTTP runnable's),
    HTTP 408, 409, 429 and 5xx (from a provider, an HTTP runnable, or a failed
    `ExecutionResult` by its status code), a provider error that says it is retryable,
    and `RetryableError`. Anything else, a plain exception raised by an executor
    included, is a bug or bad input and is not retried. A deadline is final.
    """
    if isinstance(error, DeadlineExceededError):
        return False
    if isinstance(error, RetryableError):
        return True
    if isinstance(error, NodeExecutionError):
        status = error.error.status_code
        return status is not None and is_retryable_status(status)
    if isinstance(error, InputValidationError | ChainError | ProviderInputError):
        return False
    if isinstance(error, ProviderStatusError):
        return error.retryable
    if isinstance(error, HttpRunnableError):
        if error.reason in ("timeout", "unreachable"):
            return True
        return error.status_code is not None and is_retryable_status(error.status_code)
    return isinstance(error, TimeoutError | ConnectionError)


def retry_policy_for(retry: RetryLike, node: Node) -> RetryPolicy | None:
    """The policy for `node`: one for all, one per node id, or a function's answer."""
    if retry is None or isinstance(retry, RetryPolicy):
        return retry
    if isinstance(retry, Mapping):
        return retry.get(node.id)
    return retry(node)
