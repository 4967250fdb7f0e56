"""Driving an instance by hand, as the Redux engine's reducers are driven: `create_instance`,
`set_instance_status`, `start_execution`, `start_streaming` (and `complete_execution`,
in `turns.py`).

An application that streams a turn elsewhere starts it here (`start_execution` queues
the turn and renders its request in a worker thread as `execute_message` would, without
calling a provider; await its task for the turn id), folds its text in
(`apply_event(iid, TurnDelta(...))`), and ends it with `complete_execution`. The end is
recorded in the run store like a turn the engine ran (`outside.py`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from typing import Any, get_args

from molecules.core.atom import Getter, Setter
from molecules.engine import expiry, outside
from molecules.engine.errors import InstanceBusyError, InstanceExistsError, InstanceNotReadyError
from molecules.engine.events import StatusSet, TaskLinked, TurnQueued
from molecules.engine.instances import Instances
from molecules.engine.queued_turn import QueuedTurn, queue_turn
from molecules.engine.state import (
    ExecutionConfig,
    InstanceState,
    InstanceStatus,
    VariableLayers,
)
from runnable.chat.execution import PromptSpec, TurnStarted, turn_failed
from runnable.messages import ChatMessage
from runnable.types import ErrorInfo

__all__ = [
    "instance_state",
    "write_create_instance",
    "write_set_instance_status",
    "write_start_execution",
    "write_start_streaming",
]

_STATUSES: frozenset[str] = frozenset(get_args(InstanceStatus))


def instance_state(value: InstanceState | Mapping[str, Any]) -> InstanceState:
    """An `InstanceState` from itself or from a mapping of its fields.

    In a mapping, `prompt` may be a prompt's dict, `config` a dict, `messages` dicts,
    and `variables` the user's values (a plain dict); `id` defaults to a new one and
    `status` to "ready" with a prompt, else "idle".
    """
    if isinstance(value, InstanceState):
        return value
    fields = dict(value)
    fields.setdefault("id", uuid.uuid4().hex)
    if fields.get("prompt") is not None:
        fields["prompt"] = PromptSpec.of(fields["prompt"])
        fields.setdefault("status", "ready")
    if isinstance(fields.get("config"), Mapping):
        fields["config"] = ExecutionConfig.model_validate(fields["config"])
    if isinstance(fields.get("variables"), Mapping):
        fields["variables"] = VariableLayers(user=dict(fields["variables"]))
    if "messages" in fields:
        fields["messages"] = tuple(
            m if isinstance(m, ChatMessage) else ChatMessage.model_validate(m)
            for m in fields["messages"]
        )
    _check_status(fields.get("status", "idle"))
    try:
        return InstanceState(**fields)
    except TypeError as exc:
        raise ValueError(f"not an instance state: {exc}") from None


def _check_status(status: object) -> None:
    if status not in _STATUSES:
        raise ValueError(
            f"unknown instance status {status!r}; one of: {', '.join(sorted(_STATUSES))}"
        )


def write_create_instance(
    instances: Instances, get: Getter, set: Setter, state: InstanceState | Mapping[str, Any]
) -> str:
    """Add an instance with this state as it is (nothing is loaded); returns its id."""
    made = instance_state(state)
    if made.id in instances.state and get(instances.state(made.id)) is not None:
        raise InstanceExistsError(f"a prompt instance with id {made.id!r} already exists")
    instances.register(get, set, made)
    expiry.watch(instances, get, set)
    return made.id


def write_set_instance_status(
    instances: Instances,
    get: Getter,
    set: Setter,
    iid: str,
    status: InstanceStatus,
    error: ErrorInfo | Mapping[str, Any] | str | None = None,
) -> None:
    """Set the status (and error) by hand; the turn in flight, if any, is left as it is."""
    _check_status(status)
    instances.require(get, iid)
    if isinstance(error, str):
        error = ErrorInfo(message=error)
    elif isinstance(error, Mapping):
        error = ErrorInfo.model_validate(error)
    instances.emit(get, set, iid, StatusSet(status, error))


def write_start_execution(
    instances: Instances, get: Getter, set: Setter, iid: str, task_id: str | None = None
) -> asyncio.Task[str]:
    """Start a turn with the current input that the caller runs; returns a Task of its
    turn id, done once the request is rendered.

    The turn is checked and queued here as `execute_message` queues one (the same
    refusals, raised at once: busy, not loaded, missing variables, nothing to send) and
    the input box is emptied; the request is rendered in the task, in a worker thread
    (a heavy template never holds the event loop). A render that fails or hits a limit
    ends the turn with status `error` (recorded) and the task raises its `TemplateError`.
    No provider is called. `task_id` names the turn's task (in the run store too).
    """
    state = instances.require(get, iid)
    if state.is_busy:
        raise InstanceBusyError(iid, state.status)
    if state.prompt is None:
        # No prompt to render: the question alone is the turn.
        turn_id = uuid.uuid4().hex
        queued = TurnQueued(turn_id, state.current_input or None, state.resources, {})
        task = instances.spawn(_turn_id(turn_id), name=iid)
    else:
        turn = queue_turn(instances, state, state.current_input)
        turn_id = turn.turn_id
        queued = TurnQueued(turn_id, turn.user_input, state.resources, turn.computed())
        task = instances.spawn(_started(instances, get, set, iid, turn), name=iid)
    # Queued once its task exists (no loop, no task: nothing was changed); the task
    # runs after this write, so it finds the turn queued.
    instances.emit(get, set, iid, queued)
    if task_id is not None:
        instances.emit(get, set, iid, TaskLinked(turn_id, task_id))
    return task


async def _turn_id(turn_id: str) -> str:
    return turn_id


async def _started(
    instances: Instances, get: Getter, set: Setter, iid: str, turn: QueuedTurn
) -> str:
    """Render the queued turn's request off the loop, then mark the turn started."""
    began = time.perf_counter()
    try:
        request = await turn.arender()
    except Exception as exc:
        failed = turn_failed(turn.turn_id, exc, (time.perf_counter() - began) * 1000.0)
        if _in_flight(instances, get, iid, turn.turn_id):
            outside.fold(instances, get, set, iid, failed)
        raise
    if not _in_flight(instances, get, iid, turn.turn_id):
        # Ended (cancelled, completed, removed) while it rendered: nothing to start.
        raise InstanceNotReadyError(iid, f"turn {turn.turn_id} ended before it started")
    started = TurnStarted(
        turn_id=turn.turn_id,
        messages=request.messages,
        user_input=request.user_input,
        model=request.model,
    )
    instances.emitter_for(set, iid)(started)
    return turn.turn_id


def _in_flight(instances: Instances, get: Getter, iid: str, turn_id: str) -> bool:
    state = get(instances.state(iid)) if iid in instances.state else None
    return state is not None and state.turn is not None and state.turn.turn_id == turn_id


def write_start_streaming(instances: Instances, get: Getter, set: Setter, iid: str) -> None:
    """Mark the turn in flight as streaming (its first text is coming)."""
    state = instances.require(get, iid)
    if state.turn is None:
        raise InstanceNotReadyError(iid, "no turn is in flight: call start_execution first")
    instances.emit(get, set, iid, StatusSet("streaming"))
