"""A turn checked and queued, its messages not rendered yet.

`queue_turn` makes the cheap checks a turn must pass before it is queued (not busy, the
prompt loaded, chat allowed, no variable missing, something to send) inside the
synchronous store write; rendering the prompt's templates may take up to the render
limits' `max_seconds`, so it is left to the turn's task: `QueuedTurn.arender` renders
in a worker thread, for `execute_message`'s turns and for `start_execution` alike.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from molecules.engine.errors import ChatNotAllowedError, InstanceBusyError, InstanceNotReadyError
from molecules.engine.instances import Instances
from molecules.engine.state import InstanceState
from runnable.chat.execution import (
    PromptSpec,
    TurnRequest,
    build_turn_request,
    resolve_prompt_variables,
)
from runnable.chat.request import request_settings, settings_model
from runnable.errors import MessageError, MissingVariablesError
from runnable.messages import ChatMessage, Resource
from runnable.variables import ResolvedVariable, computed_variables

__all__ = ["QueuedTurn", "queue_turn"]


@attrs.frozen(slots=True)
class QueuedTurn:
    """What one turn sends, before its templates are rendered."""

    iid: str
    turn_id: str
    prompt: PromptSpec
    variables: Mapping[str, ResolvedVariable]
    history: tuple[ChatMessage, ...]
    user_input: str | None
    resources: tuple[Resource, ...]
    settings: Mapping[str, Any]
    apply_variables: bool

    @property
    def renders_templates(self) -> bool:
        """True for a first turn: its messages are the prompt's templates, rendered."""
        return not self.history

    def computed(self) -> dict[str, Any]:
        """The computed variables the turn was queued with (the instance shows them)."""
        return {
            name: variable.value
            for name, variable in self.variables.items()
            if variable.source == "computed"
        }

    def render(self) -> TurnRequest:
        """The turn's request; a template that fails (or hits a limit) raises `TemplateError`."""
        try:
            return build_turn_request(
                self.prompt,
                self.variables,
                history=self.history,
                user_input=self.user_input,
                resources=self.resources,
                settings=self.settings,
                apply_variables=self.apply_variables,
                turn_id=self.turn_id,
            )
        except MessageError as exc:
            raise InstanceNotReadyError(self.iid, str(exc)) from exc

    async def arender(self) -> TurnRequest:
        """`render` where it cannot hold the event loop: a first turn's templates (up to
        the render limits' `max_seconds` of CPU) in a worker thread; a later turn only
        appends the input to the history, at once."""
        if self.renders_templates:
            return await asyncio.to_thread(self.render)
        return self.render()

    def unrendered(self) -> TurnRequest:
        """The request as far as it is known without rendering: what a failed render records."""
        return TurnRequest(
            turn_id=self.turn_id,
            messages=list(self.history),
            user_input=self.user_input,
            model=settings_model(self.settings),
            settings=request_settings(self.settings),
            variables=dict(self.variables),
        )


def queue_turn(instances: Instances, state: InstanceState, user_input: str | None) -> QueuedTurn:
    """The instance's next turn, checked; refuses what cannot be sent (nothing rendered)."""
    iid = state.id
    if state.is_busy:
        raise InstanceBusyError(iid, state.status)
    if state.prompt is None:
        raise InstanceNotReadyError(iid, f"its prompt is not loaded (status {state.status})")
    if not state.config.allow_chat and state.messages:
        raise ChatNotAllowedError(
            f"prompt instance {iid!r} does not allow chat (allow_chat=False) and has already "
            "run: clear its conversation to run it again"
        )
    layers = attrs.evolve(state.variables, computed=computed_variables(instances.now))
    history = state.messages
    try:
        variables = resolve_prompt_variables(
            state.prompt,
            layers.layers(),
            order=instances.order,
            require=not history and state.config.apply_variables,
        )
    except MissingVariablesError as exc:
        raise InstanceNotReadyError(iid, str(exc), exc.missing) from exc
    if not history and not state.prompt.messages and not user_input and not state.resources:
        # The render would refuse it too; refused here, before the turn is queued.
        raise InstanceNotReadyError(iid, "nothing to send: no template messages and no user input")
    return QueuedTurn(
        iid=iid,
        turn_id=uuid.uuid4().hex,
        prompt=state.prompt,
        variables=variables,
        history=history,
        user_input=user_input or None,
        resources=state.resources,
        settings=state.settings,
        apply_variables=state.config.apply_variables,
    )
