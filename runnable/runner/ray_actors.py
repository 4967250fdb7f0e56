"""What runs inside Ray for `RayBackend`: the dataset actor and the shared rate limiter.

Kept apart from the driver (`runnable.runner.ray_backend`) so that a reader sees what
crosses the process boundary: a `DatasetJob` (pickled once per run), chunks of rows in,
batches of events and `RowResult`s out. Nothing here imports Ray; the driver wraps these
classes with `ray.remote`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import attrs

from runnable.chain import Chain, Node
from runnable.runner.context import NodeContext
from runnable.runner.dataset import run_dataset
from runnable.runner.events import Event
from runnable.runner.graph import Execute

__all__ = ["DatasetJob", "DatasetWorker", "SharedRateLimit"]


class SharedRateLimit:
    """A turnstile for `per_second` calls, shared by every actor (itself run as a Ray actor).

    `reserve()` books the next free slot and answers how long the caller must wait for
    it, so callers in any process are spaced `1 / per_second` apart.
    """

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next = 0.0

    def reserve(self) -> float:
        """Book the next slot; the seconds to wait before using it."""
        now = time.monotonic()
        at = max(now, self._next)
        self._next = at + self._interval
        return at - now


@attrs.frozen(slots=True)
class DatasetJob:
    """What an actor needs to run chunks of one dataset run (sent once per chunk)."""

    run_id: str
    chain: Chain
    execute: Execute
    options: Mapping[str, Any]
    events: bool
    limiter: Any = None


_END = object()


class _LimitedExecute:
    """`execute`, each call first waiting for its turn at the shared limiter."""

    def __init__(self, execute: Execute, limiter: Any) -> None:
        self._execute = execute
        self._limiter = limiter

    async def __call__(self, node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        wait: float = await self._limiter.reserve.remote()
        if wait > 0:
            await asyncio.sleep(wait)
        output = self._execute(node, inputs, ctx)
        if hasattr(output, "__await__"):
            output = await output
        return output  # a stream of chunks stays a stream


class DatasetWorker:
    """The actor: runs chunks of rows with the asyncio runner (see the module docstring)."""

    def ping(self) -> bool:
        """True once the actor is up."""
        return True

    async def run_chunk(
        self, job: DatasetJob, indices: Sequence[int], rows: Sequence[Mapping[str, Any]]
    ) -> AsyncIterator[list[Any]]:
        """Run `rows` (numbered `indices`); yield batches of events and RowResults."""
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def on_event(event: Event) -> None:
            if event.run_id != job.run_id:  # the dataset's own start and end: the driver's
                queue.put_nowait(event)

        execute = job.execute
        if job.limiter is not None:
            execute = _LimitedExecute(execute, job.limiter)
        run = run_dataset(
            job.chain,
            rows,
            execute,
            row_concurrency=len(rows),
            run_id=job.run_id,
            indices=indices,
            on_row=queue.put_nowait,
            on_event=on_event if job.events else None,
            **dict(job.options),
        )
        task = asyncio.ensure_future(run.wait())
        task.add_done_callback(lambda _: queue.put_nowait(_END))
        try:
            while True:
                batch = [await queue.get()]
                while not queue.empty():
                    batch.append(queue.get_nowait())
                done = batch[-1] is _END
                if done:
                    batch.pop()
                if batch:
                    yield batch
                if done:
                    break
            await task  # a failure of the runner itself surfaces at the driver
        finally:
            if not task.done():
                run.cancel()
