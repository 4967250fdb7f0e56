"""Deadlines: a bound on a whole call, where a timeout only bounds each wait.

A provider that keeps sending keep-alive comments but never data never trips a read
timeout; a deadline ends it. Past its deadline a call is cancelled and raises
`DeadlineExceededError`, which is final (never retried).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TypeVar

from runnable.errors import DeadlineExceededError

__all__ = ["await_within", "within_deadline"]

T = TypeVar("T")


async def await_within(awaitable: Awaitable[T], seconds: float | None, what: str) -> T:
    """Await `awaitable`, cancelling it after `seconds` (None: no bound)."""
    if seconds is None:
        return await awaitable
    try:
        async with asyncio.timeout(seconds) as scope:
            return await awaitable
    except TimeoutError:
        if scope.expired():
            raise DeadlineExceededError(what, seconds) from None
        raise


async def within_deadline(
    items: AsyncIterator[T],
    seconds: float | None,
    what: str,
    *,
    final: Callable[[T], bool] | None = None,
) -> AsyncGenerator[T, None]:
    """Yield from `items` until it ends or `seconds` have passed since the first read.

    The bound is checked around each read (not across a yield), so the consumer's own
    time between items counts too but is never interrupted. Once an item for which
    `final(item)` is true is out, the call has its result: what `items` does after it
    (closing up) is no longer bounded, so it cannot turn that result into a failure.
    """
    if seconds is None:
        async for item in items:
            yield item
        return
    deadline = asyncio.get_running_loop().time() + seconds
    try:
        while True:
            try:
                async with asyncio.timeout_at(deadline) as scope:
                    item = await anext(items)
            except StopAsyncIteration:
                return
            except TimeoutError:
                if scope.expired():
                    raise DeadlineExceededError(what, seconds) from None
                raise
            yield item
            if final is not None and final(item):
                async for item in items:
                    yield item
                return
    finally:
        close = getattr(items, "aclose", None)
        if close is not None:
            await close()
