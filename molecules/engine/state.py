"""The state of one prompt instance: frozen values that reducers replace, never change.

An instance is a prompt being run as a conversation. Its `InstanceState` holds the
prompt, model settings, execution config, variable layers, conversation, the turn in
flight, totals, the run it is recorded in and its UI flags. `reduce_instance` (in
`reducers.py`) is the only thing that makes a new one from an event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
from pydantic import BaseModel, ConfigDict

from molecules.engine.context import ScopeContext
from molecules.stream_text import StreamText
from runnable.chat.completion import ToolCall
from runnable.chat.execution import PromptSpec
from runnable.messages import ChatMessage, Content, Resource
from runnable.types import ErrorInfo

InstanceStatus = Literal[
    "idle",
    "initializing",
    "ready",
    "executing",
    "streaming",
    "awaiting_approval",
    "completed",
    "error",
]
BUSY_STATUSES: frozenset[str] = frozenset({"executing", "streaming", "awaiting_approval"})
"""Statuses in which a turn is in flight (a new message is refused)."""

TurnOutcome = Literal["success", "error", "cancelled"]

SCOPES = ("project", "org", "user")
"""Scoped layers, highest first."""


def identical(old: Any, new: Any) -> bool:
    """Identity: a slice of an immutable state is unchanged exactly when it is the same object
    (reducers carry unchanged parts over), so no deep comparison is needed."""
    return old is new


class ExecutionConfig(BaseModel):
    """How an instance runs: auto-run the first turn, allow chat, show and apply variables,
    and record runs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    auto_run: bool = False
    allow_chat: bool = True
    show_variables: bool = False
    apply_variables: bool = True
    track_in_runs: bool = True


@attrs.frozen(slots=True)
class VariableLayers:
    """An instance's variables by layer (the prompt's defaults come from its prompt)."""

    user: Mapping[str, Any] = attrs.field(factory=dict)
    hardcoded: Mapping[str, Any] = attrs.field(factory=dict)
    broker: Mapping[str, Any] = attrs.field(factory=dict)
    scoped: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    computed: Mapping[str, Any] = attrs.field(factory=dict)

    def layers(self) -> dict[str, Mapping[str, Any]]:
        """The layers by the names `runnable.variables` resolves ("scoped.project"...)."""
        named: dict[str, Mapping[str, Any]] = {
            "computed": self.computed,
            "user": self.user,
            "hardcoded": self.hardcoded,
            "broker": self.broker,
        }
        for scope in SCOPES:
            named[f"scoped.{scope}"] = self.scoped.get(scope, {})
        return named


@attrs.frozen(slots=True)
class ActiveTurn:
    """The turn in flight: what was asked, what was sent, and the reply so far."""

    turn_id: str
    user_input: Content | None = None
    resources: tuple[Resource, ...] = ()
    messages: tuple[ChatMessage, ...] | None = None  # set when the turn was sent
    model: str | None = None
    text: StreamText = attrs.field(factory=StreamText)
    ttft_ms: float | None = None
    elapsed_ms: float | None = None
    task_id: str | None = None
    awaiting: tuple[ToolCall, ...] = ()  # tool calls waiting for a person's approval


@attrs.frozen(slots=True)
class TurnStats:
    """How one finished turn went."""

    turn_id: str
    outcome: TurnOutcome
    model: str | None = None
    finish_reason: str | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None


@attrs.frozen(slots=True)
class Totals:
    """Sums over an instance's finished turns (reset when the conversation is cleared)."""

    turns: int = 0
    failed: int = 0
    cancelled: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    total_ms: float = 0.0


@attrs.frozen(slots=True)
class InstanceState:
    """Everything about one prompt instance (see the module docstring)."""

    id: str
    status: InstanceStatus = "idle"
    error: ErrorInfo | None = None
    prompt: PromptSpec | None = None
    prompt_ref: str | None = None
    settings: Mapping[str, Any] = attrs.field(factory=dict)
    config: ExecutionConfig = attrs.field(factory=ExecutionConfig)
    context: ScopeContext = attrs.field(factory=ScopeContext)
    variables: VariableLayers = attrs.field(factory=VariableLayers)
    messages: tuple[ChatMessage, ...] = ()
    current_input: str = ""
    resources: tuple[Resource, ...] = ()
    turn: ActiveTurn | None = None
    last_turn: TurnStats | None = None
    totals: Totals = attrs.field(factory=Totals)
    turns_started: int = 0
    run_id: str | None = None
    run_name: str | None = None
    run_ended: bool = False
    parent_run_id: str | None = None
    expanded_variable: str | None = None
    show_variables: bool = False

    @property
    def is_busy(self) -> bool:
        """True while a turn is in flight."""
        return self.status in BUSY_STATUSES

    @property
    def prompt_id(self) -> str | None:
        """The id of the prompt (from its ref, else from the prompt itself)."""
        if self.prompt_ref is not None:
            return self.prompt_ref.partition(":")[2] or self.prompt_ref
        return self.prompt.id if self.prompt is not None else None
