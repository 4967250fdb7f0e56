"""From a prompt to a provider request, purely: variables resolved, one turn laid out.

1. `resolve_prompt_variables(prompt, layers)` resolves the prompt's variables (computed,
   user, ..., the prompt's own defaults) with the layer each came from, and fails before
   any model call naming every template variable that has no value.
2. `build_turn_request(prompt, variables, history=..., user_input=..., resources=...)`
   lays out one turn (`runnable.messages` rules) with the prompt's model settings.

`runnable.chat.execution` runs the request through a chat provider.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from runnable.errors import MessageError
from runnable.messages import ChatMessage, Content, Resource, TextPart, build_turn_messages
from runnable.redaction import is_secret_key, redact_values, secret_values
from runnable.templates import TemplateFormat, check_template, extract_variables
from runnable.variables import (
    DEFAULT_ORDER,
    Clock,
    ResolvedVariable,
    computed_variables,
    resolve_variables,
    variable_values,
)

__all__ = [
    "PromptSpec",
    "TurnRequest",
    "build_turn_request",
    "prompt_variables",
    "request_settings",
    "resolve_prompt_variables",
    "settings_model",
]

# Settings that describe the prompt, not the request (they never reach the provider).
_NOT_REQUEST_SETTINGS = frozenset({"model", "stream", "messages", "provider"})


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
        return settings_model(self.settings)


def _texts(content: Content | None) -> list[str]:
    if not content:
        return []
    if isinstance(content, str):
        return [content]
    return [part.text for part in content if isinstance(part, TextPart)]


def prompt_variables(prompt: PromptSpec | Mapping[str, Any], *, strict: bool = True) -> list[str]:
    """The template variables of the prompt's messages, in order of first appearance.

    Strict (before a run), a malformed template raises `TemplateError` naming its format
    and position; lenient (`strict=False`, while a user types), a half-typed message
    keeps the variables it has.
    """
    spec = PromptSpec.of(prompt)
    names: dict[str, None] = {}
    for message in spec.messages:
        for text in _texts(message.content):
            if strict:
                check_template(text, spec.template_format)
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


def settings_model(settings: Mapping[str, Any]) -> str | None:
    """The model `settings` name (a non-empty string), or None: the provider's default."""
    model = settings.get("model")
    return model if isinstance(model, str) and model else None


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

    def secrets(self) -> list[str]:
        """The values of the secret-named variables (`api_key`, `*_token`...), longest first."""
        return secret_values({name: v.value for name, v in self.variables.items()})

    def sent_to(self, provider: object) -> TurnRequest:
        """This request naming the model `provider` sends it to (its default when none is set)."""
        default = getattr(provider, "model", None)
        if self.model is not None or not isinstance(default, str):
            return self
        return self.model_copy(update={"model": default})

    def record(self) -> dict[str, Any]:
        """The request as run tracking stores it (messages with their resources).

        The rendered value of every secret-named variable is blanked out of the messages:
        the provider got it, the record does not keep it.
        """
        messages = [m.model_dump(mode="json", exclude_none=True) for m in self.messages]
        return {
            "model": self.model,
            "settings": self.settings,
            "messages": redact_values(messages, self.secrets()),
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
    return TurnRequest(
        turn_id=turn_id or uuid.uuid4().hex,
        messages=messages,
        user_input=user_input,
        model=settings_model(chosen),
        settings=request_settings(chosen),
        variables=resolved,
    )
