"""`reduce_instance(state, event) -> state`: the one place an instance changes.

Pure: the same state and event always give the same new state, and the old state is
untouched (the streamed text shares its pieces with older views but never changes what
they show). Events of a turn that is not the one in flight (a late chunk after a cancel)
change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from molecules.engine.events import (
    ConfigChanged,
    ConversationCleared,
    InputSet,
    InstanceCreated,
    InstanceEvent,
    InstanceFailed,
    InstanceLoaded,
    MessageAdded,
    ResourcesChanged,
    RunEnded,
    RunLinked,
    ScopedVariablesLoaded,
    SettingsChanged,
    ShowVariablesSet,
    StatusSet,
    TaskLinked,
    ToolCallAnswered,
    ToolCallDecided,
    ToolCallsRequested,
    TurnQueued,
    VariableExpanded,
    VariablesChanged,
)
from molecules.engine.state import (
    ActiveTurn,
    InstanceState,
    Totals,
    TurnStats,
)
from molecules.stream_text import StreamText
from runnable.chat.execution import (
    TurnCancelled,
    TurnCompleted,
    TurnDelta,
    TurnFailed,
    TurnStarted,
)
from runnable.messages import ChatMessage, Content

evolve = attrs.evolve


def _merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _input_text(user_input: Content | None) -> str:
    return user_input if isinstance(user_input, str) else ""


def _user_message(turn: ActiveTurn) -> ChatMessage | None:
    if not turn.user_input and not turn.resources:
        return None
    content = turn.user_input if turn.user_input is not None else ""
    return ChatMessage(role="user", content=content, resources=list(turn.resources))


def sent_messages(state: InstanceState, turn: ActiveTurn) -> tuple[ChatMessage, ...]:
    """The conversation with this turn's question, as the provider saw it."""
    if turn.messages is not None:
        return turn.messages
    asked = _user_message(turn)
    return (*state.messages, asked) if asked is not None else state.messages


def _restore_input(state: InstanceState, turn: ActiveTurn) -> dict[str, Any]:
    """Give an unanswered question back to the input box (unless something new is there)."""
    restored: dict[str, Any] = {}
    if not state.current_input:
        restored["current_input"] = _input_text(turn.user_input)
    if not state.resources and turn.resources:
        restored["resources"] = turn.resources
    return restored


def _reduce_turn(state: InstanceState, event: Any) -> InstanceState:
    turn = state.turn
    if isinstance(event, TurnStarted):
        if turn is None:
            if state.is_busy:
                return state
            turn = ActiveTurn(turn_id=event.turn_id, user_input=event.user_input)
            state = evolve(state, turns_started=state.turns_started + 1)
        elif turn.turn_id != event.turn_id:
            return state
        started = evolve(turn, messages=tuple(event.messages), model=event.model)
        return evolve(state, status="executing", turn=started, error=None)
    if turn is None or turn.turn_id != event.turn_id:
        return state
    if isinstance(event, TurnDelta):
        ttft = turn.ttft_ms if turn.ttft_ms is not None else event.elapsed_ms
        grown = evolve(
            turn, text=turn.text.append(event.text), ttft_ms=ttft, elapsed_ms=event.elapsed_ms
        )
        return evolve(state, status="streaming", turn=grown)
    totals = state.totals
    if isinstance(event, TurnCompleted):
        completion = event.completion
        stats = TurnStats(
            turn_id=turn.turn_id,
            outcome="success",
            model=completion.model or turn.model,
            finish_reason=completion.finish_reason,
            ttft_ms=completion.ttft_ms if completion.ttft_ms is not None else turn.ttft_ms,
            latency_ms=completion.latency_ms,
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
            cost=completion.cost,
        )
        totals = evolve(
            totals,
            turns=totals.turns + 1,
            tokens_in=totals.tokens_in + (completion.tokens_in or 0),
            tokens_out=totals.tokens_out + (completion.tokens_out or 0),
            cost=totals.cost + (completion.cost or 0.0),
            total_ms=totals.total_ms + (completion.latency_ms or 0.0),
        )
        return evolve(
            state,
            status="completed",
            error=None,
            messages=(*sent_messages(state, turn), event.message),
            turn=None,
            last_turn=stats,
            totals=totals,
        )
    elapsed = event.elapsed_ms if event.elapsed_ms is not None else turn.elapsed_ms
    if isinstance(event, TurnFailed):
        stats = TurnStats(turn.turn_id, "error", turn.model, None, turn.ttft_ms, elapsed)
        return evolve(
            state,
            status="error",
            error=event.error,
            turn=None,
            last_turn=stats,
            totals=evolve(
                totals, failed=totals.failed + 1, total_ms=totals.total_ms + (elapsed or 0)
            ),
            **_restore_input(state, turn),
        )
    if isinstance(event, TurnCancelled):
        stats = TurnStats(turn.turn_id, "cancelled", turn.model, None, turn.ttft_ms, elapsed)
        changes: dict[str, Any] = {}
        if turn.text:
            # What was streamed stays: the user saw it, and may continue from it.
            reply = ChatMessage(role="assistant", content=turn.text.text)
            changes["messages"] = (*sent_messages(state, turn), reply)
        else:
            changes.update(_restore_input(state, turn))
        return evolve(
            state,
            status="ready",
            turn=None,
            last_turn=stats,
            totals=evolve(
                totals, cancelled=totals.cancelled + 1, total_ms=totals.total_ms + (elapsed or 0)
            ),
            **changes,
        )
    return state


def _reduce_tools(
    state: InstanceState, event: ToolCallsRequested | ToolCallDecided | ToolCallAnswered
) -> InstanceState:
    turn = state.turn
    if turn is None or turn.turn_id != event.turn_id:
        return state
    if isinstance(event, ToolCallsRequested):
        # The round's text now lives in the call message; the next round streams afresh.
        asked = evolve(
            turn,
            messages=(*sent_messages(state, turn), event.message),
            text=StreamText(),
            awaiting=event.awaiting,
        )
        status = "awaiting_approval" if event.awaiting else "executing"
        return evolve(state, status=status, turn=asked)
    if isinstance(event, ToolCallDecided):
        awaiting = tuple(call for call in turn.awaiting if call.id != event.call_id)
        if len(awaiting) == len(turn.awaiting):
            return state
        status = "awaiting_approval" if awaiting else "executing"
        return evolve(state, status=status, turn=evolve(turn, awaiting=awaiting))
    return evolve(state, turn=evolve(turn, messages=(*sent_messages(state, turn), event.message)))


def reduce_instance(state: InstanceState, event: InstanceEvent) -> InstanceState:
    """The state after `event` (see the module docstring)."""
    match event:
        case TurnStarted() | TurnDelta() | TurnCompleted() | TurnFailed() | TurnCancelled():
            return _reduce_turn(state, event)
        case ToolCallsRequested() | ToolCallDecided() | ToolCallAnswered():
            return _reduce_tools(state, event)
        case TurnQueued():
            if state.is_busy:
                return state
            turn = ActiveTurn(event.turn_id, event.user_input, event.resources)
            variables = evolve(state.variables, computed=event.computed)
            return evolve(
                state,
                status="executing",
                error=None,
                turn=turn,
                turns_started=state.turns_started + 1,
                current_input="" if event.from_input_box else state.current_input,
                resources=(),
                variables=variables,
            )
        case TaskLinked(turn_id=turn_id, task_id=task_id):
            if state.turn is None or state.turn.turn_id != turn_id:
                return state
            return evolve(state, turn=evolve(state.turn, task_id=task_id))
        case InstanceCreated():
            return evolve(
                state,
                status="initializing",
                prompt_ref=event.prompt_ref,
                config=event.config,
                context=event.context,
                show_variables=event.config.show_variables,
            )
        case InstanceLoaded():
            return evolve(
                state,
                status="ready",
                error=None,
                prompt=event.prompt,
                prompt_ref=event.prompt_ref,
                settings=dict(event.settings),
                variables=event.variables,
                current_input=event.current_input,
                resources=event.resources,
                messages=event.messages,
                totals=event.totals,
                turns_started=event.turns_started,
                run_id=event.run_id,
                run_name=event.run_name,
                run_ended=event.run_ended,
            )
        case InstanceFailed(error=error):
            return evolve(state, status="error", error=error)
        case StatusSet(status=status, error=error):
            return evolve(state, status=status, error=error)
        case VariablesChanged(values=values):
            variables = evolve(state.variables, user=_merged(state.variables.user, values))
            return evolve(state, variables=variables)
        case ScopedVariablesLoaded(scoped=scoped):
            return evolve(state, variables=evolve(state.variables, scoped=dict(scoped)))
        case SettingsChanged(changes=changes):
            return evolve(state, settings=_merged(state.settings, changes))
        case ConfigChanged(config=config):
            return evolve(state, config=config)
        case InputSet(text=text):
            return evolve(state, current_input=text)
        case MessageAdded(message=message):
            return evolve(state, messages=(*state.messages, message))
        case ConversationCleared():
            if state.is_busy:
                return state
            ready = "ready" if state.prompt is not None else state.status
            return evolve(
                state,
                status=ready,
                error=None,
                messages=(),
                last_turn=None,
                totals=Totals(),
                turns_started=0,
                run_id=None,
                run_name=None,
                run_ended=False,
                parent_run_id=None,
            )
        case ResourcesChanged(resources=resources):
            return evolve(state, resources=resources)
        case RunLinked():
            return evolve(
                state,
                run_id=event.run_id,
                run_name=event.run_name,
                run_ended=event.ended,
                parent_run_id=event.parent_run_id,
            )
        case RunEnded(run_id=run_id):
            return evolve(state, run_ended=True) if run_id == state.run_id else state
        case VariableExpanded(name=name):
            return evolve(state, expanded_variable=name)
        case ShowVariablesSet(show=show):
            return evolve(state, show_variables=show)
    raise TypeError(f"not an instance event: {event!r}")


def replay(state: InstanceState, events: Iterable[InstanceEvent]) -> InstanceState:
    """Fold `events` into `state`, in order."""
    for event in events:
        state = reduce_instance(state, event)
    return state
