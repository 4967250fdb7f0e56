"""Runs as the run store keeps them: a run's detail, and the events of a finished run.

A finished run that the hub no longer holds is replayed from its records: for each task
(a node or a turn) a `node` event `running`, its text as one `chunk`, a `node` event
with its final status; each row of a dataset as a `row` event; then `done`. The output
of a run is its one task's response, or the responses by node id when it has several.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bridge.server.json import to_json_data
from runnable.tracking import RunRecord, RunStore, TaskRecord

__all__ = ["replay_events", "run_detail", "run_output", "stored_error"]


def stored_error(text: str | None) -> Any:
    """A stored error as data: the JSON object it holds, else `{"message": text}`."""
    if text is None:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return {"message": text}
    return found if isinstance(found, dict) else {"message": text}


def run_output(tasks: Sequence[TaskRecord]) -> Any:
    """What a run produced: its one task's response, or each node's response by node id."""
    if not tasks:
        return None
    if len(tasks) == 1:
        return tasks[0].response
    return {(task.node_id or task.id): task.response for task in tasks}


async def run_detail(run_store: RunStore, record: RunRecord) -> dict[str, Any]:
    """The run record's fields, its `output`, `tasks` and, for a dataset, `children`."""
    tasks = await run_store.list_tasks(record.id)
    children = await run_store.list_runs(parent_run_id=record.id, limit=10_000)
    detail: dict[str, Any] = to_json_data(record)
    detail["error"] = stored_error(record.error)
    detail["output"] = to_json_data(run_output(tasks))
    detail["tasks"] = [{**to_json_data(task), "error": stored_error(task.error)} for task in tasks]
    if children:
        detail["children"] = [to_json_data(child) for child in reversed(children)]
    return detail


def _task_events(task: TaskRecord, extra: dict[str, Any]) -> list[tuple[str, Any]]:
    node_id = task.node_id or task.id
    events: list[tuple[str, Any]] = [("node", {"node_id": node_id, "status": "running", **extra})]
    text = task.response if isinstance(task.response, str) else task.partial_text
    if text:
        events.append(("chunk", {"text": text, "node_id": node_id, **extra}))
    final: dict[str, Any] = {"node_id": node_id, "status": task.status.value, **extra}
    if task.status.value == "success":
        final["output"] = to_json_data(task.response)
    elif task.error is not None:
        final["error"] = stored_error(task.error)
    events.append(("node", final))
    return events


async def replay_events(run_store: RunStore, record: RunRecord) -> list[tuple[str, Any]]:
    """The events of a finished run, rebuilt from its records (see the module docstring)."""
    events: list[tuple[str, Any]] = []
    tasks = await run_store.list_tasks(record.id)
    for task in tasks:
        events += _task_events(task, {})
    children = await run_store.list_runs(parent_run_id=record.id, limit=10_000)
    rows: list[Any] = []
    for index, child in enumerate(reversed(children)):
        child_tasks = await run_store.list_tasks(child.id)
        events.append(("row", {"row": index, "status": "running", "run_id": child.id}))
        for task in child_tasks:
            events += _task_events(task, {"row": index})
        error = stored_error(child.error)
        events.append(
            (
                "row",
                {"row": index, "status": child.status.value, "run_id": child.id, "error": error},
            )
        )
        rows.append({"status": child.status.value, "output": run_output(child_tasks)})
    output = {"rows": rows} if children else run_output(tasks)
    done = {
        "status": record.status.value,
        "output": to_json_data(output),
        "error": stored_error(record.error),
    }
    events.append(("done", done))
    return events
