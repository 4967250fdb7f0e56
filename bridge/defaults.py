"""The built-in kinds (prompt, builtin, action, app_revision, evaluator_revision, flow) and
the default bridge over them.

`create_default_bridge(sources={kind: source})` builds each kind's molecule over its
source (an empty in-memory source where none is given); `molecules={kind: molecule}`
plugs in another implementation of a kind's data layer, and `executors={kind: fn}`
another executor. App revisions and evaluators served at a uri run over HTTP; other
evaluators run as the built-in evaluators of `runnable.evaluators.builtins`. Prompts, built-in
prompts and actions need a chat-provider executor, which is not wired in yet: running
them raises `ExecutorNotAvailableError` (a NotImplementedError) naming the kind.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx

from bridge.bridge import RunnableBridge
from bridge.errors import ExecutorNotAvailableError
from bridge.handle import RunnableHandle
from bridge.registry import kind_name
from bridge.types import Executor, RefLike, RunnableType
from molecules import (
    ActionData,
    AppRevisionData,
    EvaluatorRevisionData,
    MoleculeError,
    PromptData,
    Store,
    action_molecule,
    app_revision_molecule,
    builtin_molecule,
    evaluator_revision_molecule,
    prompt_molecule,
)
from molecules.engine import BrokerResolver, ConversationEngine, ScopeSource
from molecules.entities import (
    SharedPresets,
    action_input_ports,
    action_to_runnable,
    app_revision_to_runnable,
    builtin_presets,
    evaluator_input_ports,
    evaluator_output_ports,
    evaluator_revision_to_runnable,
    prompt_input_ports,
    prompt_output_ports,
    prompt_to_runnable,
)
from molecules.entities.flow import FlowData, flow_molecule, flow_to_runnable
from runnable.chat.completion import ChatStreamEvent
from runnable.chat.execution import ChatProviderLike, prompt_executor
from runnable.chat.tool_loop import DEFAULT_MAX_TOOL_ROUNDS
from runnable.evaluators.builtins import run_builtin_evaluator
from runnable.http.invocation import execute_http_runnable
from runnable.sources import InMemorySource, Source
from runnable.tools import ToolRegistry
from runnable.tracking import RunRecorder, RunStore
from runnable.types import ExecutionResult, RunnableData, RunnablePort

__all__ = [
    "BUILTIN_KINDS",
    "action_runnable_type",
    "app_revision_runnable_type",
    "create_default_bridge",
    "evaluator_revision_runnable_type",
    "flow_runnable_type",
    "prompt_runnable_type",
    "runnable_bridge",
    "use_runnable",
]

BUILTIN_KINDS = ("prompt", "builtin", "action", "app_revision", "evaluator_revision", "flow")


def _as(model: type[Any], entity: Any) -> Any:
    return entity if isinstance(entity, model) else model.model_validate(entity)


def not_yet_executor(kind: str, hint: str) -> Executor:
    """An executor that says the kind cannot run yet (raises ExecutorNotAvailableError)."""

    async def execute(runnable: RunnableData, inputs: Mapping[str, Any]) -> Any:
        raise ExecutorNotAvailableError(kind, hint)

    return execute


def http_executor(client: httpx.AsyncClient | None = None) -> Executor:
    """Run a runnable over HTTP: POST its invocation URL (with its config for `/test`)."""

    async def execute(runnable: RunnableData, inputs: Mapping[str, Any]) -> ExecutionResult:
        return await execute_http_runnable(runnable, inputs, client=client)

    return execute


_CHAT_HINT = (
    "it runs through a chat provider: pass create_default_bridge(provider=ChatProvider(...)) "
    "or executors={%r: ...}"
)


def action_executor(
    provider: ChatProviderLike,
    *,
    tools: ToolRegistry | None = None,
    max_tool_rounds: int = DEFAULT_MAX_TOOL_ROUNDS,
) -> Executor:
    """Run a prompt action: its prompt, streaming, with its hardcoded values under the inputs.

    Broker mappings need a caller context (user, org, project) that a bare execution does
    not have; `molecules.engine.start_prompt_action` resolves them for conversations.
    """
    run_prompt = prompt_executor(provider, tools=tools, max_tool_rounds=max_tool_rounds)

    async def execute(
        runnable: RunnableData, inputs: Mapping[str, Any]
    ) -> AsyncIterator[ChatStreamEvent]:
        configuration = runnable.configuration or {}
        prompt = configuration.get("prompt")
        if not isinstance(prompt, Mapping):
            raise ExecutorNotAvailableError(
                "action",
                f"the prompt {configuration.get('prompt_ref')!r} of the action is not loaded",
            )
        values = {**dict(configuration.get("hardcoded_values") or {}), **dict(inputs)}
        async for event in run_prompt(prompt, values):
            yield event

    return execute


def prompt_runnable_type(
    molecule: Any, *, kind: str = "prompt", execute: Executor | None = None
) -> RunnableType:
    """The prompt kind (or, with kind="builtin", built-in prompts) over `molecule`."""
    model: type[PromptData] = getattr(molecule, "model", PromptData)

    def to_runnable(entity: Any) -> RunnableData:
        return prompt_to_runnable(_as(model, entity), kind)

    def input_ports(entity: Any) -> list[RunnablePort]:
        return prompt_input_ports(_as(model, entity))

    def output_ports(entity: Any) -> list[RunnablePort]:
        return prompt_output_ports(_as(model, entity))

    return RunnableType(
        molecule,
        to_runnable,
        input_ports,
        output_ports,
        input_ports=getattr(molecule, "input_ports", None),
        output_ports=getattr(molecule, "output_ports", None),
        schemas=getattr(molecule, "schemas", None),
        configuration=getattr(molecule, "configuration", None),
        execute=execute or not_yet_executor(kind, _CHAT_HINT % kind),
        entity_type=model,
    )


def action_runnable_type(molecule: Any, *, execute: Executor | None = None) -> RunnableType:
    """The prompt-action kind over `molecule` (an ActionMolecule or a look-alike)."""

    async def prepare(store: Store, key: str) -> None:
        action = _as(ActionData, await store.set(molecule.load, key))
        ref = action.prompt
        if ref is None:
            return
        prompts = getattr(molecule, "builtins" if ref.kind == "builtin" else "prompts", None)
        if prompts is not None:
            # The run goes on without it; the action's prompt_query says what is wrong.
            with contextlib.suppress(MoleculeError):
                await store.set(prompts.load, ref.id)

    return RunnableType(
        molecule,
        lambda entity: action_to_runnable(_as(ActionData, entity)),
        lambda entity: action_input_ports(_as(ActionData, entity), []),
        lambda entity: [],
        input_ports=getattr(molecule, "input_ports", None),
        output_ports=getattr(molecule, "output_ports", None),
        schemas=getattr(molecule, "schemas", None),
        configuration=getattr(molecule, "configuration", None),
        execute=execute or not_yet_executor("action", _CHAT_HINT % "action"),
        prepare=prepare,
        entity_type=ActionData,
    )


def app_revision_runnable_type(
    molecule: Any, *, execute: Executor | None = None, http_client: httpx.AsyncClient | None = None
) -> RunnableType:
    """The app-revision kind over `molecule`: ports from OpenAPI, run over HTTP."""

    async def prepare(store: Store, key: str) -> None:
        load_openapi = getattr(molecule, "load_openapi", None)
        if load_openapi is None:
            return
        # Without a document there are no ports to check; the call reports an unreachable app.
        with contextlib.suppress(MoleculeError):
            await store.set(load_openapi, key)

    return RunnableType(
        molecule,
        lambda entity: app_revision_to_runnable(_as(AppRevisionData, entity)),
        lambda entity: [],
        lambda entity: [],
        input_ports=getattr(molecule, "input_ports", None),
        output_ports=getattr(molecule, "output_ports", None),
        invocation_url=getattr(molecule, "invocation_url", None),
        schemas=getattr(molecule, "schemas", None),
        configuration=getattr(molecule, "configuration", None),
        request=getattr(molecule, "request", None),
        execute=execute or http_executor(http_client),
        prepare=prepare,
        entity_type=AppRevisionData,
    )


def evaluator_revision_runnable_type(
    molecule: Any, *, execute: Executor | None = None, http_client: httpx.AsyncClient | None = None
) -> RunnableType:
    """The evaluator-revision kind: served at a uri it runs over HTTP, else built in."""
    over_http = http_executor(http_client)

    async def default_execute(runnable: RunnableData, inputs: Mapping[str, Any]) -> Any:
        if runnable.invocation_url:
            return await over_http(runnable, inputs)
        # Built-in evaluators are pure and quick: no thread needed.
        return run_builtin_evaluator(runnable, inputs)

    return RunnableType(
        molecule,
        lambda entity: evaluator_revision_to_runnable(_as(EvaluatorRevisionData, entity)),
        lambda entity: evaluator_input_ports(_as(EvaluatorRevisionData, entity)),
        lambda entity: evaluator_output_ports(_as(EvaluatorRevisionData, entity)),
        input_ports=getattr(molecule, "input_ports", None),
        output_ports=getattr(molecule, "output_ports", None),
        invocation_url=getattr(molecule, "invocation_url", None),
        schemas=getattr(molecule, "schemas", None),
        configuration=getattr(molecule, "configuration", None),
        execute=execute or default_execute,
        extra_selectors={},
        entity_type=EvaluatorRevisionData,
    )


def flow_runnable_type(molecule: Any, *, execute: Executor | None = None) -> RunnableType:
    """The flow kind over `molecule`: steps of action refs, run with `bridge.run_flow`."""
    return RunnableType(
        molecule,
        lambda entity: flow_to_runnable(_as(FlowData, entity)),
        lambda entity: [],
        lambda entity: [],
        execute=execute
        or not_yet_executor(
            "flow", "a flow runs step by step: bridge.run_flow(ref, store=...) runs it"
        ),
        extra_selectors={"flow": molecule.flow} if hasattr(molecule, "flow") else {},
        entity_type=FlowData,
    )


def _check_kinds(what: str, given: Mapping[str, Any]) -> None:
    unknown = sorted(set(given) - set(BUILTIN_KINDS))
    if unknown:
        raise ValueError(
            f"create_default_bridge: unknown kind(s) in {what}: {', '.join(unknown)}; "
            f"the built-in kinds are {', '.join(BUILTIN_KINDS)}"
        )


def create_default_bridge(
    sources: Mapping[str, Source] | None = None,
    *,
    molecules: Mapping[str, Any] | None = None,
    executors: Mapping[str, Executor] | None = None,
    http_client: httpx.AsyncClient | None = None,
    evaluator_presets: SharedPresets | None = builtin_presets,
    provider: ChatProviderLike | None = None,
    run_store: RunStore | None = None,
    brokers: BrokerResolver | None = None,
    scoped_sources: Mapping[str, ScopeSource] | None = None,
    tools: ToolRegistry | None = None,
    max_tool_rounds: int = DEFAULT_MAX_TOOL_ROUNDS,
) -> RunnableBridge:
    """A bridge with the five built-in kinds (see the module docstring).

    With `provider` (a `ChatProvider`), prompts, built-in prompts and actions run through
    it, streaming, unless `executors` names their own. With `run_store`, every execution
    is recorded there (`execute`, `stream`, chains, datasets and conversation turns).
    `bridge.conversations` is a `ConversationEngine` over the same prompt, built-in and
    action sources (and `provider`, `run_store`, `brokers`, `scoped_sources`): prompts run
    as multi-turn conversations whose every turn is recorded. With `tools` (a
    `runnable.tools.ToolRegistry`), prompts and conversations may call its functions, up
    to `max_tool_rounds` rounds of calls per execution or turn.
    """
    given_sources = {kind_name(k, BUILTIN_KINDS): v for k, v in (sources or {}).items()}
    molecules = {kind_name(k, BUILTIN_KINDS): v for k, v in (molecules or {}).items()}
    executors = {kind_name(k, BUILTIN_KINDS): v for k, v in (executors or {}).items()}
    if max_tool_rounds < 0:
        raise ValueError(f"max_tool_rounds must be 0 or more, got {max_tool_rounds}")
    if provider is not None:
        run_prompt = prompt_executor(provider, tools=tools, max_tool_rounds=max_tool_rounds)
        executors.setdefault("prompt", run_prompt)
        executors.setdefault("builtin", run_prompt)
        executors.setdefault(
            "action", action_executor(provider, tools=tools, max_tool_rounds=max_tool_rounds)
        )
    for what, given in (
        ("sources", given_sources),
        ("molecules", molecules),
        ("executors", executors),
    ):
        _check_kinds(what, given)

    def source(kind: str) -> Source:
        return given_sources[kind] if kind in given_sources else InMemorySource(name=kind)

    def molecule(kind: str, make: Callable[[], Any]) -> Any:
        return molecules[kind] if kind in molecules else make()

    prompts = molecule("prompt", lambda: prompt_molecule(source("prompt")))
    builtins = molecule("builtin", lambda: builtin_molecule(source("builtin")))
    actions = molecule(
        "action", lambda: action_molecule(source("action"), prompts=prompts, builtins=builtins)
    )
    apps = molecule(
        "app_revision",
        lambda: app_revision_molecule(source("app_revision"), http_client=http_client),
    )
    flows = molecule("flow", lambda: flow_molecule(source("flow")))
    evaluators = molecule(
        "evaluator_revision",
        lambda: evaluator_revision_molecule(
            source("evaluator_revision"), presets=evaluator_presets
        ),
    )
    bridge = RunnableBridge(
        {
            "prompt": prompt_runnable_type(prompts, execute=executors.get("prompt")),
            "builtin": prompt_runnable_type(
                builtins, kind="builtin", execute=executors.get("builtin")
            ),
            "action": action_runnable_type(actions, execute=executors.get("action")),
            "app_revision": app_revision_runnable_type(
                apps, execute=executors.get("app_revision"), http_client=http_client
            ),
            "evaluator_revision": evaluator_revision_runnable_type(
                evaluators, execute=executors.get("evaluator_revision"), http_client=http_client
            ),
            "flow": flow_runnable_type(flows, execute=executors.get("flow")),
        }
    )
    if run_store is not None:
        bridge.recorder = RunRecorder(run_store)
    bridge.conversations = ConversationEngine(
        prompts=source("prompt"),
        builtins=source("builtin"),
        actions=source("action"),
        molecules={"prompt": prompts, "builtin": builtins, "action": actions},
        provider=provider,
        run_store=run_store,
        brokers=brokers,
        scoped_sources=scoped_sources,
        tools=tools,
        max_tool_rounds=max_tool_rounds,
    )
    return bridge


runnable_bridge: RunnableBridge = create_default_bridge()
"""The default bridge: the built-in kinds over empty in-memory sources (data lives in stores)."""


def use_runnable(
    ref: RefLike, store: Store, *, bridge: RunnableBridge | None = None
) -> RunnableHandle:
    """A handle on `ref` ("kind:id", a RunnableRef...; camelCase kinds too) in `store`.

    `bridge` defaults to the default bridge (`runnable_bridge`). A ref naming an unknown
    kind raises `UnknownRunnableTypeError` here, not at first use.
    """
    return (bridge or runnable_bridge).use_runnable(ref, store)
