"""A run's tasks written to the run store: added, streamed into, updated, ended, reopened."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError

from runnable.tracking.errors import TrackingBackendError
from runnable.tracking.models import RunStatus, TaskRecord
from runnable.tracking.partial_text import PartialFlusher
from runnable.tracking.payloads import column_values, parsed_row, terminal_status, usage_values
from runnable.tracking.record_writes import RecordWrites
from runnable.tracking.tables import ai_runs, ai_tasks


class TaskWrites(RecordWrites):
    """The task half of `RunStore`: each task is a turn or a node of a run."""

    async def add_task(
        self,
        run_id: str,
        *,
        node_id: str | None = None,
        name: str | None = None,
        runnable_ref: object = None,
        inputs: Mapping[str, Any] | None = None,
        variables: object = None,
        request: Any = None,
        status: RunStatus | str = RunStatus.RUNNING,
        id: str | None = None,
    ) -> TaskRecord:
        """Add a task (a turn or a node) to a run; earlier tasks are never rewritten."""
        await self._writes.room()
        fields = {
            "id": id,
            "run_id": run_id,
            "node_id": node_id,
            "name": name,
            "runnable_ref": runnable_ref,
            "status": status,
            "inputs": inputs,
            "variables": variables,
            "request": request,
        }
        row = self._new(ai_tasks, fields)
        try:
            await self._writes.submit("insert", ai_tasks, row["id"], row)
        except TrackingBackendError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            await self._require(ai_runs, run_id)
            raise TrackingBackendError(
                self.url, row["id"], "a task with this id already exists"
            ) from None
        return TaskRecord.model_validate(parsed_row(row))

    def queue_task(self, run_id: str, **fields: Any) -> asyncio.Future[bool]:
        """Queue a new task (the arguments of `add_task`) without waiting for it."""
        fields["run_id"] = run_id  # `fields` is this call's own dict
        row = self._new(ai_tasks, fields)
        return self._writes.submit("insert", ai_tasks, row["id"], row)

    async def append_partial(
        self, task_id: str, text: str, *, ttft_ms: float | None = None
    ) -> bool:
        """Append streamed text to a running task (and set its ttft once); False if ended."""
        await self._writes.room()
        return await self.queue_append(task_id, text, ttft_ms=ttft_ms)

    def queue_append(
        self, task_id: str, text: str, *, ttft_ms: float | None = None
    ) -> asyncio.Future[bool]:
        """Queue `append_partial` without waiting for it."""
        values = {"text": text, "ttft": ttft_ms, "now": self._now()}
        return self._writes.submit("append", ai_tasks, task_id, values)

    def partial_flusher(self, task_id: str, *, interval: float = 0.5) -> PartialFlusher:
        """Return a buffer that appends a task's streamed text at least every `interval` s."""
        return PartialFlusher(self, task_id, interval=interval)

    async def update_task(
        self,
        task_id: str,
        *,
        status: RunStatus | str | None = None,
        node_id: str | None = None,
        request: Any = None,
        response: Any = None,
        partial_text: str | None = None,
        ttft_ms: float | None = None,
    ) -> bool:
        """Change the given fields of a task that has not ended; False if it has ended."""
        await self._writes.room()
        fields = {
            "status": status,
            "node_id": node_id,
            "request": request,
            "response": response,
            "partial_text": partial_text,
            "ttft_ms": ttft_ms,
        }
        return await self._queue_update(ai_tasks, task_id, fields)

    async def finish_task(
        self,
        task_id: str,
        status: RunStatus | str,
        response: Any = None,
        usage: object = None,
        *,
        error: object = None,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
        cost: float | None = None,
        ttft_ms: float | None = None,
        latency_ms: float | None = None,
        request: Any = None,
    ) -> bool:
        """End a task with its response, error, usage and timings; False if already ended.

        `request` (what was sent, when only known at the end) is stored if given.

        `usage` may be an OpenAI-style usage dict or an object with tokens_in/tokens_out/
        cost/ttft_ms/latency_ms; explicit arguments win. Without a latency, a task added by
        this store is timed from `add_task`.
        """
        await self._writes.room()
        return await self.queue_finish_task(
            task_id,
            status,
            response,
            usage,
            error=error,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost=cost,
            ttft_ms=ttft_ms,
            latency_ms=latency_ms,
            request=request,
        )

    def queue_finish_task(
        self,
        task_id: str,
        status: RunStatus | str,
        response: Any = None,
        usage: object = None,
        **given: Any,
    ) -> asyncio.Future[bool]:
        """Queue the end of a task (the arguments of `finish_task`) without waiting for it."""
        error, request = given.pop("error", None), given.pop("request", None)
        fields = usage_values(usage, given)  # the explicit values win
        started = self._started.pop(task_id, None)
        if "latency_ms" not in fields and started is not None:
            fields["latency_ms"] = (time.monotonic() - started) * 1000.0
        fields.update(status=terminal_status(status), response=response, error=error)
        if request is not None:
            fields["request"] = request
        return self._queue_update(ai_tasks, task_id, fields)

    async def reopen_task(self, task_id: str, *, inputs: Mapping[str, Any] | None = None) -> None:
        """Make a task `running` again with these inputs, its outcome cleared (response,
        error, usage, timings, streamed text); see `reopen_run`. `TaskNotFoundError` if absent."""
        await self._writes.room()
        await self.queue_reopen_task(task_id, inputs=inputs)

    def queue_reopen_task(
        self,
        task_id: str,
        *,
        inputs: Mapping[str, Any] | None = None,
        or_add: Mapping[str, Any] | None = None,
    ) -> asyncio.Future[bool]:
        """Queue `reopen_task`; with `or_add` (the arguments of `add_task`, run_id
        included), a task that does not exist is added instead."""
        values: dict[str, Any] = {
            "status": RunStatus.RUNNING.value,
            "finished_at": None,
            "request": None,
            "response": None,
            "error": None,
            "partial_text": "",
            **{name: None for name in ("ttft_ms", "latency_ms", "tokens_in", "tokens_out")},
            "cost": None,
            **column_values({"inputs": inputs}),
            "updated_at": self._now(),
        }
        row = None if or_add is None else self._new(ai_tasks, {**or_add, "id": task_id})
        self._started[task_id] = time.monotonic()
        return self._writes.submit("reopen", ai_tasks, task_id, values, row=row)
