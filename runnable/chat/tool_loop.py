"""The tool loop of one execution: model -> tool calls -> tools -> model, to a final reply.

`stream_with_tools(send, request, tools)` sends `request` with the registry's tool
specs (unless the prompt's settings name their own `tools`), runs the functions a reply
asks for concurrently (`runnable.tools.run_tool_calls`), appends the assistant's call
message and one `tool` message per call, and asks again, until a reply without tool
calls. More than `max_tool_rounds` rounds of calls raise `ToolRoundsExceededError`. The
caller sees the text of every round as `ChatDelta`s and one final `ChatDone` whose usage
and cost add up all rounds. Nobody can approve a call here: a tool that requires
approval is answered with an error the model reads (conversations can pause for it).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any

from runnable.chat.completion import ChatCompletion, ChatDone, ChatStreamEvent, TokenUsage
from runnable.chat.events import assistant_message
from runnable.chat.request import TurnRequest
from runnable.errors import RunnableError
from runnable.messages import ChatMessage
from runnable.tools import ToolRegistry, run_tool_calls

__all__ = ["ToolRoundsExceededError", "added_up", "stream_with_tools", "with_tool_specs"]

DEFAULT_MAX_TOOL_ROUNDS = 8


class ToolRoundsExceededError(RunnableError):
    """The model still asked for tools after `max_tool_rounds` rounds of calls."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        super().__init__(
            f"the model still asked for tools after {rounds} rounds of tool calls "
            "(raise max_tool_rounds if it needs more)"
        )


def with_tool_specs(settings: Mapping[str, Any], tools: ToolRegistry | None) -> dict[str, Any]:
    """`settings` offering the registry's tools, unless they name `tools` of their own."""
    chosen = dict(settings)
    if tools is not None and len(tools) and not chosen.get("tools"):
        chosen["tools"] = tools.specs()
    if not chosen.get("tools"):
        # An empty list is refused by the API; a tool_choice without tools too.
        chosen.pop("tools", None)
        chosen.pop("tool_choice", None)
    return chosen


def added_up(first: ChatCompletion | None, then: ChatCompletion) -> ChatCompletion:
    """`then` with the usage, cost and latency of an earlier round added in."""
    if first is None:
        return then
    usage = then.usage
    if first.usage is not None or usage is not None:
        a = first.usage or TokenUsage()
        b = usage or TokenUsage()
        usage = TokenUsage(
            tokens_in=a.tokens_in + b.tokens_in, tokens_out=a.tokens_out + b.tokens_out
        )
    cost = then.cost
    if first.cost is not None or cost is not None:
        cost = (first.cost or 0.0) + (cost or 0.0)
    latency = then.latency_ms
    if first.latency_ms is not None and latency is not None:
        latency = first.latency_ms + latency
    ttft = first.ttft_ms if first.ttft_ms is not None else then.ttft_ms
    return then.model_copy(
        update={"usage": usage, "cost": cost, "latency_ms": latency, "ttft_ms": ttft}
    )


async def stream_with_tools(
    send: Callable[[TurnRequest], AsyncIterator[ChatStreamEvent]],
    request: TurnRequest,
    tools: ToolRegistry | None,
    *,
    max_tool_rounds: int = DEFAULT_MAX_TOOL_ROUNDS,
) -> AsyncGenerator[ChatStreamEvent, None]:
    """Run `request` through the tool loop; `send(request)` streams one model call."""
    request = request.model_copy(update={"settings": with_tool_specs(request.settings, tools)})
    messages: list[ChatMessage] = list(request.messages)
    so_far: ChatCompletion | None = None
    rounds = 0
    while True:
        done: ChatDone | None = None
        async for event in send(request.model_copy(update={"messages": messages})):
            if isinstance(event, ChatDone):
                done = event
            else:
                yield event
        if done is None:  # pragma: no cover - providers end every stream with one
            raise RunnableError("the provider's stream ended without a final completion")
        completion = added_up(so_far, done.completion)
        calls = completion.tool_calls
        if not calls or tools is None:
            yield ChatDone(completion=completion)
            return
        if rounds >= max_tool_rounds:
            raise ToolRoundsExceededError(rounds)
        rounds += 1
        so_far = completion
        messages.append(assistant_message(completion.text, calls))
        answered = {result.call_id: result async for result in run_tool_calls(tools, calls)}
        # The answers go back in the order of the calls, however they finished.
        messages.extend(answered[call.id].message() for call in calls)
