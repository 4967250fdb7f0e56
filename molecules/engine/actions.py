"""The engine's actions: write-only atoms, called with `store.set(action, *args)`.

Arguments after the instance id (`iid`), and what `store.set` returns:

- `start_prompt_instance(prompt, options=None)`: prompt id, ref or object (None with
  `options.run_id`) -> Task of the instance id.
- `start_prompt_action(action_id, options=None)` -> Task of an `ActionStart`.
- `execute_message(iid, text=None)` (the current input, `text` appended after a blank
  line; the input box is then empty) -> Task of an
  `ExecutionResult`.
- `cancel(iid)`, `complete_execution(iid, response_text=None, stats=None)` -> the turn's
  Task, or None (a turn driven from outside ends at once, and is recorded).
- `create_instance(state)` (an `InstanceState` or a mapping of its fields) -> its id;
  `set_instance_status(iid, status, error=None)`, `start_streaming(iid)` -> None;
  `start_execution(iid, task_id=None)` -> Task of the turn id (a turn the caller runs;
  done once its request is rendered, in a worker thread).
- `approve_tool_call(iid, call_id, approved, result=None)` -> the turn's Task (the turn
  goes on once no call awaits approval).
- `update_variable(iid, name, value)`, `update_variables(iid, values)`,
  `set_current_input(iid, text)`, `add_message(iid, message)` -> None.
- `clear_conversation(iid)`, `end_run(iid)`, `remove_instance(iid)` -> the Task that
  gives the run its final status, or None.
- `add_resource(iid, resource)` -> its index; `update_resource(iid, index, changes)`,
  `remove_resource(iid, index)`, `keep_resource(iid, index, keep=True)`,
  `clear_resources(iid)` -> None.
- `set_run_id(iid, run_id, run_name=None)`, `update_settings(iid, changes)`,
  `set_auto_run(iid, flag)` -> None; `update_execution_config(iid, changes)` -> the config.
- `set_show_variables(iid, show)`, `toggle_show_variables(iid)`,
  `set_expanded_variable(iid, name)`, `toggle_expanded_variable(iid, name)` -> new value.
- `remove_expired_instances()` -> the ids of the instances it removed (see `instance_ttl`).
- `load_scoped_variables(context)`, `refresh_scoped_variables(context)` -> Task of the
  values by scope.
- `apply_event(iid, event)` -> the new state (a turn it ends that the engine was not
  running is recorded in the run store).

Synchronous checks raise at once (`InstanceBusyError`, `InstanceNotReadyError`...); tasks
run whether or not they are awaited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from molecules.core.atom import Atom, Getter, Setter, derived
from molecules.engine import driving, editing, expiry, prompt_action, starting, tool_loop, turns
from molecules.engine.context import ScopeContext
from molecules.engine.events import ScopedVariablesLoaded
from molecules.engine.instances import Instances
from molecules.engine.scoped import ScopedValues


class EngineActions:
    """Every action of a `ConversationEngine` (see the module docstring)."""

    def __init__(self, instances: Instances) -> None:
        def action(name: str, write: Callable[..., Any]) -> Atom[None]:
            return derived(write=partial(write, instances), name=f"engine.{name}")

        self.start_prompt_instance = action(
            "start_prompt_instance", starting.write_start_prompt_instance
        )
        self.start_prompt_action = action(
            "start_prompt_action", prompt_action.write_start_prompt_action
        )
        self.execute_message = action("execute_message", turns.write_execute_message)
        self.cancel = action("cancel", turns.write_cancel)
        self.complete_execution = action("complete_execution", turns.write_complete_execution)
        self.approve_tool_call = action("approve_tool_call", tool_loop.write_approve_tool_call)
        self.update_variable = action("update_variable", editing.write_update_variable)
        self.update_variables = action("update_variables", editing.write_update_variables)
        self.set_current_input = action("set_current_input", editing.write_set_current_input)
        self.add_message = action("add_message", editing.write_add_message)
        self.clear_conversation = action("clear_conversation", editing.write_clear_conversation)
        self.end_run = action("end_run", editing.write_end_run)
        self.remove_instance = action("remove_instance", editing.write_remove_instance)
        self.add_resource = action("add_resource", editing.write_add_resource)
        self.update_resource = action("update_resource", editing.write_update_resource)
        self.remove_resource = action("remove_resource", editing.write_remove_resource)
        self.keep_resource = action("keep_resource", editing.write_keep_resource)
        self.clear_resources = action("clear_resources", editing.write_clear_resources)
        self.set_run_id = action("set_run_id", editing.write_set_run_id)
        self.update_settings = action("update_settings", editing.write_update_settings)
        self.update_execution_config = action(
            "update_execution_config", editing.write_update_execution_config
        )
        self.set_auto_run = action("set_auto_run", editing.write_set_auto_run)
        self.set_show_variables = action("set_show_variables", editing.write_set_show_variables)
        self.toggle_show_variables = action(
            "toggle_show_variables", editing.write_toggle_show_variables
        )
        self.set_expanded_variable = action(
            "set_expanded_variable", editing.write_set_expanded_variable
        )
        self.toggle_expanded_variable = action(
            "toggle_expanded_variable", editing.write_toggle_expanded_variable
        )
        self.apply_event = action("apply_event", editing.write_apply_event)
        self.create_instance = action("create_instance", driving.write_create_instance)
        self.set_instance_status = action("set_instance_status", driving.write_set_instance_status)
        self.start_execution = action("start_execution", driving.write_start_execution)
        self.start_streaming = action("start_streaming", driving.write_start_streaming)
        self.remove_expired_instances = action(
            "remove_expired_instances", expiry.write_remove_expired
        )
        self.load_scoped_variables = action("load_scoped_variables", _write_load_scoped)
        self.refresh_scoped_variables = action("refresh_scoped_variables", _write_refresh_scoped)


def _write_load_scoped(
    instances: Instances,
    get: Getter,
    set: Setter,
    context: ScopeContext | Mapping[str, Any] | None,
) -> asyncio.Task[ScopedValues]:
    """The context's scoped variables (cached for the engine's scoped ttl)."""
    ctx = ScopeContext.of(dict(context) if isinstance(context, Mapping) else context)
    return instances.spawn(instances.scoped.load(get, set, ctx))


def _write_refresh_scoped(
    instances: Instances,
    get: Getter,
    set: Setter,
    context: ScopeContext | Mapping[str, Any] | None,
) -> asyncio.Task[ScopedValues]:
    """Fetch the context's scoped variables again and hand them to its instances."""
    ctx = ScopeContext.of(dict(context) if isinstance(context, Mapping) else context)

    async def refresh() -> ScopedValues:
        values = await instances.scoped.load(get, set, ctx, refresh=True)
        for iid in get(instances.instance_ids):
            state = get(instances.state(iid))
            if state is not None and state.context == ctx:
                set(instances.emitter, iid, ScopedVariablesLoaded(values))
        return values

    return instances.spawn(refresh())
