"""Instance events: every change of an instance is one of these, folded by `reduce_instance`.

Turn events come from `runnable.chat.execution` (TurnStarted, TurnDelta, TurnCompleted,
TurnFailed, TurnCancelled); the others are the engine's own (loading, editing, tracking).
Because every change is an event, replaying an instance's events from its first state
rebuilds its current state exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from molecules.engine.context import ScopeContext
from molecules.engine.state import ExecutionConfig, InstanceStatus, Totals, VariableLayers
from runnable.chat.completion import ToolCall
from runnable.chat.execution import (
    PromptSpec,
    TurnCancelled,
    TurnCompleted,
    TurnDelta,
    TurnFailed,
    TurnStarted,
)
from runnable.messages import ChatMessage, Content, Resource
from runnable.types import ErrorInfo


@attrs.frozen(slots=True)
class InstanceCreated:
    """An instance was started and is loading its prompt."""

    prompt_ref: str | None
    config: ExecutionConfig
    context: ScopeContext


@attrs.frozen(slots=True)
class InstanceLoaded:
    """The prompt (and any run to continue) loaded: the instance is ready."""

    prompt: PromptSpec
    prompt_ref: str | None
    settings: Mapping[str, Any]
    variables: VariableLayers
    current_input: str = ""
    resources: tuple[Resource, ...] = ()
    messages: tuple[ChatMessage, ...] = ()
    totals: Totals = attrs.field(factory=Totals)
    turns_started: int = 0
    run_id: str | None = None
    run_name: str | None = None
    run_ended: bool = False


@attrs.frozen(slots=True)
class InstanceFailed:
    """Loading failed (the prompt or the run could not be read)."""

    error: ErrorInfo


@attrs.frozen(slots=True)
class StatusSet:
    """The status set by hand (a turn driven from outside the engine), with its error."""

    status: InstanceStatus
    error: ErrorInfo | None = None


@attrs.frozen(slots=True)
class VariablesChanged:
    """User-layer values set (a None value removes the user's value)."""

    values: Mapping[str, Any]


@attrs.frozen(slots=True)
class ScopedVariablesLoaded:
    """The scoped layers ("project", "org", "user") were (re)loaded."""

    scoped: Mapping[str, Mapping[str, Any]]


@attrs.frozen(slots=True)
class SettingsChanged:
    """Model settings edited (a None value removes the setting)."""

    changes: Mapping[str, Any]


@attrs.frozen(slots=True)
class ConfigChanged:
    """The execution config replaced."""

    config: ExecutionConfig


@attrs.frozen(slots=True)
class InputSet:
    """The text being typed for the next turn."""

    text: str


@attrs.frozen(slots=True)
class MessageAdded:
    """A message appended to the conversation by hand."""

    message: ChatMessage


@attrs.frozen(slots=True)
class ConversationCleared:
    """The conversation starts over (a new run on the next turn)."""


@attrs.frozen(slots=True)
class ResourcesChanged:
    """The resources attached to the next turn, as a whole."""

    resources: tuple[Resource, ...]


@attrs.frozen(slots=True)
class RunLinked:
    """The instance's turns are recorded in this run from now on (None: no run)."""

    run_id: str | None
    run_name: str | None = None
    ended: bool = False
    parent_run_id: str | None = None


@attrs.frozen(slots=True)
class RunEnded:
    """The linked run was given its final status; a next turn starts a new run."""

    run_id: str


@attrs.frozen(slots=True)
class TaskLinked:
    """The turn in flight is recorded as this task."""

    turn_id: str
    task_id: str


@attrs.frozen(slots=True)
class TurnQueued:
    """A turn was asked for: the input and resources it takes, the computed variables of
    that moment, and whether it took the input box's text (which is then cleared)."""

    turn_id: str
    user_input: Content | None
    resources: tuple[Resource, ...]
    computed: Mapping[str, Any]
    from_input_box: bool = True


@attrs.frozen(slots=True)
class ToolCallsRequested:
    """The model's reply asks for tool calls (`message` carries them); `awaiting` are
    those that wait for a person's approval."""

    turn_id: str
    message: ChatMessage
    awaiting: tuple[ToolCall, ...] = ()


@attrs.frozen(slots=True)
class ToolCallDecided:
    """A person approved (or denied) a tool call that was awaiting approval."""

    turn_id: str
    call_id: str
    approved: bool


@attrs.frozen(slots=True)
class ToolCallAnswered:
    """A tool call got its answer: the `tool` message sent back to the model."""

    turn_id: str
    message: ChatMessage


@attrs.frozen(slots=True)
class VariableExpanded:
    """The variable whose editor is open in the UI (None: none)."""

    name: str | None


@attrs.frozen(slots=True)
class ShowVariablesSet:
    """Whether the UI shows the variables panel."""

    show: bool


EngineEvent = (
    InstanceCreated
    | InstanceLoaded
    | InstanceFailed
    | StatusSet
    | VariablesChanged
    | ScopedVariablesLoaded
    | SettingsChanged
    | ConfigChanged
    | InputSet
    | MessageAdded
    | ConversationCleared
    | ResourcesChanged
    | RunLinked
    | RunEnded
    | TaskLinked
    | TurnQueued
    | ToolCallsRequested
    | ToolCallDecided
    | ToolCallAnswered
    | VariableExpanded
    | ShowVariablesSet
)
TurnEventValue = TurnStarted | TurnDelta | TurnCompleted | TurnFailed | TurnCancelled
InstanceEvent = EngineEvent | TurnEventValue
"""Anything `reduce_instance` folds."""
