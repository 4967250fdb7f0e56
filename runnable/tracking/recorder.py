"""RunRecorder: the runner's events written to a RunStore, in order, as runs and tasks.

Every way of running goes through the runner, so this is the one recorder: a single
execution is a one-node run, a chain a run with a task per node, a dataset a parent run
with one child run per row (its stats sum the rows and average each evaluator's score).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from runnable.runner.events import (
    Event,
    NodeCancelled,
    NodeCompleted,
    NodeFailed,
    NodeSkipped,
    NodeStarted,
    RunCompleted,
    RunStarted,
)
from runnable.tracking.models import RunStatus
from runnable.tracking.store import RunStore
from runnable.tracking.totals import DatasetTotals, RunTotals, score_of

logger = logging.getLogger("runnable.tracking")

_STATUS = {
    "success": RunStatus.SUCCESS,
    "error": RunStatus.ERROR,
    "cancelled": RunStatus.CANCELLED,
    "skipped": RunStatus.SKIPPED,
}


_UNSEEN: Any = object()  # an event class `on_event` has not looked up yet
WRITE_AHEAD = 256
"""A dataset's row runs written ahead of the rows that start, at most."""
_ROW_KIND = "chain"  # a dataset row runs as a chain (the kind of its `RunStarted`)


@attrs.define
class _RowRuns:
    """A dataset's row runs, named before the rows start and written ahead of them."""

    planned: Sequence[tuple[int, str]]  # (row number, run id), in the order rows start
    place: dict[str, int]  # run id -> its place in `planned`, until the row starts
    written: int = 0  # `planned[:written]` are queued as pending runs


def task_id_for(run_id: str, node_id: str) -> str:
    """The id a recorder gives the task of `node_id` in `run_id` (stable, so it can be found)."""
    return f"{run_id}:{node_id}"


class RunRecorder:
    """Write a run's events to `store`: one `ai_runs` row per run, one `ai_tasks` row per node.

    `on_event` is the runner's synchronous callback: it queues each event's writes on the
    store at once, in event order, without waiting, as write-behind writes (the store
    commits them in batches, at most its `linger` later).
    `await recorder.started(run_id)` returns once the run's row is committed (callers
    wait for it before the first model call; a row still queued is committed at once)
    and there is room in the store's queue (the
    backpressure: at most the store's `max_pending` writes wait before a new call starts);
    `await recorder.drain()` once every event so far is written. A write that fails is
    logged and never stops the run.
    """

    def __init__(self, store: RunStore, *, name: str | None = None) -> None:
        self._store = store
        self._name = name
        # Each run's row write, by run id: `started` waits for it (done: written or failed).
        self._started: dict[str, asyncio.Future[bool]] = {}
        # What to record as a run's inputs: by run id, or by dataset run id and row index.
        self.inputs: dict[str, Mapping[str, Any]] = {}
        self.rows: dict[str, Sequence[Mapping[str, Any]]] = {}
        self.refs: dict[str, str] = {}
        # The runnable each node runs, by run id (dataset rows look up their parent's).
        self.node_refs: dict[str, Mapping[str, str]] = {}
        self.errors: list[BaseException] = []
        self._parents: dict[str, str] = {}  # a dataset row's run id -> the dataset run id
        self._totals: dict[str, DatasetTotals] = {}
        self._single: set[str] = set()
        self._names: dict[str, str] = {}  # one-node runs: their node's request is the run's
        # The node ids whose tasks are written, by run id: a node may fail before it starts.
        self._tasks: dict[str, set[str]] = {}
        # What each run's tasks add up to, for its stats; not for a reopened run (its
        # tasks from before are in the store, not here: the store counts them).
        self._run_totals: dict[str, RunTotals] = {}
        # Runs that will run again in place (their rows exist), counted until their
        # RunStarted is written: an earlier run of the same id may still be finishing.
        self._reopen: dict[str, int] = {}
        self._reopened: set[str] = set()
        # Datasets whose rows' run ids are known up front: by dataset run id.
        self._row_runs: dict[str, _RowRuns] = {}
        # How each class of event is written (None: not at all), found on first sight.
        self._writers: dict[type[Event], Callable[[Any], None] | None] = {}
        # What logs a failed write, by event type (made once: a write keeps it until done).
        self._on_failure: dict[str, Callable[[BaseException], None]] = {}

    def on_event(self, event: Event) -> None:
        """Queue the writes of `event` (the runner calls this for every event)."""
        write = self._writers.get(type(event), _UNSEEN)
        if write is _UNSEEN:
            write = self._writer_for(type(event))
        if write is None:  # chunks and the like: nothing to record
            return
        # The log names the event's type, not the event: holding the event until its
        # writes commit would keep its inputs and outputs alive through collections.
        on_failure = self._on_failure.get(event.type)
        if on_failure is None:
            on_failure = self._on_failure[event.type] = functools.partial(self._failed, event.type)
        try:
            with self._store.write_behind(on_failure):
                write(event)
        except Exception as exc:
            on_failure(exc)
            if isinstance(event, RunStarted):  # its row will not come: nobody waits for it
                self._started.pop(event.run_id, None)

    def expect(
        self,
        run_id: str,
        *,
        ref: object = None,
        inputs: Mapping[str, Any] | None = None,
        rows: Sequence[Mapping[str, Any]] | None = None,
        node_refs: Mapping[str, object] | None = None,
        name: str | None = None,
        reopen: bool = False,
        row_runs: Sequence[tuple[int, str]] | None = None,
    ) -> None:
        """Say what run `run_id` runs before it starts: its runnable, inputs, rows, name.

        `reopen`: the run was recorded before and runs part of itself again in place
        (a flow's step or action re-run): its row and its nodes' tasks are reopened.
        `row_runs`: a dataset's (row number, run id) in the order its rows start
        (`DatasetRun.row_run_ids`). The rows' runs are then written ahead as `pending`,
        up to `WRITE_AHEAD` at a time, in the dataset's batches, so a row's first call
        finds its run already committed instead of waiting for a transaction of its
        own; a row that never starts (the dataset cancelled) ends `cancelled`.
        """
        if row_runs is not None:
            self._row_runs[run_id] = _RowRuns(
                row_runs, {rid: i for i, (_, rid) in enumerate(row_runs)}
            )
        if name is not None:
            self._names[run_id] = name
        if reopen:
            self._reopen[run_id] = self._reopen.get(run_id, 0) + 1
        if ref is not None:
            self.refs[run_id] = str(ref)
        if inputs is not None:
            self.inputs[run_id] = inputs
        if rows is not None:
            self.rows[run_id] = rows
        if node_refs:
            self.node_refs[run_id] = {k: str(v) for k, v in node_refs.items() if v is not None}

    async def started(self, run_id: str) -> None:
        """Return once the run row of `run_id` is written (or its write failed).

        A run this recorder never heard of (not routed to `on_event`) does not wait for
        its row; every caller waits while the store's write queue is full.
        """
        written = self._started.get(run_id)
        if written is not None and not written.done():
            self._store.hurry()  # its row is a write-behind write: commit it now
            await asyncio.wait((written,))  # never cancels the write
        await self._store.room()

    async def drain(self) -> None:
        """Return once every event queued so far is written."""
        await self._store.flush()

    async def aclose(self) -> None:
        """Write what is queued."""
        await self.drain()

    def _failed(self, event_type: str, exc: BaseException) -> None:
        self.errors.append(exc)
        logger.error("could not record a %s event: %s", event_type, exc)

    def _forget(self, run_id: str) -> None:
        # A long-lived recorder must not grow with every run it has seen.
        self._started.pop(run_id, None)
        self.rows.pop(run_id, None)
        self.refs.pop(run_id, None)
        self.node_refs.pop(run_id, None)
        self._parents.pop(run_id, None)
        self._single.discard(run_id)
        self._names.pop(run_id, None)
        self._reopened.discard(run_id)
        self._run_totals.pop(run_id, None)
        self._tasks.pop(run_id, None)

    def _node_ref(self, run_id: str, node_id: str) -> str | None:
        refs = self.node_refs.get(run_id) or self.node_refs.get(self._parents.get(run_id, ""))
        return refs.get(node_id) if refs else None

    def _add_task(self, run_id: str, node_id: str, inputs: Mapping[str, Any] | None = None) -> str:
        task_id = task_id_for(run_id, node_id)
        written = self._tasks.get(run_id)
        if written is None:
            written = self._tasks[run_id] = set()
        if node_id not in written:
            written.add(node_id)
            counted = self._run_totals.get(run_id)
            if counted is not None:
                counted.tasks += 1
            fields = {
                "node_id": node_id,
                "name": node_id,
                "runnable_ref": self._node_ref(run_id, node_id),
                "inputs": inputs,
            }
            if run_id in self._reopened:  # the task may exist from the earlier run
                self._store.queue_reopen_task(
                    task_id, inputs=inputs, or_add={"run_id": run_id, **fields}
                )
            else:
                self._store.queue_task(run_id, id=task_id, **fields)
        return task_id

    def _sent(self, run_id: str, request: Mapping[str, Any] | None) -> None:
        # A one-node run (an execute or stream) is the request it sent: settings on the run.
        if request is None or run_id not in self._single:
            return
        settings = dict(request.get("settings") or {})
        if request.get("model") is not None:
            settings.setdefault("model", request["model"])
        messages = request.get("messages")
        fields = {
            "settings": settings or None,
            "messages": messages if isinstance(messages, list) else None,
        }
        self._store.queue_run_update(run_id, **fields)

    def _count(self, run_id: str, metrics: Any, output: Any, node_id: str) -> None:
        counted = self._run_totals.get(run_id)
        if counted is not None and metrics is not None:
            counted.tokens_in += metrics.tokens_in or 0
            counted.tokens_out += metrics.tokens_out or 0
            counted.cost += metrics.cost or 0.0
        totals = self._totals.get(self._parents.get(run_id, ""))
        if totals is None:
            return
        if metrics is not None:
            totals.tokens_in += metrics.tokens_in or 0
            totals.tokens_out += metrics.tokens_out or 0
            totals.cost += metrics.cost or 0.0
        score = score_of(output)
        if score is not None:
            totals.scores.setdefault(node_id, []).append(score)

    def _writer_for(self, event_type: type[Event]) -> Callable[[Any], None] | None:
        """How events of `event_type` are written, found once (by class, then its bases)."""
        by_class: dict[type[Event], Callable[[Any], None]] = {
            RunStarted: self._run_started,
            NodeStarted: self._node_started,
            NodeCompleted: self._node_ended,
            NodeFailed: self._node_ended,
            NodeCancelled: self._node_cancelled,
            NodeSkipped: self._node_skipped,
            RunCompleted: self._run_completed,
        }
        found = next((by_class[c] for c in event_type.__mro__ if c in by_class), None)
        self._writers[event_type] = found
        return found

    def _node_started(self, event: NodeStarted) -> None:
        self._add_task(event.run_id, event.node_id, event.inputs)

    def _node_cancelled(self, event: NodeCancelled) -> None:
        if event.started:
            task_id = task_id_for(event.run_id, event.node_id)
            self._store.queue_finish_task(task_id, RunStatus.CANCELLED)

    def _node_skipped(self, event: NodeSkipped) -> None:
        task_id = self._add_task(event.run_id, event.node_id)
        self._store.queue_finish_task(task_id, RunStatus.SKIPPED, error=event.reason or None)

    def _node_ended(self, event: NodeCompleted | NodeFailed) -> None:
        if isinstance(event, NodeCompleted) and event.cached:
            return
        failed = isinstance(event, NodeFailed)
        if failed:
            self._add_task(event.run_id, event.node_id)
        metrics = event.metrics
        output = event.output
        self._count(event.run_id, metrics, None if failed else output, event.node_id)
        self._store.queue_finish_task(
            task_id_for(event.run_id, event.node_id),
            RunStatus.ERROR if failed else RunStatus.SUCCESS,
            response=output,
            error=event.error if failed else None,  # type: ignore[union-attr]
            tokens_in=metrics.tokens_in if metrics else None,
            tokens_out=metrics.tokens_out if metrics else None,
            cost=metrics.cost if metrics else None,
            ttft_ms=None if failed or not metrics else metrics.ttft_ms,
            latency_ms=event.latency_ms,
            request=event.request,
        )
        self._sent(event.run_id, event.request)

    def _run_started(self, event: RunStarted) -> None:
        if event.kind == "dataset":
            self._totals[event.run_id] = DatasetTotals()
        elif len(event.node_ids) == 1:
            self._single.add(event.run_id)
        if event.parent_run_id is not None and event.parent_run_id in self._totals:
            self._parents[event.run_id] = event.parent_run_id
        ahead = self._row_runs.get(event.parent_run_id or "")
        place = None if ahead is None else ahead.place.pop(event.run_id, None)
        if ahead is not None and place is not None:
            self._run_totals[event.run_id] = RunTotals()
            self._write_ahead(event.parent_run_id or "", ahead, place)
            self._store.queue_start_run(event.run_id)
            return
        if self._reopen.get(event.run_id):
            self._reopen[event.run_id] -= 1
            if not self._reopen[event.run_id]:
                del self._reopen[event.run_id]
            self._reopened.add(event.run_id)
            self._started[event.run_id] = self._store.queue_reopen_run(event.run_id)
            return
        self._run_totals[event.run_id] = RunTotals()
        inputs = self.inputs.pop(event.run_id, None)
        if inputs is None and event.row is not None:
            inputs = self._row_inputs(event.parent_run_id, event.row)
        self._started[event.run_id] = self._store.queue_run(
            id=event.run_id,
            name=self._run_name(event.run_id, event.kind, event.row, event.parent_run_id),
            runnable_ref=self.refs.get(event.run_id) or self.refs.get(event.parent_run_id or ""),
            inputs=inputs,
            parent_run_id=event.parent_run_id,
        )
        ahead = self._row_runs.get(event.run_id)
        if ahead is not None:
            self._write_ahead(event.run_id, ahead, 0)

    def _run_name(
        self, run_id: str, kind: str, row: int | None, parent_id: str | None = None
    ) -> str:
        name = self._names.pop(run_id, None) or self._name
        if name is None:
            # Unnamed: after what it runs, so a list of runs reads as what ran.
            ref = self.refs.get(run_id)
            nodes = self.node_refs.get(run_id) or self.node_refs.get(parent_id or "") or {}
            first = next(iter(nodes.values()), None)
            name = ref or (kind if first is None else f"{kind} of {first}")
        return name if row is None else f"{name} row {row}"

    def _row_inputs(self, dataset_id: str | None, row: int) -> Mapping[str, Any] | None:
        rows = self.rows.get(dataset_id or "")
        return rows[row] if rows is not None and row < len(rows) else None

    def _write_ahead(self, dataset_id: str, ahead: _RowRuns, place: int) -> None:
        """The row at `place` starts: once fewer than half of `WRITE_AHEAD` rows after it
        are written, queue the pending runs of the next ones (in chunks, not one by one)."""
        if ahead.written - place > WRITE_AHEAD // 2:
            return
        upto = place + WRITE_AHEAD
        ref = self.refs.get(dataset_id)
        for row, run_id in ahead.planned[ahead.written : upto]:
            self._started[run_id] = self._store.queue_run(
                id=run_id,
                name=self._run_name(run_id, _ROW_KIND, row, dataset_id),
                runnable_ref=ref,
                inputs=self._row_inputs(dataset_id, row),
                parent_run_id=dataset_id,
                status=RunStatus.PENDING,
            )
        ahead.written = max(ahead.written, min(upto, len(ahead.planned)))

    def _run_completed(self, event: RunCompleted) -> None:
        parent = self._totals.get(self._parents.get(event.run_id, ""))
        if parent is not None:
            parent.rows += 1
            if event.status == "success":
                parent.succeeded += 1
            else:
                parent.failed += 1
        # The store adds up a run's tasks itself unless the stats already say what it would.
        counted = self._run_totals.get(event.run_id)
        stats = None if counted is None else counted.stats()
        totals = self._totals.pop(event.run_id, None)
        if totals is not None:
            stats = {**(stats or {}), **totals.stats()}
        self._forget(event.run_id)
        ahead = self._row_runs.pop(event.run_id, None)
        if ahead is not None:  # rows written ahead that never started: the dataset ended
            for _, run_id in ahead.planned[: ahead.written]:
                if run_id in ahead.place:
                    self._forget(run_id)
                    self._store.queue_finish_run(
                        run_id, RunStatus.CANCELLED, stats=RunTotals().stats()
                    )
        self._store.queue_finish_run(
            event.run_id,
            _STATUS.get(event.status, RunStatus.ERROR),  # StrEnum: looked up as its text
            error=event.error,
            stats=stats,
        )
