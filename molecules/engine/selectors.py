"""Selectors of prompt instances: families of derived atoms keyed by instance id.

Small slices (prompt, settings, variables, conversation, turn) are read first and the
heavier selectors read the slices, so a streamed chunk, which only changes the turn,
never re-renders templates or re-resolves variables. A selector of an instance that does
not exist reads its empty value (None, "", (), False).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from molecules.core.atom import Atom, Getter, derived
from molecules.core.family import AtomFamily, atom_family
from molecules.engine.instances import Instances, TurnControl
from molecules.engine.state import (
    ActiveTurn,
    ExecutionConfig,
    InstanceState,
    InstanceStatus,
    Totals,
    TurnStats,
    VariableLayers,
    identical,
)
from runnable.chat.execution import PromptSpec, prompt_variables, resolve_prompt_variables
from runnable.errors import MessageError, TemplateError
from runnable.messages import ChatMessage, Resource, build_turn_messages
from runnable.types import ErrorInfo
from runnable.variables import ResolvedVariable, variable_values

T = TypeVar("T")


@attrs.frozen(slots=True)
class InstanceStats:
    """Totals over finished turns and how the last one went."""

    totals: Totals
    last_turn: TurnStats | None


@attrs.frozen(slots=True)
class _Resolution:
    """The first turn's messages as rendered now, or why they cannot be."""

    messages: tuple[ChatMessage, ...]
    error: ErrorInfo | None = None


@attrs.frozen(slots=True)
class LiveStats:
    """The turn in flight, as it streams."""

    turn_id: str
    status: InstanceStatus
    model: str | None
    chunks: int
    chars: int
    ttft_ms: float | None
    elapsed_ms: float | None


def merge_variables(
    prompt: PromptSpec | None, layers: VariableLayers | None, order: Sequence[str]
) -> dict[str, ResolvedVariable]:
    """Each variable the prompt uses, from the highest layer that has it (missing: absent)."""
    if prompt is None or layers is None:
        return {}
    return resolve_prompt_variables(prompt, layers.layers(), order=order, require=False)


def _settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in settings.items() if value is not None}


def _text(message: ChatMessage) -> str:
    content = message.content
    if isinstance(content, str) or content is None:
        return content or ""
    return "".join(getattr(part, "text", "") for part in content)


class InstanceSelectors:
    """Every selector of the engine's instances (see the module docstring)."""

    def __init__(self, instances: Instances) -> None:
        self._instances = instances
        self._families: dict[str, AtomFamily[str, Atom[Any]]] = {}
        family = self._family
        state_of = instances.state

        def state(get: Getter, iid: str) -> InstanceState | None:
            return get(state_of(iid))

        def part(read: Callable[[InstanceState], T], empty: T) -> Callable[[Getter, str], T]:
            def select(get: Getter, iid: str) -> T:
                current = state(get, iid)
                return empty if current is None else read(current)

            return select

        self.state: AtomFamily[str, Atom[InstanceState | None]] = family("state", state, identical)
        self.status: AtomFamily[str, Atom[InstanceStatus]] = family(
            "status", part(lambda s: s.status, "idle")
        )
        self.error: AtomFamily[str, Atom[ErrorInfo | None]] = family(
            "error", part(lambda s: s.error, None)
        )
        self.is_executing: AtomFamily[str, Atom[bool]] = family(
            "is_executing", part(lambda s: s.is_busy, False)
        )
        self.prompt: AtomFamily[str, Atom[PromptSpec | None]] = family(
            "prompt", part(lambda s: s.prompt, None), identical
        )
        self.model_config: AtomFamily[str, Atom[Mapping[str, Any]]] = family(
            "model_config", part(lambda s: s.settings, {}), identical
        )
        self.execution_config: AtomFamily[str, Atom[ExecutionConfig | None]] = family(
            "execution_config", part(lambda s: s.config, None), identical
        )
        self.variable_layers: AtomFamily[str, Atom[VariableLayers | None]] = family(
            "variable_layers", part(lambda s: s.variables, None), identical
        )
        self.conversation_messages: AtomFamily[str, Atom[tuple[ChatMessage, ...]]] = family(
            "conversation_messages", part(lambda s: s.messages, ()), identical
        )
        self.turn: AtomFamily[str, Atom[ActiveTurn | None]] = family(
            "turn", part(lambda s: s.turn, None), identical
        )
        self.current_input: AtomFamily[str, Atom[str]] = family(
            "current_input", part(lambda s: s.current_input, "")
        )
        self.resources: AtomFamily[str, Atom[tuple[Resource, ...]]] = family(
            "resources", part(lambda s: s.resources, ()), identical
        )
        self.run_id: AtomFamily[str, Atom[str | None]] = family(
            "run_id", part(lambda s: s.run_id, None)
        )
        self.run_name: AtomFamily[str, Atom[str | None]] = family(
            "run_name", part(lambda s: s.run_name, None)
        )
        self.expanded_variable: AtomFamily[str, Atom[str | None]] = family(
            "expanded_variable", part(lambda s: s.expanded_variable, None)
        )
        self.show_variables: AtomFamily[str, Atom[bool]] = family(
            "show_variables", part(lambda s: s.show_variables, False)
        )
        self.is_response_ended: AtomFamily[str, Atom[bool]] = family(
            "is_response_ended", part(lambda s: not s.is_busy and s.last_turn is not None, False)
        )
        self.stats: AtomFamily[str, Atom[InstanceStats | None]] = family(
            "stats", part(lambda s: InstanceStats(s.totals, s.last_turn), None)
        )
        self.template_messages: AtomFamily[str, Atom[tuple[ChatMessage, ...]]] = family(
            "template_messages", self._template_messages
        )
        self.variable_names: AtomFamily[str, Atom[tuple[str, ...]]] = family(
            "variable_names", self._variable_names
        )
        self.merged_variables: AtomFamily[str, Atom[dict[str, ResolvedVariable]]] = family(
            "merged_variables", self._merged_variables
        )
        self.missing_variables: AtomFamily[str, Atom[tuple[str, ...]]] = family(
            "missing_variables", self._missing_variables
        )
        self.is_ready: AtomFamily[str, Atom[bool]] = family("is_ready", self._is_ready)
        # The first turn's messages rendered once, for the two selectors that show them.
        self._resolution: AtomFamily[str, Atom[_Resolution]] = atom_family(
            lambda iid: derived(lambda get: self._resolve(get, iid), name=f"resolution({iid})")
        )
        self.resolved_messages: AtomFamily[str, Atom[tuple[ChatMessage, ...]]] = family(
            "resolved_messages", lambda get, iid: get(self._resolution(iid)).messages
        )
        self.resolved_messages_error: AtomFamily[str, Atom[ErrorInfo | None]] = family(
            "resolved_messages_error", lambda get, iid: get(self._resolution(iid)).error
        )
        self.system_message: AtomFamily[str, Atom[str | None]] = family(
            "system_message", self._system_message
        )
        self.streaming_text: AtomFamily[str, Atom[str]] = family(
            "streaming_text", self._streaming_text
        )
        self.display_messages: AtomFamily[str, Atom[tuple[ChatMessage, ...]]] = family(
            "display_messages", self._display_messages
        )
        self.live_stats: AtomFamily[str, Atom[LiveStats | None]] = family(
            "live_stats", self._live_stats
        )
        self.has_unsaved_changes: AtomFamily[str, Atom[bool]] = family(
            "has_unsaved_changes", self._has_unsaved_changes
        )
        self.turn_task: AtomFamily[str, Atom[asyncio.Task[Any] | None]] = family(
            "turn_task", lambda get, iid: _task(get(instances.turn_control(iid)))
        )
        # Lookups, keyed by prompt id and run id rather than instance id.
        self.instance_ids = instances.instance_ids
        self.instances_for_prompt: AtomFamily[str, Atom[tuple[str, ...]]] = atom_family(
            lambda pid: derived(
                lambda get: get(instances.prompt_index).get(pid, ()), name=f"by_prompt({pid})"
            )
        )
        self.instance_for_run: AtomFamily[str, Atom[str | None]] = atom_family(
            lambda rid: derived(
                lambda get: get(instances.run_index).get(rid), name=f"by_run({rid})"
            )
        )

    def _family(
        self,
        name: str,
        read: Callable[[Getter, str], Any],
        eq: Callable[[Any, Any], bool] | None = None,
    ) -> AtomFamily[str, Atom[Any]]:
        made: AtomFamily[str, Atom[Any]] = atom_family(
            lambda iid: derived(lambda get: read(get, iid), eq=eq, name=f"{name}({iid})")
        )
        self._families[name] = made
        return made

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the selectors keyed by instance id."""
        return tuple(self._families)

    def family(self, name: str) -> AtomFamily[str, Atom[Any]]:
        """The selector family called `name`; `AttributeError` naming the known ones."""
        found = self._families.get(name)
        if found is None:
            raise AttributeError(
                f"no instance selector {name!r}; the selectors are: {', '.join(self._families)}"
            )
        return found

    def exists(self, get: Getter, iid: str) -> bool:
        """True while instance `iid` exists in the store that `get` reads."""
        state_of = self._instances.state
        return iid in state_of and get(state_of(iid)) is not None

    def forget(self, iid: str) -> None:
        """Drop the selector atoms of a removed instance."""
        for made in self._families.values():
            made.remove(iid)
        self._resolution.remove(iid)

    # Derived from slices

    def _template_messages(self, get: Getter, iid: str) -> tuple[ChatMessage, ...]:
        prompt = get(self.prompt(iid))
        return () if prompt is None else tuple(prompt.messages)

    def _variable_names(self, get: Getter, iid: str) -> tuple[str, ...]:
        prompt = get(self.prompt(iid))
        return () if prompt is None else tuple(prompt_variables(prompt))

    def _merged_variables(self, get: Getter, iid: str) -> dict[str, ResolvedVariable]:
        prompt = get(self.prompt(iid))
        layers = get(self.variable_layers(iid))
        return merge_variables(prompt, layers, self._instances.order)

    def _missing_variables(self, get: Getter, iid: str) -> tuple[str, ...]:
        config = get(self.execution_config(iid))
        if config is None or not config.apply_variables:
            return ()
        merged = get(self.merged_variables(iid))
        return tuple(name for name in get(self.variable_names(iid)) if name not in merged)

    def _is_ready(self, get: Getter, iid: str) -> bool:
        if get(self.prompt(iid)) is None or get(self.status(iid)) in ("idle", "initializing"):
            return False
        return not get(self.missing_variables(iid))

    def _resolve(self, get: Getter, iid: str) -> _Resolution:
        conversation = get(self.conversation_messages(iid))
        if conversation:
            return _Resolution(conversation)
        prompt = get(self.prompt(iid))
        config = get(self.execution_config(iid))
        if prompt is None or config is None:
            return _Resolution(())
        if not config.apply_variables:
            return _Resolution(tuple(prompt.messages))
        values = variable_values(get(self.merged_variables(iid)))
        try:
            messages = build_turn_messages(prompt.messages, values, format=prompt.template_format)
        except (MessageError, TemplateError) as exc:
            # A template that fails or hits a limit is a value to show, never a raise
            # out of a selector (a server reading it would answer 500).
            return _Resolution((), ErrorInfo.from_exception(exc))
        return _Resolution(tuple(messages))

    def _system_message(self, get: Getter, iid: str) -> str | None:
        for message in get(self.resolved_messages(iid)):
            if message.role in ("system", "developer"):
                return _text(message)
        return None

    def _streaming_text(self, get: Getter, iid: str) -> str:
        turn = get(self.turn(iid))
        return "" if turn is None else turn.text.text

    def _display_messages(self, get: Getter, iid: str) -> tuple[ChatMessage, ...]:
        conversation = get(self.conversation_messages(iid))
        turn = get(self.turn(iid))
        if turn is None:
            return conversation
        if turn.messages is not None:
            shown = turn.messages
        elif turn.user_input or turn.resources:
            content = turn.user_input if turn.user_input is not None else ""
            asked = ChatMessage(role="user", content=content, resources=list(turn.resources))
            shown = (*conversation, asked)
        else:
            shown = conversation
        if turn.text:
            return (*shown, ChatMessage(role="assistant", content=turn.text.text))
        return shown

    def _live_stats(self, get: Getter, iid: str) -> LiveStats | None:
        turn = get(self.turn(iid))
        if turn is None:
            return None
        return LiveStats(
            turn_id=turn.turn_id,
            status=get(self.status(iid)),
            model=turn.model,
            chunks=turn.text.chunks,
            chars=len(turn.text),
            ttft_ms=turn.ttft_ms,
            elapsed_ms=turn.elapsed_ms,
        )

    def _has_unsaved_changes(self, get: Getter, iid: str) -> bool:
        prompt = get(self.prompt(iid))
        if prompt is None:
            return False
        return _settings(get(self.model_config(iid))) != _settings(prompt.settings)


def _task(control: TurnControl | None) -> asyncio.Task[Any] | None:
    return None if control is None else control.task
