"""What a chat provider returns: a completion with usage and cost, or a stream of events."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from runnable.types import ExecutionMetrics

__all__ = [
    "ChatCompletion",
    "ChatDelta",
    "ChatDone",
    "ChatStreamEvent",
    "TokenUsage",
    "ToolCall",
]


class TokenUsage(BaseModel):
    """Tokens the provider counted for one call."""

    tokens_in: int = 0
    tokens_out: int = 0

    @property
    def total(self) -> int:
        """Tokens in plus tokens out."""
        return self.tokens_in + self.tokens_out


class ToolCall(BaseModel):
    """A function the model asked to call; `arguments` is the JSON text as the model sent it."""

    id: str
    name: str
    arguments: str = ""

    def to_openai(self) -> dict[str, Any]:
        """The call as an assistant message's `tool_calls` item."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }

    @classmethod
    def from_openai(cls, item: Any) -> ToolCall:
        """A call from an assistant message's `tool_calls` item."""
        function = item.get("function") or {}
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            # Some compatible servers send the arguments as an object, not as JSON text.
            arguments = json.dumps(arguments) if arguments is not None else ""
        return cls(
            id=str(item.get("id") or ""), name=str(function.get("name") or ""), arguments=arguments
        )


class ChatCompletion(BaseModel):
    """One finished chat completion.

    `usage` and `cost` are None when the provider reported no usage or the model has no
    price; `ttft_ms` is the time to the first text (for a plain call, to the whole answer).
    `tool_calls` are the functions the model asked to call, in order (empty when none).
    """

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    model: str | None = None
    finish_reason: str | None = None
    usage: TokenUsage | None = None
    cost: float | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None

    @property
    def tokens_in(self) -> int | None:
        """Prompt tokens, when reported."""
        return self.usage.tokens_in if self.usage is not None else None

    @property
    def tokens_out(self) -> int | None:
        """Completion tokens, when reported."""
        return self.usage.tokens_out if self.usage is not None else None

    def metrics(self) -> ExecutionMetrics:
        """This completion's timings, tokens and cost as execution metrics."""
        return ExecutionMetrics(
            latency_ms=self.latency_ms,
            ttft_ms=self.ttft_ms,
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            cost=self.cost,
        )


class ChatDelta(BaseModel):
    """A piece of streamed text, in order."""

    type: Literal["delta"] = "delta"
    text: str


class ChatDone(BaseModel):
    """The last event of a stream: the whole completion with usage and finish reason."""

    type: Literal["done"] = "done"
    completion: ChatCompletion


ChatStreamEvent = Annotated[ChatDelta | ChatDone, Field(discriminator="type")]
