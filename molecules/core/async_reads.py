"""Async reads: a derived atom whose read is `async def` has a future as its value.

This module only runs the coroutine: on which loop, as which task, settling which
future. What the run reads is tracked by the store (`internals.StoreCore._async_getter`),
which hands in the two callbacks that tie a run back to the graph.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from molecules.core.errors import AsyncReadError
from molecules.core.node import Extra, Node


def start_async(
    n: Node,
    coro: Any,
    run: int,
    abandoned: Callable[[Node], None],
    settled: Callable[[Node, Extra], None],
) -> asyncio.Future[Any]:
    """Run `coro` as run number `run` of `n`; the future its readers share settles with it.

    `abandoned(n)` is called when an awaiter cancels the shared future (the next read
    starts a new run); `settled(n, extra)` when this run, still the newest, finishes.
    """
    extra = n.more()
    try:
        loop = asyncio.get_running_loop()
        here = True
    except RuntimeError:
        # A write from another thread: the run goes to the loop of the earlier runs.
        loop = extra.loop  # type: ignore[assignment]
        here = False
        if loop is None or loop.is_closed() or not loop.is_running():
            coro.close()
            raise AsyncReadError(
                f"{n.atom!r} has an async read: read it from code running in an asyncio "
                "loop (or after a first read there)"
            ) from None
    extra.loop = loop
    extra.run = run
    future: asyncio.Future[Any] = n.value
    # A future nobody has seen settle yet is reused, so awaiting it yields the newest
    # value instead of a cancellation (the superseded run is cancelled instead).
    fresh_future = not isinstance(future, asyncio.Future) or future.done()
    if fresh_future:
        future = loop.create_future()

    def settle(t: asyncio.Task[Any]) -> None:
        if extra.run != run:
            return  # superseded: a newer run settles the future
        if not future.done():
            if t.cancelled():
                future.cancel()
            elif (exc := t.exception()) is not None:
                future.set_exception(exc)
            else:
                future.set_result(t.result())
        settled(n, extra)  # after the future: a failing cleanup must not hang it

    def cancelled(f: asyncio.Future[Any]) -> None:
        # An awaiter cancelled the shared future (a timeout, a closed request): stop
        # the run and let the next read start a new one instead of a dead future.
        task = extra.task
        if f.cancelled() and task is not None and not task.cancelled():
            task.cancel()
            abandoned(n)

    def begin() -> None:
        old_task = extra.task
        task = loop.create_task(coro)
        extra.task = task
        if old_task is not None and not old_task.done():
            old_task.cancel()
        if fresh_future:
            future.add_done_callback(cancelled)
        task.add_done_callback(settle)

    if here:
        begin()
    else:
        loop.call_soon_threadsafe(begin)
    return future
