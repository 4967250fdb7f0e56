"""Executing a prompt: one turn through a chat provider, as a stream of typed turn events.

`runnable.chat.request` turns a prompt, its variables and the conversation into a
`TurnRequest` (pure); this module runs it. `stream_turn(provider, request)` yields
`TurnStarted`, `TurnDelta`... then `TurnCompleted` (`runnable.chat.events`). A failure
raises the provider's typed error; `turn_failed` and `turn_cancelled` build the event that
ends a turn that did not complete, so whoever folds events always sees the turn end.

`execute_prompt` and `stream_prompt` do everything for one call; `prompt_executor` and
`prompt_chunk_executor` wrap them as executors for the bridge's prompt kinds. Nothing here
keeps state: the reactive layer folds the events into atoms. The names of
`prompt_request` and `turn_events` are re-exported here.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Mapping,
    Sequence,
)
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from runnable.chat.completion import ChatCompletion, ChatDelta, ChatDone, ChatStreamEvent
from runnable.chat.events import (
    TurnCancelled,
    TurnCompleted,
    TurnDelta,
    TurnEvent,
    TurnFailed,
    TurnStarted,
    assistant_message,
    error_info,
    turn_cancelled,
    turn_failed,
)
from runnable.chat.protocol import MessageLike
from runnable.chat.request import (
    PromptSpec,
    TurnRequest,
    build_turn_request,
    prompt_variables,
    request_settings,
    resolve_prompt_variables,
)
from runnable.chat.structured import parse_structured, response_schema, wants_json
from runnable.chat.tool_loop import DEFAULT_MAX_TOOL_ROUNDS, stream_with_tools
from runnable.errors import ProviderError, RunnableError
from runnable.messages import ChatMessage, Content, Resource, to_provider_messages
from runnable.outcome import current_reporter
from runnable.tools import ToolRegistry
from runnable.types import ErrorInfo, ExecutionMetrics, ExecutionResult, ExecutionStatus
from runnable.variables import DEFAULT_ORDER, Clock

__all__ = [
    "ChatProviderLike",
    "PromptSpec",
    "TurnCancelled",
    "TurnCompleted",
    "TurnDelta",
    "TurnEvent",
    "TurnFailed",
    "TurnRequest",
    "TurnStarted",
    "assistant_message",
    "build_turn_request",
    "error_info",
    "execute_prompt",
    "prompt_chunk_executor",
    "prompt_executor",
    "prompt_variables",
    "request_settings",
    "resolve_prompt_variables",
    "stream_prompt",
    "stream_request",
    "stream_turn",
    "turn_cancelled",
    "turn_failed",
    "turn_result",
]


class ChatProviderLike(Protocol):
    """What a turn needs from a chat provider (`runnable.chat.provider.ChatProvider` is one)."""

    def stream(
        self, messages: Sequence[MessageLike], *, model: str | None = None, **settings: Any
    ) -> AsyncIterator[ChatStreamEvent]:
        """Stream the answer: deltas, then one done event with the whole completion."""
        ...

    async def complete(
        self, messages: Sequence[MessageLike], *, model: str | None = None, **settings: Any
    ) -> ChatCompletion:
        """Return the whole answer."""
        ...


async def stream_turn(
    provider: ChatProviderLike,
    request: TurnRequest,
    *,
    stream: bool = True,
    clock: Callable[[], float] = time.perf_counter,
) -> AsyncGenerator[TurnEvent, None]:
    """Run one turn: `TurnStarted`, then `TurnDelta`s, then `TurnCompleted`.

    A provider failure raises its typed error after the events so far; a cancelled
    consumer stops the provider stream. With `stream=False` the answer comes in one call
    and arrives as a single delta.
    """
    started = clock()
    yield TurnStarted(
        turn_id=request.turn_id,
        messages=request.messages,
        user_input=request.user_input,
        model=request.model,
    )
    if not stream:
        payload = to_provider_messages(request.messages)
        completion = await provider.complete(payload, model=request.model, **request.settings)
        elapsed = _ms(clock, started)
        if completion.text:
            yield TurnDelta(turn_id=request.turn_id, text=completion.text, elapsed_ms=elapsed)
        yield TurnCompleted(
            turn_id=request.turn_id,
            message=assistant_message(completion.text, completion.tool_calls),
            completion=_timed(completion, elapsed, elapsed),
        )
        return
    events = stream_request(provider, request)
    first: float | None = None
    try:
        async for event in events:
            if isinstance(event, ChatDelta):
                elapsed = _ms(clock, started)
                first = elapsed if first is None else first
                yield TurnDelta(turn_id=request.turn_id, text=event.text, elapsed_ms=elapsed)
            elif isinstance(event, ChatDone):
                completion = _timed(event.completion, first, _ms(clock, started))
                yield TurnCompleted(
                    turn_id=request.turn_id,
                    message=assistant_message(completion.text, completion.tool_calls),
                    completion=completion,
                )
                return
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
    raise ProviderError("the provider's stream ended without a final completion")


def _ms(clock: Callable[[], float], started: float) -> float:
    return (clock() - started) * 1000.0


def _timed(completion: ChatCompletion, ttft_ms: float | None, latency_ms: float) -> ChatCompletion:
    """The completion with the timings we measured where the provider reported none."""
    missing: dict[str, float] = {}
    if completion.latency_ms is None:
        missing["latency_ms"] = latency_ms
    if completion.ttft_ms is None and ttft_ms is not None:
        missing["ttft_ms"] = ttft_ms
    return completion.model_copy(update=missing) if missing else completion


def _prompt_request(
    prompt: PromptSpec | Mapping[str, Any],
    inputs: Mapping[str, Any] | None,
    layers: Mapping[str, Mapping[str, Any]] | None,
    order: Sequence[str],
    now: datetime | Clock | None,
    history: Sequence[ChatMessage | Mapping[str, Any]],
    user_input: Content | None,
    resources: Sequence[Resource | Mapping[str, Any]],
    settings: Mapping[str, Any] | None,
) -> TurnRequest:
    spec = PromptSpec.of(prompt)
    given = {**(layers or {}), "user": {**(layers or {}).get("user", {}), **(inputs or {})}}
    # Later turns do not re-apply variables, so none is required then.
    variables = resolve_prompt_variables(spec, given, order=order, now=now, require=not history)
    return build_turn_request(
        spec,
        variables,
        history=history,
        user_input=user_input,
        resources=resources,
        settings=settings,
    )


async def stream_prompt(
    prompt: PromptSpec | Mapping[str, Any],
    inputs: Mapping[str, Any] | None,
    provider: ChatProviderLike,
    *,
    history: Sequence[ChatMessage | Mapping[str, Any]] = (),
    user_input: Content | None = None,
    resources: Sequence[Resource | Mapping[str, Any]] = (),
    layers: Mapping[str, Mapping[str, Any]] | None = None,
    order: Sequence[str] = DEFAULT_ORDER,
    now: datetime | Clock | None = None,
    settings: Mapping[str, Any] | None = None,
) -> AsyncGenerator[TurnEvent, None]:
    """Execute a prompt as one streamed turn; `inputs` are the user layer of its variables.

    Missing variables raise `MissingVariablesError` before anything is sent.
    """
    request = _prompt_request(
        prompt, inputs, layers, order, now, history, user_input, resources, settings
    )
    async for event in stream_turn(provider, request):
        yield event


async def execute_prompt(
    prompt: PromptSpec | Mapping[str, Any],
    inputs: Mapping[str, Any] | None,
    provider: ChatProviderLike,
    *,
    history: Sequence[ChatMessage | Mapping[str, Any]] = (),
    user_input: Content | None = None,
    resources: Sequence[Resource | Mapping[str, Any]] = (),
    layers: Mapping[str, Mapping[str, Any]] | None = None,
    order: Sequence[str] = DEFAULT_ORDER,
    now: datetime | Clock | None = None,
    settings: Mapping[str, Any] | None = None,
    stream: bool = False,
) -> ExecutionResult:
    """Execute a prompt once and return its reply as the result's `output`.

    `structured_output` holds the parsed JSON when the settings ask for a JSON response.
    Missing variables raise `MissingVariablesError`; a provider failure raises its error.
    """
    request = _prompt_request(
        prompt, inputs, layers, order, now, history, user_input, resources, settings
    )
    started_at = datetime.now(UTC)
    completion: ChatCompletion | None = None
    async for event in stream_turn(provider, request, stream=stream):
        if isinstance(event, TurnCompleted):
            completion = event.completion
    if completion is None:  # pragma: no cover - stream_turn raises before this
        raise RunnableError("the turn ended without a completion")
    return turn_result(
        request,
        ExecutionStatus.SUCCESS,
        started_at,
        completion.text,
        metrics=completion.metrics(),
        structured_output=_structured(completion.text, request.settings),
    )


def turn_result(
    request: TurnRequest,
    status: ExecutionStatus,
    started_at: datetime,
    output: str,
    *,
    metrics: ExecutionMetrics | None = None,
    error: ErrorInfo | None = None,
    structured_output: Any = None,
) -> ExecutionResult:
    """The `ExecutionResult` of one turn (a prompt execution or a conversation turn)."""
    return ExecutionResult(
        execution_id=request.turn_id,
        status=status,
        started_at=started_at,
        completed_at=datetime.now(UTC),
        output=output,
        structured_output=structured_output,
        error=error,
        metrics=metrics or ExecutionMetrics(),
    )


def _structured(text: str, settings: Mapping[str, Any]) -> Any:
    if not wants_json(settings):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _prompt_of(runnable: Any) -> Any:
    """A bridge `RunnableData` carries its prompt in `configuration`; anything else is one."""
    configuration = getattr(runnable, "configuration", None)
    return configuration if isinstance(configuration, Mapping) else runnable


async def stream_request(
    provider: ChatProviderLike, request: TurnRequest
) -> AsyncGenerator[ChatStreamEvent, None]:
    """Send `request` streaming and yield the provider's events (deltas, then done).

    The request as sent is reported to the running execution (`current_reporter`), so
    the run store records exactly what the model saw.
    """
    request = request.sent_to(provider)
    reporter = current_reporter()
    if reporter is not None:
        reporter.set_request(request.record())
    events = provider.stream(
        to_provider_messages(request.messages), model=request.model, **request.settings
    )
    try:
        async for event in events:
            yield event
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()


def prompt_executor(
    provider: ChatProviderLike,
    *,
    tools: ToolRegistry | None = None,
    max_tool_rounds: int = DEFAULT_MAX_TOOL_ROUNDS,
) -> Callable[[Any, Mapping[str, Any]], AsyncIterator[Any]]:
    """The executor of the bridge's prompt kinds: runs the prompt streaming.

    `execute(runnable, inputs)` renders the prompt in `runnable.configuration` (or a
    prompt given as is) with `inputs` as the user layer, and yields the provider's
    `ChatDelta`s and its final `ChatDone`: every path gets the chunks, tokens and cost.
    With `tools` the model may call them (`runnable.chat.tool_loop`). Under a
    `json_schema` response format the output is the parsed reply, yielded last; a reply
    that is not JSON or breaks the schema raises `StructuredOutputError` (its `output`
    is the reply's text).
    """
    send = partial(stream_request, provider)

    async def execute(runnable: Any, inputs: Mapping[str, Any]) -> AsyncIterator[Any]:
        # Rendering is bounded but may take a while (a big jinja2 template): off the loop.
        request = await asyncio.to_thread(
            _prompt_request,
            _prompt_of(runnable),
            inputs,
            None,
            DEFAULT_ORDER,
            None,
            (),
            None,
            (),
            None,
        )
        final: ChatDone | None = None
        async for event in stream_with_tools(send, request, tools, max_tool_rounds=max_tool_rounds):
            final = event if isinstance(event, ChatDone) else final
            yield event
        if final is not None and response_schema(request.settings) is not None:
            yield parse_structured(final.completion.text, request.settings)

    return execute


# The streaming executor is the only one: kept under its earlier name.
prompt_chunk_executor = prompt_executor
