"""start_prompt_action: cached loads, brokers through a resolver, hardcoded and caller values."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from molecules import Store
from molecules.engine import (
    ActionStart,
    ConversationEngine,
    MappingBrokerResolver,
    PromptEntityNotFoundError,
    ScopeContext,
    broker_mappings,
)
from runnable.sources import InMemorySource, SqlSource
from tests.db_fixtures import Database
from tests.molecules.engine.conftest import BUILTINS, PROMPTS
from tests.servers.fixtures import ChatServer

MakeEngine = Callable[..., ConversationEngine]

ACTIONS: dict[str, dict[str, Any]] = {
    "support": {
        "name": "Support reply",
        "prompt_ref": "prompt:support",
        "broker_mappings": {"customer": "crm.customer", "plan": "billing.plan"},
        "hardcoded_values": {"tone": "kind"},
    },
    "summary": {"prompt_ref": "builtin:summarise", "hardcoded_values": {"text": "fixed"}},
}
SUPPORT = {
    "name": "Support",
    "messages": [{"role": "user", "content": "{{customer}} on {{plan}} asks, {{tone}}: {{q}}"}],
    "settings": {"model": "gpt-4o-mini"},
    "variable_defaults": {"plan": "free"},
}
ADA = ScopeContext(user_id="ada", org_id="acme")
ACTIONS_VARS = {"customer", "plan", "tone", "q"}


class CountingSource(InMemorySource):
    """An in-memory source that counts `get` calls."""

    def __init__(self, entities: Mapping[str, Mapping[str, Any]]) -> None:
        super().__init__(entities)
        self.gets: list[str] = []

    async def get(self, id: str) -> dict[str, Any] | None:
        self.gets.append(id)
        return await super().get(id)


class FailingResolver:
    """A broker resolver whose backend is down."""

    async def resolve(self, broker_ids: Sequence[str], context: ScopeContext) -> Mapping[str, Any]:
        raise ConnectionError("broker service unreachable")


def engine_with(make_engine: MakeEngine, **overrides: Any) -> ConversationEngine:
    options: dict[str, Any] = {
        "prompts": InMemorySource({**PROMPTS, "support": SUPPORT}),
        "actions": InMemorySource(ACTIONS),
    }
    options.update(overrides)
    return make_engine(**options)


async def start_action(
    store: Store, engine: ConversationEngine, action_id: str, **options: Any
) -> ActionStart:
    started: ActionStart = await store.set(engine.actions.start_prompt_action, action_id, options)
    return started


async def test_brokers_hardcoded_and_caller_values_fill_their_layers(
    make_engine: MakeEngine, store: Store
) -> None:
    brokers = MappingBrokerResolver(
        lambda ctx: {"crm.customer": f"customer of {ctx.user_id}", "billing.plan": "pro"}
    )
    engine = engine_with(make_engine, brokers=brokers)
    started = await start_action(store, engine, "support", context=ADA, values={"q": "refund?"})
    assert (started.brokers_total, started.brokers_resolved, started.all_brokers_resolved) == (
        2,
        2,
        True,
    )
    merged = store.get(engine.selectors.merged_variables(started.instance_id))
    assert {n: (v.value, v.source) for n, v in merged.items() if n in ACTIONS_VARS} == {
        "customer": ("customer of ada", "broker"),
        "plan": ("pro", "broker"),
        "tone": ("kind", "hardcoded"),
        "q": ("refund?", "user"),
    }
    assert store.get(engine.selectors.is_ready(started.instance_id)) is True


async def test_a_broker_without_a_value_falls_back_to_a_lower_layer(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = engine_with(make_engine, brokers=MappingBrokerResolver({"crm.customer": "Ada"}))
    started = await start_action(store, engine, "support", context=ADA)
    assert (started.brokers_resolved, started.all_brokers_resolved) == (1, False)
    assert started.fallbacks == {"plan": "default"}


async def test_a_failing_resolver_does_not_stop_the_action(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = engine_with(make_engine, brokers=FailingResolver())
    started = await start_action(store, engine, "support", context=ADA, values={"customer": "Bo"})
    assert started.brokers_resolved == 0 and not started.all_brokers_resolved
    assert started.fallbacks == {"customer": "user", "plan": "default"}
    assert started.broker_error is not None and "unreachable" in started.broker_error.message
    assert store.get(engine.selectors.status(started.instance_id)) == "ready"


async def test_hardcoded_values_sit_below_the_callers(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = engine_with(make_engine)
    started = await start_action(store, engine, "summary", values={"text": "mine"})
    assert started.brokers_total == 0 and started.all_brokers_resolved
    merged = store.get(engine.selectors.merged_variables(started.instance_id))
    assert (merged["text"].value, merged["text"].source) == ("mine", "user")
    state = store.get(engine.state(started.instance_id))
    assert state is not None and state.prompt_ref == "builtin:summarise"


async def test_the_action_and_its_prompt_are_loaded_once_per_store(
    make_engine: MakeEngine, store: Store
) -> None:
    prompts, actions = CountingSource({"support": SUPPORT}), CountingSource(ACTIONS)
    engine = engine_with(make_engine, prompts=prompts, actions=actions)
    for _ in range(3):
        await start_action(store, engine, "support")
    assert (actions.gets, prompts.gets) == (["support"], ["support"])
    await start_action(store, engine, "support", refresh=True)
    assert (actions.gets, prompts.gets) == (["support"] * 2, ["support"] * 2)


async def test_an_unknown_action_fails_its_instance(make_engine: MakeEngine, store: Store) -> None:
    engine = engine_with(make_engine)
    task = store.set(engine.actions.start_prompt_action, "nope", {"instance_id": "x"})
    with pytest.raises(PromptEntityNotFoundError, match="prompt_actions"):
        await task
    assert store.get(engine.selectors.status("x")) == "error"


async def test_an_action_runs_its_turn_with_every_layer_applied(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    engine = engine_with(make_engine, brokers=MappingBrokerResolver({"crm.customer": "Ada"}))
    started = await start_action(
        store, engine, "support", values={"q": "why?"}, config={"auto_run": True}
    )
    task = store.get(engine.selectors.turn_task(started.instance_id))
    assert task is not None and (await task).status == "success"
    sent = chat_server.state.requests[-1].body["messages"][-1]["content"]
    assert sent == "Ada on free asks, kind: why?"


def test_broker_mappings_read_a_dict_or_a_list() -> None:
    assert broker_mappings([{"variable": "a", "broker_id": "b"}]) == {"a": "b"}
    assert broker_mappings({"a": "b"}) == {"a": "b"}
    with pytest.raises(ValueError, match="broker_id"):
        broker_mappings([{"variable": "a"}])


async def test_prompts_builtins_and_actions_load_from_sql(
    make_engine: MakeEngine, store: Store, database: Database
) -> None:
    tables = {
        name: SqlSource(database.url, table, schema=database.schema)
        for name, table in (
            ("prompts", "prompts"),
            ("builtins", "prompt_builtins"),
            ("actions", "prompt_actions"),
        )
    }
    try:
        await tables["prompts"].save("support", SUPPORT)
        await tables["builtins"].save("summarise", BUILTINS["summarise"])
        await tables["actions"].save("summary", ACTIONS["summary"])
        engine = make_engine(**tables)
        started = await start_action(store, engine, "summary")
        iid = await store.set(engine.actions.start_prompt_instance, "support")
        assert store.get(engine.selectors.template_messages(started.instance_id))[0].content == (
            "Summarise: {{text}}"
        )
        assert store.get(engine.selectors.variable_names(iid)) == ("customer", "plan", "tone", "q")
    finally:
        for table in tables.values():
            await table.close()
