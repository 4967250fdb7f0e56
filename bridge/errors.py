"""Errors raised by the bridge.

```
BridgeError
├── InvalidRunnableTypeError   register() given something that is not a usable RunnableType
├── UnknownRunnableTypeError        a ref names a kind the bridge does not have
├── AmbiguousRunnableIdError        a bare id that more than one kind knows
├── UnknownRunnableIdError          a bare id that no kind knows
├── RunnableNotFoundError      the kind's molecule could not load the entity
├── InvalidInputsError         inputs that do not satisfy the input ports (also an
│                              runnable.errors.InputValidationError); nothing was called
├── ExecutorNotAvailableError       the kind has no executor (also a NotImplementedError)
└── RunnableExecutionError     a streamed run whose executor reported a failure
```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from runnable.errors import InputValidationError
from runnable.types import ErrorInfo


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""


class InvalidRunnableTypeError(BridgeError, TypeError):
    """A kind name or RunnableType the bridge cannot register."""


class UnknownRunnableTypeError(BridgeError, LookupError):
    """A ref names a kind that is not registered; `known` lists the kinds that are."""

    def __init__(self, kind: str, known: Sequence[str]) -> None:
        self.kind = kind
        self.known = list(known)
        super().__init__(
            f"unknown runnable kind {kind!r}; registered kinds: {', '.join(self.known) or 'none'}"
        )

    def __str__(self) -> str:
        return str(self.args[0])


class AmbiguousRunnableIdError(BridgeError, LookupError):
    """A bare id that several kinds know; use "kind:id" to say which one."""

    def __init__(self, id: str, kinds: Sequence[str]) -> None:
        self.id = id
        self.kinds = list(kinds)
        choices = ", ".join(f"{k}:{id}" for k in self.kinds)
        super().__init__(f"runnable id {id!r} is known to several kinds; use one of {choices}")

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownRunnableIdError(BridgeError, LookupError):
    """A bare id that no registered kind knows."""

    def __init__(self, id: str, kinds: Sequence[str]) -> None:
        self.id = id
        self.kinds = list(kinds)
        super().__init__(
            f"no runnable kind knows id {id!r} (looked in: {', '.join(self.kinds) or 'none'})"
        )

    def __str__(self) -> str:
        return str(self.args[0])


class RunnableNotFoundError(BridgeError, LookupError):
    """The kind's molecule could not load the runnable; the message says why."""

    def __init__(self, ref: str, reason: str) -> None:
        self.ref = ref
        self.reason = reason
        super().__init__(f"cannot load runnable {ref}: {reason}")

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidInputsError(BridgeError, InputValidationError):
    """Inputs that do not satisfy the runnable's input ports; `errors` maps each bad input."""

    def __init__(self, ref: str, errors: Mapping[str, Sequence[str]]) -> None:
        InputValidationError.__init__(self, errors)
        self.ref = ref
        self.args = (f"{ref}: {self.args[0]}",)


class ExecutorNotAvailableError(BridgeError, NotImplementedError):
    """The kind has no executor (yet): nothing was run."""

    def __init__(self, kind: str, hint: str | None = None) -> None:
        self.kind = kind
        more = f": {hint}" if hint else ""
        super().__init__(f"runnables of kind {kind!r} cannot be executed yet{more}")


class RunnableExecutionError(BridgeError):
    """A streamed run whose executor reported an error instead of output."""

    def __init__(self, ref: str, message: str, *, error: ErrorInfo | None = None) -> None:
        self.ref = ref
        # The failure as the executor raised it: its type, code and HTTP status.
        self.error = error or ErrorInfo(message=message)
        self.status_code = self.error.status_code
        super().__init__(f"{ref} failed: {message}")


# Earlier names, kept working.
UnknownRunnableType = UnknownRunnableTypeError
AmbiguousRunnableId = AmbiguousRunnableIdError
UnknownRunnableId = UnknownRunnableIdError
ExecutorNotAvailable = ExecutorNotAvailableError
