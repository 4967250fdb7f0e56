"""Async reads: a derived atom whose read is `async def` has a future as its value.
Mixed into `Store`."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from molecules.core.atom import Atom
from molecules.core.errors import AsyncReadError
from molecules.core.node import Aftermath, Extra, Node, raise_error


class AsyncReads:
    """Run async reads as tasks on their loop; track reads made after an `await`; cancel
    superseded runs; keep a run's edges until it settles."""

    _epoch: int
    _writes: int
    _lock: threading.RLock
    # Provided by Store and Mounting:
    _node: Callable[[Atom[Any]], Node]
    _ensure: Callable[[Node], None]
    _add_edge: Callable[[Node, Node], None]
    _rewire: Callable[[Node, list[Node], list[Node]], None]
    _finish: Callable[[], Aftermath | None]
    _after: Callable[[Aftermath], None]
    refresh: Callable[[Atom[Any]], None]

    def _async_getter(self, n: Node, deps: list[Any], run: int) -> Callable[[Atom[Any]], Any]:
        def get(a: Atom[Any]) -> Any:
            with self._lock:
                self._writes += 1  # edges made here may mount atoms: settle like a write
                try:
                    d = self._node(a)
                    if d.fresh < self._epoch:
                        self._ensure(d)  # outside any read here: no nesting to respect
                    if n.extra is not None and n.extra.run == run:
                        # A read after an `await` still counts as a dependency of this run.
                        deps.append(d)
                        deps.append(d.version)
                        if n.mounted and (d.dependents is None or n not in d.dependents):
                            self._add_edge(d, n)
                finally:
                    self._writes -= 1
                    after = self._finish() if self._writes == 0 else None
            if after is not None:
                self._after(after)
            if d.error is not None:
                raise_error(d)
            return d.value

        return get

    def _start_async(self, n: Node, coro: Any, run: int) -> asyncio.Future[Any]:
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
            self._settled(n, extra)  # after the future: a failing cleanup must not hang it

        def abandoned(f: asyncio.Future[Any]) -> None:
            # An awaiter cancelled the shared future (a timeout, a closed request): stop
            # the run and let the next read start a new one instead of a dead future.
            task = extra.task
            if f.cancelled() and task is not None and not task.cancelled():
                task.cancel()
                self.refresh(n.atom)

        def begin() -> None:
            old_task = extra.task
            task = loop.create_task(coro)
            extra.task = task
            if old_task is not None and not old_task.done():
                old_task.cancel()
            if fresh_future:
                future.add_done_callback(abandoned)
            task.add_done_callback(settle)

        if here:
            begin()
        else:
            loop.call_soon_threadsafe(begin)
        return future

    def _settled(self, n: Node, extra: Extra) -> None:
        """A run finished: drop the edges of the earlier run that this one did not read."""
        with self._lock:
            if not extra.kept:
                return
            self._writes += 1
            try:
                kept, extra.kept = extra.kept, []
                if n.mounted:
                    self._rewire(n, kept, n.deps[::2] if n.deps else [])
            finally:
                self._writes -= 1
                after = self._finish() if self._writes == 0 else None
        if after is not None:
            self._after(after)
