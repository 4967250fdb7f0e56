"""Executing a prompt: from a prompt, variables and a conversation to a provider request and
a stream of typed turn events.

Three steps, each usable alone:

1. `resolve_prompt_variables(prompt, layers)` resolves the prompt's variables (computed,
   user, ..., the prompt's own defaults) with the layer each came from, and fails before
   any model call naming every template variable that has no value.
2. `build_turn_request(prompt, variables, history=..., user_input=..., resources=...)`
   lays out one turn (`runnable.messages` rules) with the prompt's model settings.
3. `stream_turn(provider, request)` runs the turn through a chat provider and yields
   `TurnStarted`, `TurnDelta`... then `TurnCompleted`. A failure raises (the provider's
   typed error); `turn_failed` and `turn_cancelled` build the event that ends a turn that
   did not complete, so whoever folds events always sees the turn end.

`execute_prompt` and `stream_prompt` do all three for one call (the bridge's `prompt`
kind). Nothing here keeps state: the reactive layer folds the events into atoms.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from runnable.chat_protocol import MessageLike
from runnable.completion import ChatCompletion, ChatDelta, ChatDone, ChatStreamEvent
from runnable.errors import MessageError, RunnableError
from runnable.exec_errors import ProviderError
from runnable.messages import (
    ChatMessage,
    Content,
    Resource,
    TextPart,
    build_turn_messages,
    to_provider_messages,
)
from runnable.templates import TemplateFormat, extract_variables
from runnable.tracking.redaction import is_secret_key, redact_text
from runnable.types import ErrorInfo, ExecutionResult, ExecutionStatus
from runnable.variables import (
    DEFAULT_ORDER,
    Clock,
    ResolvedVariable,
    computed_variables,
    resolve_variables,
    variable_values,
)

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
    "build_turn_request",
    "error_info",
    "execute_prompt",
    "prompt_variables",
    "request_settings",
    "resolve_prompt_variables",
    "stream_prompt",
    "stream_turn",
    "turn_cancelled",
    "turn_failed",
]

# Settings that describe the prompt, not the request (they never reach the provider).
_NOT_REQUEST_SETTINGS = frozenset({"model", "stream", "messages", "provider"})


class ChatProviderLike(Protocol):
    """What a turn needs from a chat provider (`runnable.provider.ChatProvider` is one)."""

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


class PromptSpec(BaseModel):
    """What executing a prompt needs: template messages, model settings, defaults, format.

    Accepts a prompt entity's data as it is (unknown fields are kept), so `PromptSpec.of`
    takes a dict, a `PromptSpec` or any pydantic model with these fields.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str | None = None
    name: str | None = None
    messages: list[ChatMessage] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)
    variable_defaults: dict[str, Any] = Field(default_factory=dict)
    template_format: TemplateFormat = "curly"

    @classmethod
    def of(cls, value: PromptSpec | BaseModel | Mapping[str, Any]) -> PromptSpec:
        """`value` as a PromptSpec (a model is read through its JSON form)."""
        if isinstance(value, PromptSpec):
            return value
        if isinstance(value, BaseModel):
            return cls.model_validate(value.model_dump(mode="json"))
        if isinstance(value, Mapping):
            return cls.model_validate(dict(value))
        raise MessageError(f"a prompt must be a mapping or a model, not {type(value).__name__}")

    @property
    def model(self) -> str | None:
        """The model named in the settings, if any."""
        model = self.settings.get("model")
        return model if isinstance(model, str) and model else None


def _texts(content: Content | None) -> list[str]:
    if not content:
        return []
    if isinstance(content, str):
        return [content]
    return [part.text for part in content if isinstance(part, TextPart)]


def prompt_variables(prompt: PromptSpec | Mapping[str, Any]) -> list[str]:
    """The template variables of the prompt's messages, in order of first appearance.

    A malformed template raises `TemplateError` naming its format and position.
    """
    spec = PromptSpec.of(prompt)
    names: dict[str, None] = {}
    for message in spec.messages:
        for text in _texts(message.content):
            names.update(dict.fromkeys(extract_variables(text, spec.template_format)))
    return list(names)


def resolve_prompt_variables(
    prompt: PromptSpec | Mapping[str, Any],
    layers: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    order: Sequence[str] = DEFAULT_ORDER,
    now: datetime | Clock | None = None,
    require: bool = True,
) -> dict[str, ResolvedVariable]:
    """Resolve the prompt's variables from `layers`, its own defaults and the computed layer.

    The prompt's `variable_defaults` sit under any `default` layer given; the computed layer
    is added unless given. With `require`, every template variable must get a value, else
    `MissingVariablesError` names all the missing ones (before any model call).
    """
    spec = PromptSpec.of(prompt)
    merged: dict[str, Mapping[str, Any]] = dict(layers or {})
    if "computed" in order and "computed" not in merged:
        merged["computed"] = computed_variables(now)
    if "default" in order:
        merged["default"] = {**spec.variable_defaults, **merged.get("default", {})}
    required = prompt_variables(spec) if require else ()
    return resolve_variables(merged, order, required=required)


def request_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings sent with a request: no model, no None values, no secrets."""
    return {
        key: value
        for key, value in settings.items()
        if value is not None and key not in _NOT_REQUEST_SETTINGS and not is_secret_key(key)
    }


class TurnRequest(BaseModel):
    """One turn, ready for a provider: every message sent, the model and its settings."""

    model_config = ConfigDict(frozen=True)

    turn_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    messages: list[ChatMessage]
    user_input: Content | None = None
    model: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    variables: dict[str, ResolvedVariable] = Field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The request as run tracking stores it (messages with their resources)."""
        return {
            "model": self.model,
            "settings": self.settings,
            "messages": [m.model_dump(mode="json", exclude_none=True) for m in self.messages],
        }


def _raw_first_turn(
    templates: Sequence[ChatMessage],
    user_input: Content | None,
    resources: Sequence[Resource],
) -> list[ChatMessage]:
    """The first turn with templates sent as written (`apply_variables=False`)."""
    last = templates[-1] if templates else None
    joinable = last is not None and last.role == "user" and isinstance(last.content, str)
    if last is not None and joinable and isinstance(user_input, str) and user_input:
        content = f"{last.content}\n\n{user_input}" if last.content else user_input
        joined = last.model_copy(
            update={"content": content, "resources": [*last.resources, *resources]}
        )
        return [*templates[:-1], joined]
    return build_turn_messages([], {}, list(templates), user_input, resources)


def build_turn_request(
    prompt: PromptSpec | Mapping[str, Any],
    variables: Mapping[str, ResolvedVariable | Any],
    *,
    history: Sequence[ChatMessage | Mapping[str, Any]] = (),
    user_input: Content | None = None,
    resources: Sequence[Resource | Mapping[str, Any]] = (),
    settings: Mapping[str, Any] | None = None,
    apply_variables: bool = True,
    turn_id: str | None = None,
) -> TurnRequest:
    """The request of one turn (first turn: rendered templates; later: history + input).

    `settings` replace the prompt's settings when given (an instance's edited model
    config). `variables` are resolved variables or plain values.
    """
    spec = PromptSpec.of(prompt)
    resolved = {
        name: v if isinstance(v, ResolvedVariable) else ResolvedVariable(name, v, "user")
        for name, v in variables.items()
    }
    turn_resources = [
        r if isinstance(r, Resource) else Resource.model_validate(r) for r in resources
    ]
    if history or apply_variables:
        messages = build_turn_messages(
            spec.messages,
            variable_values(resolved),
            history,
            user_input,
            turn_resources,
            spec.template_format,
        )
    else:
        messages = _raw_first_turn(spec.messages, user_input, turn_resources)
    chosen = dict(spec.settings if settings is None else settings)
    model = chosen.get("model")
    return TurnRequest(
        turn_id=turn_id or uuid.uuid4().hex,
        messages=messages,
        user_input=user_input,
        model=model if isinstance(model, str) and model else None,
        settings=request_settings(chosen),
        variables=resolved,
    )


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


def error_info(exc: BaseException) -> ErrorInfo:
    """What a record or a UI may show of an error: its type, status and redacted message."""
    return ErrorInfo(
        message=redact_text(str(exc)) or type(exc).__name__,
        type=type(exc).__name__,
        status_code=getattr(exc, "status_code", None),
    )


def turn_failed(turn_id: str, exc: BaseException, elapsed_ms: float | None = None) -> TurnFailed:
    """The event that ends a turn that raised `exc`."""
    return TurnFailed(turn_id=turn_id, error=error_info(exc), elapsed_ms=elapsed_ms)


def turn_cancelled(turn_id: str, elapsed_ms: float | None = None) -> TurnCancelled:
    """The event that ends a turn that was cancelled."""
    return TurnCancelled(turn_id=turn_id, elapsed_ms=elapsed_ms)


def _assistant(text: str) -> ChatMessage:
    return ChatMessage(role="assistant", content=text)


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
    payload = to_provider_messages(request.messages)
    if not stream:
        completion = await provider.complete(payload, model=request.model, **request.settings)
        if completion.text:
            yield TurnDelta(
                turn_id=request.turn_id, text=completion.text, elapsed_ms=_ms(clock, started)
            )
        yield TurnCompleted(
            turn_id=request.turn_id, message=_assistant(completion.text), completion=completion
        )
        return
    events = provider.stream(payload, model=request.model, **request.settings)
    try:
        async for event in events:
            if isinstance(event, ChatDelta):
                yield TurnDelta(
                    turn_id=request.turn_id, text=event.text, elapsed_ms=_ms(clock, started)
                )
            elif isinstance(event, ChatDone):
                completion = event.completion
                yield TurnCompleted(
                    turn_id=request.turn_id,
                    message=_assistant(completion.text),
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
    return ExecutionResult(
        execution_id=request.turn_id,
        status=ExecutionStatus.SUCCESS,
        started_at=started_at,
        completed_at=datetime.now(UTC),
        output=completion.text,
        structured_output=_structured(completion.text, request.settings),
        metrics=completion.metrics(),
    )


def _structured(text: str, settings: Mapping[str, Any]) -> Any:
    response_format = settings.get("response_format")
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    if kind not in ("json_object", "json_schema"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
