"""Turn events: what running one prompt turn says, in order, for whoever folds it into state.

A turn yields `TurnStarted`, then `TurnDelta`s, then exactly one of `TurnCompleted`,
`TurnFailed` or `TurnCancelled`. Events are pydantic models with a `type` discriminator
(`TurnEvent`), so they cross process and network boundaries as JSON unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from runnable.chat.completion import ChatCompletion, ToolCall
from runnable.messages import ChatMessage, Content
from runnable.types import ErrorInfo, error_info

__all__ = [
    "TurnCancelled",
    "TurnCompleted",
    "TurnDelta",
    "TurnEvent",
    "TurnFailed",
    "TurnStarted",
    "assistant_message",
    "error_info",
    "turn_cancelled",
    "turn_failed",
]


class TurnStarted(BaseModel):
    """A turn was sent: the messages of the conversation so far, and what was asked."""

    type: Literal["turn_started"] = "turn_started"
    turn_id: str
    messages: list[ChatMessage]
    user_input: Content | None = None
    model: str | None = None
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class TurnDelta(BaseModel):
    """A piece of the reply, in order; `elapsed_ms` since the turn started."""

    type: Literal["turn_delta"] = "turn_delta"
    turn_id: str
    text: str
    elapsed_ms: float | None = None


class TurnCompleted(BaseModel):
    """The turn ended with a reply: the assistant message and the whole completion."""

    type: Literal["turn_completed"] = "turn_completed"
    turn_id: str
    message: ChatMessage
    completion: ChatCompletion


class TurnFailed(BaseModel):
    """The turn ended with an error (its message never carries an API key)."""

    type: Literal["turn_failed"] = "turn_failed"
    turn_id: str
    error: ErrorInfo
    elapsed_ms: float | None = None


class TurnCancelled(BaseModel):
    """The turn was stopped before its reply was complete."""

    type: Literal["turn_cancelled"] = "turn_cancelled"
    turn_id: str
    elapsed_ms: float | None = None


TurnEvent = Annotated[
    TurnStarted | TurnDelta | TurnCompleted | TurnFailed | TurnCancelled,
    Field(discriminator="type"),
]


def turn_failed(turn_id: str, exc: BaseException, elapsed_ms: float | None = None) -> TurnFailed:
    """The event that ends a turn that raised `exc`."""
    return TurnFailed(turn_id=turn_id, error=error_info(exc), elapsed_ms=elapsed_ms)


def turn_cancelled(turn_id: str, elapsed_ms: float | None = None) -> TurnCancelled:
    """The event that ends a turn that was cancelled."""
    return TurnCancelled(turn_id=turn_id, elapsed_ms=elapsed_ms)


def assistant_message(text: str, tool_calls: Sequence[ToolCall] = ()) -> ChatMessage:
    """The assistant message of a reply (with the tool calls it asks for, if any)."""
    if not tool_calls:
        return ChatMessage(role="assistant", content=text)
    return ChatMessage.model_validate(
        {
            "role": "assistant",
            "content": text or None,
            "tool_calls": [call.to_openai() for call in tool_calls],
        }
    )
