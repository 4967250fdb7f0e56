"""Errors raised by run tracking (part of the `RunnableError` family).

    TrackingError                 base
    ├── RunNotFoundError               no run has this id
    ├── TaskNotFoundError              no task has this id
    ├── InvalidTrackingValueError      bad input: an unknown status, a ref that is not a ref
    └── TrackingBackendError      the database failed (the message never holds the password)

Writing to a run or task that already has a terminal status is not an error: the write is
skipped and the method returns False.
"""

from __future__ import annotations

from runnable.errors import RunnableError


class TrackingError(RunnableError):
    """Base of every run-tracking error."""


class RunNotFoundError(TrackingError, LookupError):
    """No run has the given id."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"no run with id {run_id!r}")


class TaskNotFoundError(TrackingError, LookupError):
    """No task has the given id."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        super().__init__(f"no task with id {task_id!r}")


class InvalidTrackingValueError(TrackingError, ValueError):
    """A value handed to the run store is not acceptable."""


class TrackingBackendError(TrackingError):
    """The run store's database failed; names the store (password hidden) and the record."""

    def __init__(self, store: str, record_id: str | None, reason: str) -> None:
        self.store = store
        self.record_id = record_id
        self.reason = reason
        where = store if record_id is None else f"{store}, record {record_id!r}"
        super().__init__(f"{where}: {reason}")

    def about(self, record_id: str) -> TrackingBackendError:
        """The same failure, naming `record_id` (a batch's failure, told to each write)."""
        error = TrackingBackendError(self.store, record_id, self.reason)
        error.__cause__ = self.__cause__
        return error


# Earlier names, kept working.
RunNotFound = RunNotFoundError
TaskNotFound = TaskNotFoundError
InvalidTrackingValue = InvalidTrackingValueError
