"""Scoped variables: per (user, org, project) context, kept 5 minutes, refreshed on demand."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from molecules import Store
from molecules.engine import ConversationEngine, ScopeContext, ScopedVariableCache
from runnable.sources import ScopedVariableSource
from tests.db_fixtures import Database

MakeEngine = Callable[..., ConversationEngine]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingSource:
    """One scope's variables by scope id, counting every fetch."""

    def __init__(self, scopes: Mapping[str, Mapping[str, Any]], delay: float = 0.0) -> None:
        self.scopes = {k: dict(v) for k, v in scopes.items()}
        self.fetches: list[str] = []
        self.delay = delay

    async def get_scope(self, scope_id: str) -> Mapping[str, Any]:
        self.fetches.append(scope_id)
        await asyncio.sleep(self.delay)
        return dict(self.scopes.get(scope_id, {}))


ADA = ScopeContext(user_id="ada", org_id="acme", project_id="p1")


def sources() -> dict[str, CountingSource]:
    return {
        "user": CountingSource({"ada": {"tone": "playful"}, "bob": {"tone": "grumpy"}}),
        "org": CountingSource({"acme": {"company": "Acme", "tone": "formal"}}),
        "project": CountingSource({"p1": {"topic": "rockets"}, "p2": {"topic": "boats"}}),
    }


async def test_a_contexts_variables_are_fetched_once_and_kept_for_the_ttl() -> None:
    clock, found = Clock(), sources()
    cache = ScopedVariableCache(found, ttl=300, clock=clock)
    store = Store()
    first = await cache.load(store.get, store.set, ADA)
    clock.now += 299
    again = await cache.load(store.get, store.set, ADA)
    assert (
        first
        == again
        == {
            "project": {"topic": "rockets"},
            "org": {"company": "Acme", "tone": "formal"},
            "user": {"tone": "playful"},
        }
    )
    assert found["org"].fetches == ["acme"]
    clock.now += 2  # past five minutes
    await cache.load(store.get, store.set, ADA)
    assert found["org"].fetches == ["acme", "acme"]


async def test_refresh_fetches_again_at_once() -> None:
    clock, found = Clock(), sources()
    cache = ScopedVariableCache(found, clock=clock)
    store = Store()
    await cache.load(store.get, store.set, ADA)
    found["project"].scopes["p1"]["topic"] = "satellites"
    assert (await cache.load(store.get, store.set, ADA))["project"] == {"topic": "rockets"}
    refreshed = await cache.load(store.get, store.set, ADA, refresh=True)
    assert refreshed["project"] == {"topic": "satellites"}


async def test_contexts_never_share_entries_even_with_an_org_in_common() -> None:
    found = sources()
    cache = ScopedVariableCache(found)
    store = Store()
    bob = ScopeContext(user_id="bob", org_id="acme", project_id="p2")
    ada_values = await cache.load(store.get, store.set, ADA)
    bob_values = await cache.load(store.get, store.set, bob)
    assert ada_values["user"] == {"tone": "playful"} and bob_values["user"] == {"tone": "grumpy"}
    assert bob_values["project"] == {"topic": "boats"}
    assert found["org"].fetches == ["acme", "acme"]  # fetched per context, not shared
    assert store.get(cache.values(ADA)) == ada_values


async def test_concurrent_loads_of_one_context_share_one_fetch() -> None:
    found = {"user": CountingSource({"ada": {"x": 1}}, delay=0.05)}
    cache = ScopedVariableCache(found)
    store = Store()
    context = ScopeContext(user_id="ada")
    results = await asyncio.gather(*(cache.load(store.get, store.set, context) for _ in range(5)))
    assert all(r == {"user": {"x": 1}} for r in results)
    assert found["user"].fetches == ["ada"]


async def test_each_store_keeps_its_own_cache() -> None:
    found = sources()
    cache = ScopedVariableCache(found)
    for store in (Store(), Store()):
        await cache.load(store.get, store.set, ADA)
    assert found["user"].fetches == ["ada", "ada"]


def test_only_known_scopes_are_accepted() -> None:
    with pytest.raises(ValueError, match="team"):
        ScopedVariableCache({"team": CountingSource({})})


async def test_instances_resolve_project_over_org_over_user(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine(scoped_sources=sources())
    iid = await store.set(
        engine.actions.start_prompt_instance,
        {"messages": [{"role": "user", "content": "{{tone}} {{topic}} {{company}}"}]},
        {"context": ADA},
    )
    merged = store.get(engine.selectors.merged_variables(iid))
    assert (merged["tone"].value, merged["tone"].source) == ("formal", "scoped.org")
    assert merged["topic"].source == "scoped.project"
    assert store.get(engine.selectors.is_ready(iid)) is True


async def test_refreshing_a_context_updates_its_instances_only(
    make_engine: MakeEngine, store: Store
) -> None:
    found = sources()
    engine = make_engine(scoped_sources=found)
    prompt = {"messages": [{"role": "user", "content": "{{topic}}"}]}
    ada = await store.set(engine.actions.start_prompt_instance, prompt, {"context": ADA})
    other_context = ScopeContext(user_id="ada", org_id="acme", project_id="p2")
    other = await store.set(
        engine.actions.start_prompt_instance, prompt, {"context": other_context}
    )
    found["project"].scopes["p1"]["topic"] = "satellites"
    await store.set(engine.actions.refresh_scoped_variables, ADA)
    assert store.get(engine.selectors.merged_variables(ada))["topic"].value == "satellites"
    assert store.get(engine.selectors.merged_variables(other))["topic"].value == "boats"


async def test_scoped_variables_come_from_the_sql_tables(
    make_engine: MakeEngine, store: Store, database: Database
) -> None:
    tables = {
        scope: ScopedVariableSource(database.url, scope, schema=database.schema)  # type: ignore[arg-type]
        for scope in ("user", "org", "project")
    }
    try:
        await tables["project"].set_scope("p1", {"topic": "rockets"})
        await tables["org"].set_variable("acme", "tone", "formal")
        await tables["user"].set_variable("ada", "tone", "playful")
        engine = make_engine(scoped_sources=tables)
        values = await store.set(engine.actions.load_scoped_variables, ADA)
        assert values == {
            "project": {"topic": "rockets"},
            "org": {"tone": "formal"},
            "user": {"tone": "playful"},
        }
    finally:
        for table in tables.values():
            await table.close()
