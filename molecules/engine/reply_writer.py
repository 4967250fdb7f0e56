"""ReplyWriter: a streaming reply written to its task in the background.

`runnable.tracking.PartialFlusher` writes inline: a chunk that finds the interval passed
waits for its write. Under load (a thousand streams on one database) that wait slows every
stream, a slower stream needs more flushes, and the database falls further behind. The
engine's writer never makes the stream wait: chunks go to a buffer, and one writer task
per turn writes what has gathered, one write at a time. The first text is written as soon
as possible (recording the time to first token), then what arrived is written `interval`
seconds after the previous write began: at least every interval while the database keeps
up, and as often as it allows when it does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from runnable.tracking import RunStore

logger = logging.getLogger(__name__)


class ReplyWriter:
    """Buffers a task's streamed text and appends it to the run store from its own task."""

    def __init__(self, store: RunStore, task_id: str, *, interval: float = 0.5) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive seconds, got {interval!r}")
        self.store = store
        self.task_id = task_id
        self.interval = interval
        self.writes = 0
        """How many writes reached the store."""
        self._buffer: list[str] = []
        self._ttft_ms: float | None = None
        self._ttft_written = False
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._writer = asyncio.get_running_loop().create_task(self._run())

    def add(self, text: str, ttft_ms: float | None = None) -> None:
        """Buffer a chunk (never waits); `ttft_ms` is kept from the first chunk."""
        if not text:
            return
        if self._ttft_ms is None:
            self._ttft_ms = ttft_ms
        self._buffer.append(text)
        self._wake.set()

    async def aclose(self) -> None:
        """Write what is left and stop."""
        self._closing.set()
        self._wake.set()
        await self._writer

    async def _run(self) -> None:
        last = float("-inf")
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                delay = last + self.interval - time.monotonic()
                if delay > 0 and not self._closing.is_set():
                    # Wait out the interval, unless the turn ends first.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), delay)
                if self._buffer:
                    text = "".join(self._buffer)
                    self._buffer.clear()
                    last = time.monotonic()
                    ttft = None if self._ttft_written else self._ttft_ms
                    await self.store.append_partial(self.task_id, text, ttft_ms=ttft)
                    self._ttft_written = True
                    self.writes += 1
                    if self._buffer:
                        self._wake.set()
                if self._closing.is_set() and not self._buffer:
                    return
        except Exception as exc:
            logger.warning(
                "run tracking stopped saving the reply of task %s: %s", self.task_id, exc
            )
