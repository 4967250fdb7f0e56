"""PartialTextWriter: a task's streamed text reaches the run store in few writes.

The one writer of partial replies (conversation turns and any streamed task). Chunks go
to a buffer and a background writer task writes what has gathered, one write at a time:
the first text as soon as possible (recording the time to first token), then what
arrived `interval` seconds after the previous write began. So text is never older than
the interval in the store while the database keeps up, and a slow database never slows
the stream: it only gets fewer, larger writes.

`add(text)` never waits. `await append(text)` also writes at once when the interval has
passed (a caller that wants its first chunk stored before it goes on). `flush()` writes
now; `aclose()` (or leaving `async with`) writes the rest and stops the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from types import TracebackType
from typing import Protocol, Self

__all__ = ["PartialFlusher", "PartialTextWriter"]

logger = logging.getLogger("runnable.tracking")


class PartialStore(Protocol):
    """What the writer needs of a run store (`RunStore` is one)."""

    async def append_partial(
        self, task_id: str, text: str, *, ttft_ms: float | None = None
    ) -> bool:
        """Append streamed text to a running task; False once it has ended."""
        ...


class PartialTextWriter:
    """Buffers a task's streamed chunks and appends them to the store in the background."""

    def __init__(
        self,
        store: PartialStore,
        task_id: str,
        *,
        interval: float = 0.5,
        started: float | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive seconds, got {interval!r}")
        self.store = store
        self.task_id = task_id
        self.interval = interval
        self.writes = 0
        """How many writes reached the store."""
        self._started = time.monotonic() if started is None else started
        self._buffer: list[str] = []
        self._ttft_ms: float | None = None
        self._ttft_written = False
        self._last = float("-inf")  # when the last write began
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    @property
    def ttft_ms(self) -> float | None:
        """Milliseconds to the first non-empty chunk, once there is one."""
        return self._ttft_ms

    def add(self, text: str, ttft_ms: float | None = None) -> None:
        """Buffer a chunk (never waits); `ttft_ms` (else measured) is kept from the first."""
        if not text:
            return
        if self._ttft_ms is None:
            self._ttft_ms = (
                ttft_ms if ttft_ms is not None else (time.monotonic() - self._started) * 1000.0
            )
        self._buffer.append(text)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._run())
        self._wake.set()

    async def append(self, text: str) -> None:
        """Buffer a chunk, and write at once when `interval` has passed since the last write."""
        self._raise_failure()
        due = time.monotonic() - self._last >= self.interval
        self.add(text)
        if due and text:
            await self.flush()

    async def flush(self) -> None:
        """Write the buffered text now."""
        async with self._lock:
            await self._write()

    async def aclose(self) -> None:
        """Write what is left and stop the writer; a write that failed is raised here."""
        self._closing.set()
        self._wake.set()
        if self._writer is not None:
            await self._writer
        await self.flush()
        self._raise_failure()

    def detach(self) -> tuple[str, float | None]:
        """Stop the background writer and hand back what it has not written.

        Returns (text, ttft_ms not yet written): for a caller that queues the rest itself,
        in the same batch as the task's end. A write already under way still lands first.
        """
        self._closing.set()
        self._wake.set()
        text = "".join(self._buffer)
        self._buffer.clear()
        ttft = None if self._ttft_written else self._ttft_ms
        self._ttft_written = True
        return text, ttft

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _write(self) -> None:
        if not self._buffer:
            return
        text = "".join(self._buffer)
        self._buffer.clear()
        self._last = time.monotonic()
        ttft = None if self._ttft_written else self._ttft_ms
        try:
            await self.store.append_partial(self.task_id, text, ttft_ms=ttft)
        except BaseException:
            self._buffer.insert(0, text)
            raise
        self._ttft_written = True
        self.writes += 1

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                delay = self._last + self.interval - time.monotonic()
                if delay > 0 and not self._closing.is_set():
                    # Wait out the interval, unless the stream ends first.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), delay)
                async with self._lock:
                    await self._write()
                if self._buffer:
                    self._wake.set()
                if self._closing.is_set() and not self._buffer:
                    return
        except Exception as exc:
            # Kept for the caller's next append/aclose: a background task has no one to raise to.
            self._failure = exc
            logger.warning("could not save the streamed text of task %s: %s", self.task_id, exc)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure


# The earlier name of the writer.
PartialFlusher = PartialTextWriter
