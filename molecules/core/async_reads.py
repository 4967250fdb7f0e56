"""Async reads: a derived atom whose read is `async def` has a future as its value.
Mixed into `Store`."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from molecules.core.atom import Atom
from molecules.core.errors import AsyncReadError
from molecules.core.node import Node


class AsyncReads:
    """Run async reads as tasks; track reads made after an `await`; cancel superseded runs."""

    __slots__ = ()
    _epoch: int
    _lock: threading.RLock
    # Provided by Store and Mounting:
    _node: Callable[[Atom[Any]], Node]
    _refresh_nested: Callable[[Node], None]
    _add_edge: Callable[[Node, Node], None]

    def _async_getter(self, n: Node, deps: list[Any], run: int) -> Callable[[Atom[Any]], Any]:
        def get(a: Atom[Any]) -> Any:
            with self._lock:
                d = self._node(a)
                if d.fresh < self._epoch:
                    self._refresh_nested(d)
                if n.extra is not None and n.extra.run == run:
                    # A read after an `await` still counts as a dependency of this run.
                    deps.append(d)
                    deps.append(d.version)
                    if n.mounted and (d.dependents is None or n not in d.dependents):
                        self._add_edge(d, n)
                if d.error is not None:
                    raise d.error
                return d.value

        return get

    def _start_async(self, n: Node, coro: Any) -> asyncio.Future[Any]:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            raise AsyncReadError(
                f"{n.atom!r} has an async read: read it from code running in an asyncio loop"
            ) from None
        extra = n.more()
        old_task = extra.task
        future = n.value
        # A future nobody has seen settle yet is reused, so awaiting it yields the newest
        # value instead of a cancellation (the superseded run is cancelled instead).
        if not isinstance(future, asyncio.Future) or future.done():
            future = loop.create_future()
        task = loop.create_task(coro)
        extra.task = task
        if old_task is not None and not old_task.done():
            old_task.cancel()

        def settle(t: asyncio.Task[Any]) -> None:
            if extra.task is not t or future.done():
                return
            if t.cancelled():
                future.cancel()
            elif (exc := t.exception()) is not None:
                future.set_exception(exc)
            else:
                future.set_result(t.result())

        task.add_done_callback(settle)
        return future
