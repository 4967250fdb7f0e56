"""Turns driven from outside the engine: folding their events, and recording their end.

A turn need not run on the engine's provider: an application may stream it elsewhere
and fold its events in (`apply_event`, `start_execution`, `complete_execution`). Such a
turn has no task of the engine, so nothing would write it to the run store; `fold` does:
when an event ends a turn that no engine task is running (completed, failed or
cancelled), the turn is recorded as any other (the run is made or continued, one task
with the question, the reply, usage and timings). Recordings of one instance are
written in order, one after the other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import attrs

from molecules.core.atom import Getter, Setter
from molecules.engine.events import InstanceEvent
from molecules.engine.instances import Instances
from molecules.engine.reducers import sent_messages
from molecules.engine.state import ActiveTurn, InstanceState
from runnable.chat.completion import ChatCompletion, TokenUsage
from runnable.chat.execution import TurnCancelled, TurnCompleted, TurnFailed, TurnRequest

__all__ = ["STATS_FIELDS", "check_stats", "completion_by_hand", "fold"]

logger = logging.getLogger(__name__)

STATS_FIELDS = frozenset(
    {"tokens_in", "tokens_out", "cost", "latency_ms", "ttft_ms", "model", "finish_reason"}
)
"""What `complete_execution(..., stats=...)` may say about a reply."""

_ENDS = (TurnCompleted, TurnFailed, TurnCancelled)


def check_stats(stats: Mapping[str, Any] | None) -> None:
    """Refuse stats that name anything but `STATS_FIELDS` (a `ValueError` naming them)."""
    unknown = sorted(set(stats or {}) - STATS_FIELDS)
    if unknown:
        raise ValueError(
            f"unknown stats: {', '.join(unknown)}; known: {', '.join(sorted(STATS_FIELDS))}"
        )


def completion_by_hand(
    text: str,
    *,
    model: str | None,
    ttft_ms: float | None,
    latency_ms: float | None,
    response_text: str | None = None,
    stats: Mapping[str, Any] | None = None,
) -> ChatCompletion:
    """The completion of a turn ended by hand: `response_text` (else what was streamed),
    and the timings measured unless `stats` gives them."""
    check_stats(stats)
    given = dict(stats or {})
    tokens_in, tokens_out = given.get("tokens_in"), given.get("tokens_out")
    usage = None
    if tokens_in is not None or tokens_out is not None:
        usage = TokenUsage(tokens_in=tokens_in or 0, tokens_out=tokens_out or 0)
    return ChatCompletion(
        text=text if response_text is None else response_text,
        model=given.get("model", model),
        finish_reason=given.get("finish_reason"),
        usage=usage,
        cost=given.get("cost"),
        ttft_ms=given.get("ttft_ms", ttft_ms),
        latency_ms=given.get("latency_ms", latency_ms),
    )


def _engine_runs(instances: Instances, get: Getter, iid: str, turn: ActiveTurn) -> bool:
    control = get(instances.turn_control(iid))
    return (
        control is not None
        and control.turn_id == turn.turn_id
        and control.task is not None
        and not control.task.done()
    )


def fold(
    instances: Instances, get: Getter, set: Setter, iid: str, event: InstanceEvent
) -> InstanceState:
    """Fold `event` into `iid`; a turn it ends that the engine was not running is recorded."""
    before = instances.require(get, iid)
    after = instances.emit(get, set, iid, event)
    assert after is not None
    turn = before.turn
    if (
        isinstance(event, _ENDS)
        and turn is not None
        and event.turn_id == turn.turn_id
        and after.turn is None
        and not _engine_runs(instances, get, iid, turn)
    ):
        _record(instances, get, set, before, after, turn, event)
    return after


def _record(
    instances: Instances,
    get: Getter,
    set: Setter,
    before: InstanceState,
    after: InstanceState,
    turn: ActiveTurn,
    event: TurnCompleted | TurnFailed | TurnCancelled,
) -> None:
    if instances.run_store is None or not before.config.track_in_runs:
        return
    iid = before.id
    sent = sent_messages(before, turn)
    request = TurnRequest(
        turn_id=turn.turn_id,
        messages=list(sent),
        user_input=turn.user_input,
        model=turn.model,
        settings=dict(before.settings),
    )
    conversation = after.messages
    recordings = instances.recordings
    previous = recordings.get(iid)

    async def record() -> None:
        if previous is not None:
            await asyncio.wait([previous])
        # The run as it stands now: an earlier recording may have just linked it.
        current = get(instances.state(iid)) if iid in instances.state else None
        state = (
            before if current is None else attrs.evolve(current, turns_started=before.turns_started)
        )
        recorder = instances.recorder(state, instances.emitter_for(set, iid))
        if recorder is None:
            return
        try:
            await recorder.begin(state, request, task_id=turn.task_id)
            if isinstance(event, TurnCompleted):
                await recorder.completed(event, conversation)
            elif isinstance(event, TurnFailed):
                await recorder.failed(event.error, conversation)
            else:
                await recorder.cancelled(turn.text.text, conversation)
        except Exception as exc:
            logger.warning("could not record the turn %s of %s: %s", turn.turn_id, iid, exc)

    task = instances.spawn(record(), name=f"record turn {turn.turn_id}")
    recordings[iid] = task

    def forget(done: asyncio.Task[Any]) -> None:
        if recordings.get(iid) is done:
            del recordings[iid]

    task.add_done_callback(forget)
