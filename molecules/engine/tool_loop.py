"""A turn's tool loop: model -> tool calls -> the functions (concurrently) -> model.

`turn_events` runs one turn's request through the engine's `ToolRegistry` and yields
the events to fold: each round's `TurnStarted` and `TurnDelta`s, then for a reply that
asks for tools `ToolCallsRequested` (the assistant's call message) and one
`ToolCallAnswered` per call (its `tool` message, as each finishes), and finally the
turn's one `TurnCompleted`, whose usage and cost add up every round. More than
`max_tool_rounds` rounds raise `ToolRoundsExceededError` (the turn fails). Under a
`json_schema` response format the final reply is parsed and validated as an execution's
is (`runnable.chat.structured.parse_structured`): its message carries the value as
`structured`, and a reply that breaks the schema fails the turn with the error.

A call to a tool that requires approval waits for `approve_tool_call(instance_id,
call_id, approved, result=None)`; meanwhile the instance is `awaiting_approval`. An
approved call runs the tool (or answers with `result` when given); a denied one answers
the model with a `tool` message saying it was not approved.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from molecules.core.atom import Getter, Setter
from molecules.engine.errors import ToolCallNotAwaitingError
from molecules.engine.events import (
    InstanceEvent,
    ToolCallAnswered,
    ToolCallDecided,
    ToolCallsRequested,
)
from molecules.engine.instances import Instances, TurnControl
from runnable.chat.completion import ToolCall
from runnable.chat.events import TurnCompleted, assistant_message
from runnable.chat.execution import ChatProviderLike, TurnRequest, stream_turn
from runnable.chat.structured import parse_structured, response_schema
from runnable.chat.tool_loop import ToolRoundsExceededError, added_up, with_tool_specs
from runnable.tools import Decision, ToolResult, run_tool_calls

__all__ = ["turn_events", "write_approve_tool_call"]


async def turn_events(
    instances: Instances, control: TurnControl, provider: ChatProviderLike, request: TurnRequest
) -> AsyncGenerator[InstanceEvent, None]:
    """The events of one turn with the engine's tools (see the module docstring)."""
    tools = instances.tools
    request = request.model_copy(update={"settings": with_tool_specs(request.settings, tools)})
    messages = list(request.messages)
    so_far = None
    rounds = 0

    async def approval(call: ToolCall) -> Decision:
        try:
            return await control.approvals[call.id]
        finally:
            control.approvals.pop(call.id, None)

    while True:
        completed: TurnCompleted | None = None
        current = request.model_copy(update={"messages": messages})
        async for event in stream_turn(provider, current, stream=instances.stream):
            if isinstance(event, TurnCompleted):
                completed = event
            else:
                yield event
        if completed is None:  # pragma: no cover - stream_turn raises before this
            raise RuntimeError("the turn's stream ended without completing")
        completion = added_up(so_far, completed.completion)
        calls = completion.tool_calls
        if not calls or tools is None:
            yield _structured(completed.model_copy(update={"completion": completion}), request)
            return
        if rounds >= instances.max_tool_rounds:
            raise ToolRoundsExceededError(rounds)
        rounds += 1
        so_far = completion
        asked = assistant_message(completion.text, calls)
        awaiting = tuple(call for call in calls if tools.requires_approval(call.name))
        loop = asyncio.get_running_loop()
        for call in awaiting:
            control.approvals[call.id] = loop.create_future()
        yield ToolCallsRequested(request.turn_id, asked, awaiting)
        answered: dict[str, ToolResult] = {}
        async for result in run_tool_calls(tools, calls, approval):
            answered[result.call_id] = result
            yield ToolCallAnswered(request.turn_id, result.message())
        # The model reads the answers in the order of its calls, however they finished.
        messages = [*messages, asked, *(answered[call.id].message() for call in calls)]


def _structured(completed: TurnCompleted, request: TurnRequest) -> TurnCompleted:
    """The final reply, its JSON parsed and validated under a `json_schema` response format.

    The execution path's validator: a reply that is not JSON or breaks the schema raises
    `StructuredOutputError` naming the failing path, and the turn fails with it.
    """
    if response_schema(request.settings) is None:
        return completed
    value = parse_structured(completed.completion.text, request.settings)
    message = completed.message.model_copy(update={"structured": value})
    return completed.model_copy(update={"message": message})


def write_approve_tool_call(
    instances: Instances,
    get: Getter,
    set: Setter,
    iid: str,
    call_id: str,
    approved: bool,
    result: Any = None,
) -> asyncio.Task[Any] | None:
    """Approve (or deny) a tool call awaiting approval; returns the turn's task.

    With `result`, an approved call answers the model with it instead of running the
    tool. `ToolCallNotAwaitingError` names a call that is not awaiting approval.
    """
    state = instances.require(get, iid)
    turn = state.turn
    control = get(instances.turn_control(iid))
    awaiting = turn.awaiting if turn is not None else ()
    pending = control.approvals.get(call_id) if control is not None else None
    if pending is None or pending.done() or all(call.id != call_id for call in awaiting):
        raise ToolCallNotAwaitingError(iid, call_id, [call.id for call in awaiting])
    assert turn is not None and control is not None
    instances.emit(get, set, iid, ToolCallDecided(turn.turn_id, call_id, bool(approved)))
    pending.set_result((bool(approved), result))
    return control.task
