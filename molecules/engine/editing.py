"""Editing actions: variables, input, messages, resources, settings, config, UI flags, runs,
and removing an instance. Each folds one event synchronously.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import attrs

from molecules.core.atom import Getter, Setter
from molecules.engine import outside
from molecules.engine.errors import InstanceBusyError, ResourceNotFoundError
from molecules.engine.events import (
    ConfigChanged,
    ConversationCleared,
    InputSet,
    InstanceEvent,
    MessageAdded,
    ResourcesChanged,
    RunEnded,
    RunLinked,
    SettingsChanged,
    ShowVariablesSet,
    VariableExpanded,
    VariablesChanged,
)
from molecules.engine.instances import Instances
from molecules.engine.run_recorder import end_run
from molecules.engine.state import ExecutionConfig, InstanceState, TurnStats
from runnable.messages import ChatMessage, Resource

logger = logging.getLogger(__name__)


def _fold(
    instances: Instances, get: Getter, set: Setter, iid: str, event: InstanceEvent
) -> InstanceState:
    instances.require(get, iid)
    state = instances.emit(get, set, iid, event)
    assert state is not None
    return state


def _idle(instances: Instances, get: Getter, iid: str, doing: str) -> InstanceState:
    state = instances.require(get, iid)
    if state.is_busy:
        raise InstanceBusyError(iid, f"{state.status}; cannot {doing} now")
    return state


def write_update_variable(
    instances: Instances, get: Getter, set: Setter, iid: str, name: str, value: Any
) -> None:
    """Set one user variable (None removes the user's value)."""
    write_update_variables(instances, get, set, iid, {name: value})


def write_update_variables(
    instances: Instances, get: Getter, set: Setter, iid: str, values: Mapping[str, Any]
) -> None:
    """Set several user variables at once."""
    bad = [name for name in values if not isinstance(name, str) or not name]
    if bad:
        raise ValueError(f"variable names must be non-empty strings, got {bad!r}")
    _fold(instances, get, set, iid, VariablesChanged(dict(values)))


def write_set_current_input(
    instances: Instances, get: Getter, set: Setter, iid: str, text: str
) -> None:
    """Set the text of the next message."""
    if not isinstance(text, str):
        raise TypeError(f"the input must be a str, got {type(text).__name__}")
    _fold(instances, get, set, iid, InputSet(text))


def write_add_message(
    instances: Instances,
    get: Getter,
    set: Setter,
    iid: str,
    message: ChatMessage | Mapping[str, Any],
) -> None:
    """Append a message to the conversation (not while a turn is in flight)."""
    _idle(instances, get, iid, "add a message")
    parsed = message if isinstance(message, ChatMessage) else ChatMessage.model_validate(message)
    _fold(instances, get, set, iid, MessageAdded(parsed))


def write_clear_conversation(
    instances: Instances, get: Getter, set: Setter, iid: str
) -> asyncio.Task[bool] | None:
    """Start over: the run so far gets its final status, the next turn starts a new run."""
    state = _idle(instances, get, iid, "clear the conversation")
    ending = _end_run_later(instances, state)
    _fold(instances, get, set, iid, ConversationCleared())
    return ending


def write_end_run(
    instances: Instances, get: Getter, set: Setter, iid: str
) -> asyncio.Task[bool] | None:
    """Give the linked run its final status now (the conversation stays)."""
    state = _idle(instances, get, iid, "end the run")
    ending = _end_run_later(instances, state)
    if state.run_id is not None:
        _fold(instances, get, set, iid, RunEnded(state.run_id))
    return ending


def _end_run_later(
    instances: Instances, state: InstanceState, after: asyncio.Task[Any] | None = None
) -> asyncio.Task[bool] | None:
    store = instances.run_store
    if store is None or state.run_id is None or state.run_ended:
        return None

    async def finish() -> bool:
        if after is not None:
            await asyncio.wait([after])
        try:
            return await end_run(store, state)
        except Exception as exc:
            logger.warning("could not end run %s: %s", state.run_id, exc)
            return False

    return instances.spawn(finish(), name=f"end run {state.run_id}")


def write_set_run_id(
    instances: Instances,
    get: Getter,
    set: Setter,
    iid: str,
    run_id: str | None,
    run_name: str | None = None,
) -> None:
    """Record the next turns in this run (None: a new run on the next turn)."""
    _idle(instances, get, iid, "change the run")
    _fold(instances, get, set, iid, RunLinked(run_id, run_name))


def write_remove_instance(
    instances: Instances, get: Getter, set: Setter, iid: str
) -> asyncio.Task[bool] | None:
    """Remove the instance (cancelling its turn); returns the task ending its run, if any."""
    state = get(instances.state(iid)) if iid in instances.state else None
    if state is None:
        return None
    control = get(instances.turn_control(iid))
    running = control.task if control is not None else None
    if running is not None and not running.done():
        assert control is not None
        control.cancel_requested = True
        running.cancel()
    else:
        running = None
    instances.unregister(get, set, state)
    if state.turn is not None:
        # The turn in flight ends cancelled: the run's final status says so.
        state = attrs.evolve(state, last_turn=TurnStats(state.turn.turn_id, "cancelled"))
    return _end_run_later(instances, state, running)


def _resources(instances: Instances, get: Getter, iid: str) -> list[Resource]:
    return list(instances.require(get, iid).resources)


def _check(iid: str, resources: list[Resource], index: int) -> None:
    if not -len(resources) <= index < len(resources):
        raise ResourceNotFoundError(iid, index, len(resources))


def write_add_resource(
    instances: Instances,
    get: Getter,
    set: Setter,
    iid: str,
    resource: Resource | Mapping[str, Any],
) -> int:
    """Attach a resource to the next message; returns its position."""
    resources = _resources(instances, get, iid)
    parsed = resource if isinstance(resource, Resource) else Resource.model_validate(resource)
    resources.append(parsed)
    _fold(instances, get, set, iid, ResourcesChanged(tuple(resources)))
    return len(resources) - 1


def write_update_resource(
    instances: Instances,
    get: Getter,
    set: Setter,
    iid: str,
    index: int,
    changes: Mapping[str, Any],
) -> None:
    """Change fields of the resource at `index`."""
    resources = _resources(instances, get, iid)
    _check(iid, resources, index)
    resources[index] = Resource.model_validate({**resources[index].model_dump(), **changes})
    _fold(instances, get, set, iid, ResourcesChanged(tuple(resources)))


def write_remove_resource(
    instances: Instances, get: Getter, set: Setter, iid: str, index: int
) -> None:
    """Detach the resource at `index`."""
    resources = _resources(instances, get, iid)
    _check(iid, resources, index)
    del resources[index]
    _fold(instances, get, set, iid, ResourcesChanged(tuple(resources)))


def write_keep_resource(
    instances: Instances, get: Getter, set: Setter, iid: str, index: int, keep: bool = True
) -> None:
    """Keep the resource at `index` on every later turn of the conversation (or stop)."""
    write_update_resource(instances, get, set, iid, index, {"keep": keep})


def write_clear_resources(instances: Instances, get: Getter, set: Setter, iid: str) -> None:
    """Detach every resource."""
    _fold(instances, get, set, iid, ResourcesChanged(()))


def write_update_settings(
    instances: Instances, get: Getter, set: Setter, iid: str, changes: Mapping[str, Any]
) -> None:
    """Edit the model settings (None removes a setting)."""
    _fold(instances, get, set, iid, SettingsChanged(dict(changes)))


def write_update_execution_config(
    instances: Instances, get: Getter, set: Setter, iid: str, changes: Mapping[str, Any]
) -> ExecutionConfig:
    """Change fields of the execution config; returns the new config."""
    config = instances.require(get, iid).config
    updated = ExecutionConfig.model_validate({**config.model_dump(), **changes})
    _fold(instances, get, set, iid, ConfigChanged(updated))
    return updated


def write_set_auto_run(
    instances: Instances, get: Getter, set: Setter, iid: str, auto_run: bool
) -> None:
    """Turn auto-run on or off (it starts the first turn when the instance loads)."""
    write_update_execution_config(instances, get, set, iid, {"auto_run": auto_run})


def write_set_show_variables(
    instances: Instances, get: Getter, set: Setter, iid: str, show: bool
) -> None:
    """Show or hide the variables panel."""
    _fold(instances, get, set, iid, ShowVariablesSet(show))


def write_toggle_show_variables(instances: Instances, get: Getter, set: Setter, iid: str) -> bool:
    """Flip the variables panel; returns whether it is now shown."""
    show = not instances.require(get, iid).show_variables
    _fold(instances, get, set, iid, ShowVariablesSet(show))
    return show


def write_set_expanded_variable(
    instances: Instances, get: Getter, set: Setter, iid: str, name: str | None
) -> None:
    """Open the editor of one variable (None closes it)."""
    _fold(instances, get, set, iid, VariableExpanded(name))


def write_toggle_expanded_variable(
    instances: Instances, get: Getter, set: Setter, iid: str, name: str
) -> str | None:
    """Open `name`'s editor, or close it when it is the open one; returns the open one."""
    current = instances.require(get, iid).expanded_variable
    opened = None if current == name else name
    _fold(instances, get, set, iid, VariableExpanded(opened))
    return opened


def write_apply_event(
    instances: Instances, get: Getter, set: Setter, iid: str, event: InstanceEvent
) -> InstanceState:
    """Fold any event (a turn streamed elsewhere, a replayed log) into the instance; a turn
    it ends that the engine was not running is recorded in the run store."""
    return outside.fold(instances, get, set, iid, event)
