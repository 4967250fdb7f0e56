"""PartialFlusher: streamed text reaches the run store in batches, at least every interval."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from runnable.tracking.store import RunStore


class PartialFlusher:
    """Buffers a task's streamed chunks and appends them to the store in few writes.

    The first chunk is written at once (a reader sees the reply start, and its time to first
    token is recorded); later chunks are written when `interval` seconds have passed since
    the last write, by the next `append` or by a timer, so nothing waits longer than that.
    Close it (or use `async with`) to write what is left.
    """

    def __init__(
        self,
        store: RunStore,
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
        self._started = time.monotonic() if started is None else started
        self._buffer: list[str] = []
        self._last_write = float("-inf")
        self._ttft_ms: float | None = None
        self._ttft_written = False
        self._timer: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._lock = asyncio.Lock()
        self.writes = 0
        """How many writes reached the store."""

    @property
    def ttft_ms(self) -> float | None:
        """Milliseconds from `started` to the first non-empty chunk, once there is one."""
        return self._ttft_ms

    async def append(self, text: str) -> None:
        """Buffer a chunk; write now if `interval` has passed since the last write."""
        self._raise_failure()
        if not text:
            return
        now = time.monotonic()
        if self._ttft_ms is None:
            self._ttft_ms = (now - self._started) * 1000.0
        self._buffer.append(text)
        if now - self._last_write >= self.interval:
            await self.flush()
        elif self._timer is None:
            delay = self._last_write + self.interval - now
            self._timer = asyncio.get_running_loop().create_task(self._flush_later(delay))

    async def flush(self) -> None:
        """Write the buffered text now."""
        async with self._lock:
            if self._timer is not None and self._timer is not asyncio.current_task():
                self._timer.cancel()
            self._timer = None
            if not self._buffer:
                return
            text = "".join(self._buffer)
            self._buffer.clear()
            self._last_write = time.monotonic()
            ttft = None if self._ttft_written else self._ttft_ms
            try:
                await self.store.append_partial(self.task_id, text, ttft_ms=ttft)
            except BaseException:
                self._buffer.insert(0, text)
                raise
            self._ttft_written = True
            self.writes += 1

    async def aclose(self) -> None:
        """Write what is left and stop the timer."""
        await self.flush()
        self._raise_failure()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _flush_later(self, delay: float) -> None:
        await asyncio.sleep(max(delay, 0.0))
        try:
            await self.flush()
        except Exception as exc:
            # Kept for the caller's next append/aclose: a timer has no one to raise to.
            self._failure = exc

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
