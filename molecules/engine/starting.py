"""Starting instances: `start_prompt_instance` and the loading every start shares.

A start is synchronous first: the instance exists (status `initializing`) when the call
returns, so a UI can subscribe at once. The returned task then loads the prompt (by id,
cached, or given as an object), the run to continue (its conversation, totals and the
user's variables come back from the run store; a run of a prompt that was given as an
object continues with its recorded settings), and the context's scoped variables; the
instance becomes `ready`, or `error` with the reason (and the task raises it). With
`auto_run`, a ready instance runs its first turn (the initial message) at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from molecules.core.atom import Getter, Setter
from molecules.engine import expiry
from molecules.engine.context import ScopeContext
from molecules.engine.errors import EngineConfigError, EngineError, InstanceExistsError
from molecules.engine.events import InstanceCreated, InstanceFailed, InstanceLoaded
from molecules.engine.instances import Instances
from molecules.engine.run_recorder import LoadedRun, load_run
from molecules.engine.state import ExecutionConfig, InstanceState, Totals, VariableLayers
from molecules.engine.turns import write_execute_message
from runnable.chat.execution import PromptSpec
from runnable.chat.request import prompt_variables
from runnable.errors import TemplateError
from runnable.messages import Resource
from runnable.tracking import REDACTED
from runnable.types import RunnableRef, error_info
from runnable.variables import computed_variables

logger = logging.getLogger(__name__)

PromptInput = str | RunnableRef | PromptSpec | BaseModel | Mapping[str, Any] | None
"""A prompt id ("p1", "prompt:p1", "builtin:b1"), a ref, or the prompt itself."""


class StartOptions(BaseModel):
    """How to start an instance (every field is optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance_id: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    initial_message: str | None = None
    run_id: str | None = None
    run_name: str | None = None
    config: ExecutionConfig = Field(default_factory=ExecutionConfig)
    context: ScopeContext = Field(default_factory=ScopeContext)
    settings: dict[str, Any] = Field(default_factory=dict)
    resources: list[Resource] = Field(default_factory=list)
    refresh: bool = False

    @classmethod
    def of(cls, value: StartOptions | Mapping[str, Any] | None) -> StartOptions:
        """`value` as options (None: the defaults)."""
        if value is None:
            return cls()
        return value if isinstance(value, StartOptions) else cls.model_validate(dict(value))


def _ref_text(prompt: PromptInput) -> str | None:
    if isinstance(prompt, str | RunnableRef):
        return str(RunnableRef.parse(prompt))
    return None


def begin_instance(
    instances: Instances, get: Getter, set: Setter, prompt: PromptInput, options: StartOptions
) -> str:
    """Create the instance (status `initializing`) and return its id."""
    iid = options.instance_id or uuid.uuid4().hex
    if iid in instances.state and get(instances.state(iid)) is not None:
        raise InstanceExistsError(f"a prompt instance with id {iid!r} already exists")
    instances.register(get, set, InstanceState(id=iid))
    expiry.watch(instances, get, set)
    instances.emit(
        get, set, iid, InstanceCreated(_ref_text(prompt), options.config, options.context)
    )
    return iid


def write_start_prompt_instance(
    instances: Instances,
    get: Getter,
    set: Setter,
    prompt: PromptInput,
    options: StartOptions | Mapping[str, Any] | None = None,
) -> asyncio.Task[str]:
    """Start an instance of `prompt` (or of the prompt of `options.run_id`)."""
    opts = StartOptions.of(options)
    if prompt is None and opts.run_id is None:
        raise EngineConfigError("start_prompt_instance needs a prompt, or a run_id to continue")
    if opts.run_id is not None and instances.run_store is None:
        raise EngineConfigError("continuing a run needs an engine with a run_store")
    iid = begin_instance(instances, get, set, prompt, opts)
    return instances.spawn(load_instance(instances, get, set, iid, prompt, opts), name=iid)


async def _prompt(
    instances: Instances, get: Getter, set: Setter, prompt: PromptInput, refresh: bool
) -> tuple[PromptSpec, str | None]:
    if isinstance(prompt, str | RunnableRef):
        return await instances.entities.prompt(get, set, prompt, refresh=refresh)
    if prompt is None:  # pragma: no cover - load_instance handles a run without a prompt
        raise EngineConfigError("start_prompt_instance needs a prompt, or a run_id to continue")
    return PromptSpec.of(prompt), None


def _read_templates(spec: PromptSpec) -> None:
    with contextlib.suppress(TemplateError):  # a turn reports it when it renders
        prompt_variables(spec, strict=True)


def _recorded_settings(loaded: LoadedRun | None) -> dict[str, Any]:
    if loaded is None:
        return {}
    return {key: value for key, value in loaded.run.settings.items() if value != REDACTED}


async def load_instance(
    instances: Instances,
    get: Getter,
    set: Setter,
    iid: str,
    prompt: PromptInput | tuple[PromptSpec, str | None],
    options: StartOptions,
    *,
    hardcoded: Mapping[str, Any] | None = None,
    broker: Mapping[str, Any] | None = None,
) -> str:
    """Load what the instance needs and make it ready (see the module docstring)."""
    emit = instances.emitter_for(set, iid)
    try:
        loaded = None
        if options.run_id is not None:
            assert instances.run_store is not None
            loaded = await load_run(instances.run_store, options.run_id)
            if prompt is None:
                prompt = loaded.run.runnable_ref
        if isinstance(prompt, tuple):
            spec, ref = prompt
        elif prompt is None and loaded is not None:
            # A prompt given as an object is not in any source. Later turns send the history
            # as it is, so the recorded settings are all the conversation needs.
            spec = PromptSpec(name=loaded.run.name, settings=_recorded_settings(loaded))
            ref = None
        else:
            spec, ref = await _prompt(instances, get, set, prompt, options.refresh)
        # jinja2 parses and compiles a template once, then caches it: do it here, in a
        # worker thread, so the checks a turn makes in its synchronous store write (the
        # variables it needs) only read the cache.
        await asyncio.to_thread(_read_templates, spec)
        scoped: Mapping[str, Mapping[str, Any]] = {}
        if instances.scoped.sources:
            scoped = await instances.scoped.load(get, set, options.context)
        variables = VariableLayers(
            user={**(loaded.user_variables if loaded else {}), **options.variables},
            hardcoded=dict(hardcoded or {}),
            broker=dict(broker or {}),
            scoped=scoped,
            computed=computed_variables(instances.now),
        )
        event = InstanceLoaded(
            prompt=spec,
            prompt_ref=ref,
            settings={**spec.settings, **_recorded_settings(loaded), **options.settings},
            variables=variables,
            current_input=options.initial_message or (loaded.pending_input if loaded else ""),
            resources=tuple(options.resources),
            messages=loaded.messages if loaded else (),
            totals=loaded.totals if loaded else Totals(),
            turns_started=loaded.turns if loaded else 0,
            run_id=loaded.run.id if loaded else None,
            run_name=(loaded.run.name if loaded else None) or options.run_name,
            run_ended=loaded.run.is_terminal if loaded else False,
        )
    except Exception as exc:
        emit(InstanceFailed(error_info(exc)))
        raise
    emit(event)
    if options.config.auto_run:
        _auto_run(instances, get, set, iid)
    return iid


def _auto_run(instances: Instances, get: Getter, set: Setter, iid: str) -> None:
    state = get(instances.state(iid)) if iid in instances.state else None
    if state is None or state.messages:
        return
    try:
        # One store write, as `store.set(engine.actions.execute_message, ...)` makes.
        set(instances.writer, partial(write_execute_message, instances), iid, None)
    except EngineError as exc:
        # Not ready (a variable is missing): the instance waits for the user instead.
        logger.info("auto_run of prompt instance %s did not start: %s", iid, exc)
