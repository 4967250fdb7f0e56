"""`QueryState`: where the fetch of one entity stands, as a plain value an atom can hold."""

from __future__ import annotations

import asyncio
from typing import Any, Generic, Literal, TypeVar

import attrs

T = TypeVar("T")

QueryStatus = Literal["idle", "loading", "success", "error"]

__all__ = ["QueryState", "QueryStatus"]


@attrs.frozen(slots=True)
class QueryState(Generic[T]):
    """The fetch of one entity: idle (never asked), loading, success (with data) or error.

    While a refresh runs (`loading`) and after a refresh fails (`error`), `data` still
    holds the last data fetched, so a view keeps showing it. `fetched_at` is the clock
    time (seconds) of the last successful fetch or save.
    """

    status: QueryStatus = "idle"
    data: T | None = None
    error: BaseException | None = None
    fetched_at: float | None = None

    @property
    def is_idle(self) -> bool:
        """True before anything asked for the entity."""
        return self.status == "idle"

    @property
    def is_loading(self) -> bool:
        """True while a fetch runs."""
        return self.status == "loading"

    @property
    def is_success(self) -> bool:
        """True once the entity was fetched (or saved)."""
        return self.status == "success"

    @property
    def is_error(self) -> bool:
        """True when the last fetch failed (a missing entity included)."""
        return self.status == "error"

    @property
    def message(self) -> str | None:
        """The error's message, for display; None unless the status is error."""
        return None if self.error is None else str(self.error)


IDLE: QueryState[Any] = QueryState()


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop running in this thread, or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
