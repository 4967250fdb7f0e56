"""Which node failures are worth another attempt, and which policy applies to a node.

The waiting itself is `runnable.retry.RetryPolicy` (backoff with jitter); this file only
adds what a graph needs on top: a policy per node and a verdict on an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from runnable.chain import Node
from runnable.errors import (
    ChainError,
    HttpRunnableError,
    InputValidationError,
    ProviderInputError,
    ProviderStatusError,
)
from runnable.retry import RetryPolicy, is_retryable_status
from runnable.runner.errors import NodeExecutionError

__all__ = ["RetryLike", "is_retryable_error", "retry_policy_for"]

_NOT_TRANSIENT = (ValueError, TypeError, LookupError, AttributeError, NotImplementedError)

RetryLike = RetryPolicy | Mapping[str, RetryPolicy] | Callable[[Node], RetryPolicy | None] | None


def is_retryable_error(error: BaseException) -> bool:
    """True unless repeating the same call cannot help: bad inputs, a refused request, a bug.

    HTTP errors are retried for timeouts, unreachable services and retryable statuses
    (408, 409, 429, 5xx); a provider error when it says so; a failed `ExecutionResult`
    by its status code. Errors that mean bad input or a bug (`ValueError`, `TypeError`,
    `LookupError`, `AttributeError`, `NotImplementedError`, the runner's own input
    errors) are not. Any other exception (a dropped connection, a flaky function) is.
    """
    if isinstance(error, NodeExecutionError):
        status = error.error.status_code
        return status is None or is_retryable_status(status)
    if isinstance(error, InputValidationError | ChainError | ProviderInputError):
        return False
    if isinstance(error, ProviderStatusError):
        return error.retryable
    if isinstance(error, HttpRunnableError):
        if error.reason in ("timeout", "unreachable"):
            return True
        return error.status_code is not None and is_retryable_status(error.status_code)
    if isinstance(error, _NOT_TRANSIENT):
        return False
    return isinstance(error, Exception)


def retry_policy_for(retry: RetryLike, node: Node) -> RetryPolicy | None:
    """The policy for `node`: one for all, one per node id, or a function's answer."""
    if retry is None or isinstance(retry, RetryPolicy):
        return retry
    if isinstance(retry, Mapping):
        return retry.get(node.id)
    return retry(node)
