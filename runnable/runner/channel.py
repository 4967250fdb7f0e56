"""An event channel: events go to a callback at once and to one async reader in order.

Shared by the runs (graph, dataset, flow), so that each is an async iterator of its
events without a queue per run or a task per reader. The buffer exists only once a
reader asked for it, so a run that is only awaited keeps no events.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from runnable.redaction import redact_secrets
from runnable.runner.events import Event

__all__ = ["EventCallback", "EventChannel", "await_run"]

T = TypeVar("T")


async def await_run(outcome: Awaitable[T], cancel: Callable[[], None]) -> T:
    """`outcome` of a run, shielded: a cancelled waiter cancels the run, through `cancel`."""
    try:
        return await asyncio.shield(outcome)
    except asyncio.CancelledError:
        cancel()
        raise


logger = logging.getLogger("runnable.runner")

EventCallback = Callable[[Event], Any]


class EventChannel:
    """Delivers events to `on_event` and to the reader of `next()`; `close()` ends reading."""

    __slots__ = ("_buffer", "_closed", "_log", "_on_event", "_waiter")

    def __init__(self, on_event: EventCallback | None = None) -> None:
        self._on_event = on_event
        self._buffer: deque[Event] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        # Checked once: no per-event logging cost unless debug logging is on.
        self._log = logger.isEnabledFor(logging.DEBUG)

    def open(self) -> None:
        """Start keeping events for the reader (events emitted before are not kept)."""
        if self._buffer is None:
            self._buffer = deque()

    def emit(self, event: Event) -> None:
        """Deliver one event to the callback and, if there is one, the reader."""
        buffer = self._buffer
        if buffer is not None:
            buffer.append(event)
            waiter = self._waiter
            if waiter is not None:
                self._waiter = None
                if not waiter.done():
                    waiter.set_result(None)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                # The run must go on: a broken observer is a bug to report, not a failure.
                logger.exception("on_event callback failed on a %s event", event.type)
        if self._log:
            logger.debug("%s", json.dumps(redact_secrets(event.model_dump(mode="json"))))

    def close(self) -> None:
        """No more events: the reader ends once it has read what is buffered."""
        self._closed = True
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next(self, on_cancel: Callable[[], Any]) -> Event:
        """The next event; `StopAsyncIteration` after the last. Cancelling calls `on_cancel`."""
        buffer = self._buffer
        if buffer is None:
            buffer = self._buffer = deque()
        while True:
            if buffer:
                return buffer.popleft()
            if self._closed:
                raise StopAsyncIteration
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            except asyncio.CancelledError:
                on_cancel()
                raise
