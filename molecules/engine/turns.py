"""Turns: `execute_message`, `cancel` and `complete_execution`, and the task that runs a turn.

`execute_message` checks and queues the turn synchronously (the instance is `executing`
before the call returns, so a second call is refused), then runs it in a task: the
prompt's templates rendered (in a worker thread: a render never holds the event loop),
the run record (when tracked), then the provider stream, each event folded into the
instance as it arrives and the reply flushed to the run store as it streams. The task
returns an `ExecutionResult`; render, provider and tracking failures end the turn with
status `error` rather than raising (the instance takes the next message as usual).
`cancel` stops the turn and keeps what was streamed; `complete_execution` stops it and
keeps what was streamed as the complete reply.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from molecules.core.atom import Getter, Setter
from molecules.engine import outside
from molecules.engine.events import InstanceEvent, TurnQueued
from molecules.engine.instances import Instances, TurnControl
from molecules.engine.outside import completion_by_hand
from molecules.engine.queued_turn import QueuedTurn, queue_turn
from molecules.engine.run_recorder import TurnRecorder
from molecules.engine.state import InstanceState
from molecules.engine.tool_loop import turn_events
from runnable.chat.execution import (
    ChatProviderLike,
    TurnCompleted,
    TurnDelta,
    TurnRequest,
    turn_cancelled,
    turn_failed,
    turn_result,
)
from runnable.messages import ChatMessage
from runnable.types import ExecutionResult, ExecutionStatus


def appended_input(current: str, text: str | None) -> str:
    """What a message sends: the current input, then `text` after a blank line."""
    if not text:
        return current
    return f"{current}\n\n{text}" if current else text


def write_execute_message(
    instances: Instances, get: Getter, set: Setter, iid: str, text: str | None = None
) -> asyncio.Task[ExecutionResult]:
    """Queue a turn with the current input, `text` appended to it, and start it."""
    state = instances.require(get, iid)
    turn = queue_turn(instances, state, appended_input(state.current_input, text))
    provider = instances.provider_for_settings(state.settings)
    control = TurnControl(turn.turn_id)
    control.task = instances.spawn(
        run_turn(instances, get, set, iid, control, turn, provider), name=iid
    )
    control.task.add_done_callback(
        lambda task: _cancelled_before_start(instances, set, iid, control, task)
    )
    set(instances.turn_control(iid), control)
    queued = TurnQueued(turn.turn_id, turn.user_input, state.resources, turn.computed())
    instances.emit(get, set, iid, queued)
    return control.task


def _cancelled_before_start(
    instances: Instances, set: Setter, iid: str, control: TurnControl, task: asyncio.Task[Any]
) -> None:
    # A turn cancelled in the same tick as it was queued never ran: end it here, or the
    # instance would stay `executing` for good.
    if control.started or not task.cancelled():
        return
    instances.emitter_for(set, iid)(turn_cancelled(control.turn_id, 0.0))


def write_cancel(
    instances: Instances, get: Getter, set: Setter, iid: str
) -> asyncio.Task[Any] | None:
    """Stop the turn in flight; returns its task (await it for the records), or None."""
    return _stop(instances, get, set, iid, complete=False)


def write_complete_execution(
    instances: Instances,
    get: Getter,
    set: Setter,
    iid: str,
    response_text: str | None = None,
    stats: Mapping[str, Any] | None = None,
) -> asyncio.Task[Any] | None:
    """End the turn in flight now: its reply is `response_text`, else what was streamed;
    `stats` (tokens_in, tokens_out, cost, latency_ms, ttft_ms, model, finish_reason)
    say what the reply cost."""
    outside.check_stats(stats)
    return _stop(instances, get, set, iid, complete=True, text=response_text, stats=stats)


def _stop(
    instances: Instances,
    get: Getter,
    set: Setter,
    iid: str,
    *,
    complete: bool,
    text: str | None = None,
    stats: Mapping[str, Any] | None = None,
) -> asyncio.Task[Any] | None:
    state = instances.require(get, iid)
    control = get(instances.turn_control(iid))
    if control is not None and control.task is not None and not control.task.done():
        control.complete_requested = complete
        control.cancel_requested = not complete
        control.response_text, control.stats = text, stats
        control.task.cancel()
        return control.task
    turn = state.turn
    if turn is not None:  # a turn driven from outside: end it here (and record it)
        if complete:
            completion = completion_by_hand(
                turn.text.text,
                model=turn.model,
                ttft_ms=turn.ttft_ms,
                latency_ms=turn.elapsed_ms,
                response_text=text,
                stats=stats,
            )
            message = ChatMessage(role="assistant", content=completion.text)
            ended: InstanceEvent = TurnCompleted(
                turn_id=turn.turn_id, message=message, completion=completion
            )
        else:
            ended = turn_cancelled(turn.turn_id, turn.elapsed_ms)
        outside.fold(instances, get, set, iid, ended)
    return None


def _conversation(
    instances: Instances, get: Getter, iid: str, fallback: TurnRequest
) -> tuple[ChatMessage, ...]:
    state = get(instances.state(iid)) if iid in instances.state else None
    return tuple(fallback.messages) if state is None else state.messages


async def run_turn(
    instances: Instances,
    get: Getter,
    set: Setter,
    iid: str,
    control: TurnControl,
    turn: QueuedTurn,
    provider: ChatProviderLike,
) -> ExecutionResult:
    """Run one queued turn to its end (see the module docstring)."""
    emit = instances.emitter_for(set, iid)
    request = turn.unrendered().sent_to(provider)
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    control.started = True
    state = instances.require(get, iid)
    recorder = instances.recorder(state, emit)
    records = _Records(instances, recorder)
    parts: list[str] = []
    ttft_ms: float | None = None
    try:
        try:
            request = (await turn.arender()).sent_to(provider)
        finally:
            # The run exists before the model is called (a turn whose render failed is
            # recorded with what it asked); a cancel meanwhile lets it finish.
            control.request = request
            await records.begin(state, request)
        async for event in turn_events(instances, control, provider, request):
            emit(event)
            if isinstance(event, TurnDelta):
                parts.append(event.text)
                ttft_ms = event.elapsed_ms if ttft_ms is None else ttft_ms
                if recorder is not None:
                    recorder.delta(event.text, event.elapsed_ms)
            elif isinstance(event, TurnCompleted):
                if recorder is not None:
                    await recorder.completed(event, _conversation(instances, get, iid, request))
                return turn_result(
                    request,
                    ExecutionStatus.SUCCESS,
                    started_at,
                    event.completion.text,
                    metrics=event.completion.metrics(),
                    structured_output=event.message.structured,
                )
        raise RuntimeError("the turn's stream ended without completing")  # pragma: no cover
    except asyncio.CancelledError:
        elapsed = (time.perf_counter() - started) * 1000.0
        text = "".join(parts)
        if control.complete_requested:
            completion = completion_by_hand(
                text,
                model=request.model,
                ttft_ms=ttft_ms,
                latency_ms=elapsed,
                response_text=control.response_text,
                stats=control.stats,
            )
            text = completion.text
            message = ChatMessage(role="assistant", content=text)
            completed = TurnCompleted(
                turn_id=request.turn_id, message=message, completion=completion
            )
            emit(completed)
            await records.end("completed", completed, _conversation(instances, get, iid, request))
            _uncancel()
            return turn_result(
                request, ExecutionStatus.SUCCESS, started_at, text, metrics=completion.metrics()
            )
        emit(turn_cancelled(request.turn_id, elapsed))
        await records.end("cancelled", text, _conversation(instances, get, iid, request))
        if not control.cancel_requested:
            raise
        _uncancel()
        return turn_result(request, ExecutionStatus.CANCELLED, started_at, text)
    except Exception as exc:
        failed = turn_failed(request.turn_id, exc, (time.perf_counter() - started) * 1000.0)
        emit(failed)
        await records.end("failed", failed.error, _conversation(instances, get, iid, request))
        return turn_result(
            request, ExecutionStatus.ERROR, started_at, "".join(parts), error=failed.error
        )
    finally:
        if iid in instances.turn_control and get(instances.turn_control(iid)) is control:
            set(instances.turn_control(iid), None)


class _Records:
    """A turn's writes to the run store, each finished even if the turn is cancelled.

    Each write runs as an engine task (so `drain` waits for it) and the turn awaits it
    shielded: a cancel while a row is written never leaves the row half-done, and the
    turn's end is written only once its beginning has been.
    """

    def __init__(self, instances: Instances, recorder: TurnRecorder | None) -> None:
        self._instances = instances
        self._recorder = recorder
        self._begun: asyncio.Task[None] | None = None

    async def begin(self, state: InstanceState, request: TurnRequest) -> None:
        if self._recorder is not None:
            self._begun = self._instances.spawn(self._recorder.begin(state, request))
            await asyncio.shield(self._begun)

    async def end(self, method: str, *args: Any) -> None:
        if self._recorder is not None:
            await asyncio.shield(self._instances.spawn(self._end(method, *args)))

    async def _end(self, method: str, *args: Any) -> None:
        if self._begun is not None:
            try:
                await self._begun
            except Exception:
                return  # nothing was begun that could be ended (the failure was logged)
        await getattr(self._recorder, method)(*args)


def _uncancel() -> None:
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()
