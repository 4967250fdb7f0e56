"""`start_prompt_action`: start an instance from a prompt action, with its brokers resolved.

A prompt action names a prompt (`prompt_ref`), fixes some variables (`hardcoded_values`)
and takes others from the caller's context through brokers (`broker_mappings`). Starting
one loads the action and its prompt (both cached per store), resolves the brokers for the
context with the engine's `BrokerResolver`, loads the context's scoped variables, and
starts an instance whose layers are: the caller's values (user) > hardcoded > broker >
scoped > the prompt's defaults. A broker that fails or has no value does not stop the
action; the returned `ActionStart` says how many brokers resolved and, for each variable
whose broker did not, which layer supplied it instead (None: no layer did).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import attrs
from pydantic import BaseModel, ConfigDict, Field

from molecules.core.atom import Getter, Setter
from molecules.engine.brokers import broker_mappings, resolve_brokers
from molecules.engine.context import ScopeContext
from molecules.engine.errors import EngineConfigError
from molecules.engine.events import InstanceFailed
from molecules.engine.instances import Instances
from molecules.engine.selectors import merge_variables
from molecules.engine.starting import StartOptions, begin_instance, load_instance
from molecules.engine.state import ExecutionConfig
from runnable.types import ErrorInfo, error_info


class ActionStartOptions(BaseModel):
    """How to start a prompt action (every field is optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance_id: str | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    context: ScopeContext = Field(default_factory=ScopeContext)
    initial_message: str | None = None
    run_id: str | None = None
    run_name: str | None = None
    config: ExecutionConfig = Field(default_factory=ExecutionConfig)
    refresh: bool = False

    @classmethod
    def of(cls, value: ActionStartOptions | Mapping[str, Any] | None) -> ActionStartOptions:
        """`value` as options (None: the defaults)."""
        if value is None:
            return cls()
        return value if isinstance(value, ActionStartOptions) else cls.model_validate(dict(value))


@attrs.frozen(slots=True)
class ActionStart:
    """What starting a prompt action did."""

    instance_id: str
    brokers_total: int
    brokers_resolved: int
    all_brokers_resolved: bool
    fallbacks: Mapping[str, str | None]
    """Variables whose broker gave nothing -> the layer that supplied them (None: none)."""
    broker_error: ErrorInfo | None = None


def write_start_prompt_action(
    instances: Instances,
    get: Getter,
    set: Setter,
    action_id: str,
    options: ActionStartOptions | Mapping[str, Any] | None = None,
) -> asyncio.Task[ActionStart]:
    """Start an instance of the prompt action `action_id`."""
    opts = ActionStartOptions.of(options)
    if opts.run_id is not None and instances.run_store is None:
        raise EngineConfigError("continuing a run needs an engine with a run_store")
    start = StartOptions(
        instance_id=opts.instance_id,
        variables=opts.values,
        initial_message=opts.initial_message,
        run_id=opts.run_id,
        run_name=opts.run_name,
        config=opts.config,
        context=opts.context,
        refresh=opts.refresh,
    )
    iid = begin_instance(instances, get, set, None, start)
    return instances.spawn(_start_action(instances, get, set, iid, action_id, start), name=iid)


async def _start_action(
    instances: Instances,
    get: Getter,
    set: Setter,
    iid: str,
    action_id: str,
    options: StartOptions,
) -> ActionStart:
    try:
        action = await instances.entities.action(get, set, action_id, refresh=options.refresh)
        prompt_ref = action.get("prompt_ref")
        if not prompt_ref:
            raise EngineConfigError(f"prompt action {action_id!r} has no prompt_ref")
        prompt = await instances.entities.prompt(get, set, prompt_ref, refresh=options.refresh)
        mappings = broker_mappings(action.get("broker_mappings"))
        hardcoded = dict(action.get("hardcoded_values") or {})
    except Exception as exc:
        instances.emitter_for(set, iid)(InstanceFailed(error_info(exc)))
        raise
    resolution = await resolve_brokers(instances.brokers, mappings, options.context)
    await load_instance(
        instances, get, set, iid, prompt, options, hardcoded=hardcoded, broker=resolution.values
    )
    state = get(instances.state(iid)) if iid in instances.state else None
    merged = (
        {} if state is None else merge_variables(state.prompt, state.variables, instances.order)
    )
    fallbacks = {
        name: merged[name].source if name in merged else None for name in resolution.unresolved
    }
    return ActionStart(
        instance_id=iid,
        brokers_total=len(mappings),
        brokers_resolved=len(resolution.values),
        all_brokers_resolved=not resolution.unresolved,
        fallbacks=fallbacks,
        broker_error=resolution.error,
    )
