"""The run hub: runs started by the server, their events kept as a log that clients follow.

A run started over HTTP belongs to the server, not to the request that started it: its
events are appended to a log in memory (`LiveRun.events`), and every client that
follows it reads that log from where it stands, so a client that reconnects with
`Last-Event-ID` continues without loss, a second client can join mid-run, and a client
that goes away stops nothing (`cancel` does). The log is never coalesced: each chunk
is a piece of text. The last event is `done`. Finished runs stay in memory
(`keep_finished` of them, most recent first); older ones are replayed from the run
store (`bridge.server.replay`).

Events (`name`, JSON data):
- `chunk` `{"text", "node_id"}` (and `row` in a dataset run);
- `node` `{"node_id", "status"}` (and `output`, `error`, `row` where they apply);
- `row` `{"row", "status", "run_id"}` (dataset runs: a row started or ended);
- `done` `{"status", "output", "error"}`, once, last.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import attrs

from bridge.server.feeds import encode_event
from bridge.server.json import error_text, json_text, to_json_data
from runnable.ids import new_id
from runnable.runner import DatasetRun, GraphRun, RayDatasetRun
from runnable.runner.events import (
    Chunk,
    Event,
    NodeCancelled,
    NodeCompleted,
    NodeFailed,
    NodeSkipped,
    NodeStarted,
    RunCompleted,
    RunStarted,
)

__all__ = ["LiveRun", "RunEvent", "RunHub", "RunKind"]

RunKind = Literal["runnable", "chain", "dataset"]


@attrs.frozen(slots=True)
class RunEvent:
    """One event of a run's log: its index (the SSE id), name and JSON text."""

    index: int
    name: str
    data: str
    raw: bytes  # the event as SSE bytes, encoded once for every follower

    @classmethod
    def of(cls, index: int, name: str, data: Any) -> RunEvent:
        """The event `index` named `name` with `data` (JSON data)."""
        text = json_text(data)
        return cls(index, name, text, encode_event(text, name, str(index)))


@attrs.define(eq=False)
class LiveRun:
    """A run the server started: its log, and how to stop it."""

    run_id: str
    kind: RunKind
    runnable_ref: str | None = None
    events: list[RunEvent] = attrs.field(factory=list)
    status: str = "running"
    output: Any = None
    error: Any = None
    handle: GraphRun | DatasetRun | RayDatasetRun | None = None
    task: asyncio.Task[None] | None = None
    rows: dict[str, int] = attrs.field(factory=dict)  # a dataset's row run ids -> row index
    _waiters: set[asyncio.Event] = attrs.field(factory=set)

    @property
    def done(self) -> bool:
        """True once the `done` event is in the log."""
        return bool(self.events) and self.events[-1].name == "done"

    def append(self, name: str, data: Any) -> None:
        """Add an event to the log and wake every follower."""
        self.events.append(RunEvent.of(len(self.events), name, data))
        for waiter in self._waiters:
            waiter.set()

    def cancel(self) -> bool:
        """Ask the run to stop; False when it has already ended."""
        if self.done or self.handle is None:
            return False
        self.handle.cancel()
        return True

    async def follow(self, after: int = -1) -> AsyncIterator[RunEvent]:
        """The events after index `after`, as they come, up to and including `done`."""
        wake = asyncio.Event()
        self._waiters.add(wake)
        cursor = after + 1
        try:
            while True:
                wake.clear()
                while cursor < len(self.events):
                    event = self.events[cursor]
                    cursor += 1
                    yield event
                    if event.name == "done":
                        return
                await wake.wait()
        finally:
            self._waiters.discard(wake)

    # -- from runner events ------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Fold one runner event into the log (the runner's `on_event` callback)."""
        row = self.rows.get(event.run_id)
        extra = {} if row is None else {"row": row}
        if isinstance(event, RunStarted):
            if event.row is not None and event.run_id != self.run_id:
                self.rows[event.run_id] = event.row
                self.append("row", {"row": event.row, "status": "running", "run_id": event.run_id})
        elif isinstance(event, Chunk):
            self.append("chunk", {"text": event.text, "node_id": event.node_id, **extra})
        elif isinstance(event, NodeStarted):
            self.append("node", {"node_id": event.node_id, "status": "running", **extra})
        elif isinstance(event, NodeCompleted):
            output = to_json_data(event.output)
            metrics = to_json_data(event.metrics)
            self.append(
                "node",
                {
                    "node_id": event.node_id,
                    "status": "success",
                    "output": output,
                    "metrics": metrics,
                    "latency_ms": event.latency_ms,
                    **extra,
                },
            )
        elif isinstance(event, NodeFailed):
            error = to_json_data(event.error)
            self.append(
                "node", {"node_id": event.node_id, "status": "error", "error": error, **extra}
            )
        elif isinstance(event, NodeSkipped | NodeCancelled):
            status = "skipped" if isinstance(event, NodeSkipped) else "cancelled"
            self.append("node", {"node_id": event.node_id, "status": status, **extra})
        elif isinstance(event, RunCompleted) and row is not None:
            error = to_json_data(event.error)
            self.append(
                "row",
                {"row": row, "status": event.status.value, "run_id": event.run_id, "error": error},
            )
        elif isinstance(event, RunCompleted) and event.run_id == self.run_id:
            self.status = event.status.value
            self.error = to_json_data(event.error)

    def finish(self, status: str, output: Any, error: Any) -> None:
        """End the log with `done` (once)."""
        if self.done:
            return
        self.status = status
        self.output = to_json_data(output)
        self.error = to_json_data(error)
        self.append("done", {"status": self.status, "output": self.output, "error": self.error})


class RunHub:
    """The runs of one server: live ones, and the last `keep_finished` finished ones."""

    def __init__(self, *, keep_finished: int = 200) -> None:
        self.keep_finished = keep_finished
        self._live: dict[str, LiveRun] = {}
        self._finished: OrderedDict[str, LiveRun] = OrderedDict()

    def __len__(self) -> int:
        return len(self._live) + len(self._finished)

    def runs(self) -> list[LiveRun]:
        """Every run in memory, oldest first (finished ones, then live ones)."""
        return [*self._finished.values(), *self._live.values()]

    def get(self, run_id: str) -> LiveRun | None:
        """The run, live or kept; None when it is not (or no longer) in memory."""
        return self._live.get(run_id) or self._finished.get(run_id)

    def new(self, kind: RunKind, runnable_ref: str | None = None) -> LiveRun:
        """A new run in the hub (not started)."""
        run = LiveRun(new_id(), kind, runnable_ref)
        self._live[run.run_id] = run
        return run

    def drop(self, run: LiveRun) -> None:
        """Forget a run that could not start."""
        self._live.pop(run.run_id, None)

    def start(
        self,
        run: LiveRun,
        handle: GraphRun | DatasetRun | RayDatasetRun,
        result: Callable[[], tuple[str, Any, Any]],
        *,
        before_done: Callable[[], Any] | None = None,
    ) -> None:
        """Run `handle` in the background; at its end, `done` carries `result()`.

        `result()` gives (status, output, error); `before_done` (maybe async) runs first,
        so that a client that sees `done` finds the run's records written.
        """
        run.handle = handle

        async def drive() -> None:
            failure: BaseException | None = None
            try:
                await handle.wait()
            except asyncio.CancelledError:
                handle.cancel()
                raise
            except Exception as exc:
                failure = exc
            try:
                if before_done is not None:
                    waited = before_done()
                    if asyncio.iscoroutine(waited):
                        await waited
            finally:
                if failure is not None:
                    error = {"message": error_text(failure), "type": type(failure).__name__}
                    run.finish("error", None, error)
                else:
                    run.finish(*result())
                self._retire(run)

        run.task = asyncio.get_running_loop().create_task(drive(), name=f"run-{run.run_id}")

    def _retire(self, run: LiveRun) -> None:
        self._live.pop(run.run_id, None)
        self._finished[run.run_id] = run
        while len(self._finished) > self.keep_finished:
            self._finished.popitem(last=False)

    async def aclose(self) -> None:
        """Cancel every live run and wait for it to end."""
        runs = list(self._live.values())
        for run in runs:
            run.cancel()
        tasks = [run.task for run in runs if run.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
