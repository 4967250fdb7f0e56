"""The bridge's selectors: refs, same atoms, every kind through one API, bare ids."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bridge import (
    AmbiguousRunnableIdError,
    RunnableBridge,
    RunnableData,
    RunnableRef,
    UnknownRunnableIdError,
    UnknownRunnableTypeError,
    create_default_bridge,
    runnable_bridge,
)
from molecules import PromptData, Store
from runnable.sources import InMemorySource

PROMPT: dict[str, Any] = {
    "name": "greeter",
    "messages": [{"role": "user", "content": "Hi {{name}}"}],
    "settings": {"model": "gpt-4o-mini"},
}


def bridge_with(**entities: dict[str, dict[str, Any]]) -> RunnableBridge:
    return create_default_bridge({kind: InMemorySource(items) for kind, items in entities.items()})


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_the_default_bridge_has_the_six_built_in_kinds() -> None:
    assert runnable_bridge.kinds == (
        "prompt",
        "builtin",
        "action",
        "app_revision",
        "evaluator_revision",
        "flow",
    )


def test_a_selector_is_the_same_atom_for_every_form_of_the_ref() -> None:
    selectors = runnable_bridge.selectors
    for name in ("data", "query", "is_dirty", "input_ports", "output_ports"):
        select = getattr(selectors, name)
        a = select(RunnableRef("prompt", "p1"))
        assert select("prompt:p1") is a, name
        assert select({"kind": "prompt", "id": "p1"}) is a, name
        assert select("prompt:p2") is not a, name
    for name in ("configuration", "invocation_url", "schemas"):
        select = getattr(selectors, name)
        assert select("app_revision:r1") is select(RunnableRef("app_revision", "r1")), name


def test_an_unknown_kind_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(UnknownRunnableTypeError, match="unknown runnable kind 'nope'; registered"):
        runnable_bridge.selectors.data("nope:x")
    with pytest.raises(UnknownRunnableTypeError):
        runnable_bridge.runnable("nope")


async def test_data_is_the_runnable_data_of_the_entity() -> None:
    bridge = bridge_with(prompt={"p1": PROMPT})
    store = Store()
    await store.set(bridge.runnable("prompt").actions.load, "p1")
    data = store.get(bridge.selectors.data("prompt:p1"))
    assert isinstance(data, RunnableData)
    assert (data.kind, data.id, data.name) == ("prompt", "p1", "greeter")
    assert store.get(bridge.selectors.configuration("prompt:p1"))["settings"] == PROMPT["settings"]
    assert store.get(bridge.selectors.schemas("prompt:p1")).inputs["required"] == ["name"]
    assert store.get(bridge.selectors.invocation_url("prompt:p1")) is None


async def test_selectors_load_the_entity_for_a_subscriber() -> None:
    bridge = bridge_with(prompt={"p1": PROMPT})
    store = Store()
    ports = bridge.selectors.input_ports("prompt:p1")
    arrived = asyncio.Event()
    store.sub(ports, arrived.set)
    await asyncio.wait_for(arrived.wait(), 5)
    assert [p.key for p in store.get(ports)] == ["name"]
    assert store.get(bridge.selectors.query("prompt:p1")).status == "success"


async def test_input_ports_follow_a_draft_through_the_bridge() -> None:
    bridge = bridge_with(prompt={"p1": PROMPT})
    store = Store()
    prompt = bridge.runnable("prompt")
    await store.set(prompt.actions.load, "p1")
    seen: list[list[str]] = []
    ports = bridge.selectors.input_ports("prompt:p1")
    store.sub(ports, lambda: seen.append([p.key for p in store.get(ports)]))
    messages = [{"role": "user", "content": "Hi {{name}} from {{city}}"}]
    store.set(prompt.actions.update, "p1", {"messages": messages})
    assert seen == [["name", "city"]]
    assert store.get(bridge.selectors.is_dirty("prompt:p1")) is True


async def test_invocation_url_of_an_app_revision_follows_its_mode() -> None:
    bridge = bridge_with(app_revision={"r1": {"uri": "http://apps.local/greet"}})
    store = Store()
    app = bridge.runnable("app_revision")
    await store.set(app.actions.load, "r1")
    url = bridge.selectors.invocation_url("app_revision:r1")
    assert store.get(url) == "http://apps.local/greet/test"
    store.set(app.selectors.execution_mode("r1"), "deployed")
    assert store.get(url) == "http://apps.local/greet/run"
    assert store.get(bridge.selectors.data("app_revision:r1")).invocation_url == (
        "http://apps.local/greet/run"
    )


async def test_a_kinds_own_selectors_and_actions_are_offered() -> None:
    evaluator = {
        "evaluator_key": "regex",
        "settings": {"pattern": "a"},
        "presets": [{"key": "b", "settings": {"pattern": "b"}}],
    }
    bridge = bridge_with(evaluator_revision={"e1": evaluator})
    store = Store()
    ref = RunnableRef("evaluator_revision", "e1")
    kind = bridge.runnable("evaluator_revision")
    await store.set(kind.actions.load, ref)
    assert [p.key for p in store.get(kind.selectors.presets(ref))] == ["b", "email", "url"]
    store.set(kind.actions.apply_preset, ref, "b")
    assert store.get(kind.selectors.settings(ref)) == {"pattern": "b"}
    assert store.get(bridge.selectors.configuration(ref))["settings"] == {"pattern": "b"}
    assert store.get(bridge.selectors.output_ports(ref))[0].key == "score"
    assert kind.selectors.runnable(ref) is bridge.selectors.data(ref)
    with pytest.raises(AttributeError, match="has no selector 'nope'"):
        _ = kind.selectors.nope


async def test_a_bare_id_known_to_one_kind_reads_that_kind() -> None:
    bridge = bridge_with(prompt={"p1": PROMPT}, app_revision={"r1": {"uri": "http://x"}})
    store = Store()
    data = bridge.selectors.data("p1")
    store.sub(data, lambda: None)
    assert store.get(data) is None  # still asking every kind
    await settle()
    assert store.get(data).kind == "prompt"
    assert [p.key for p in store.get(bridge.selectors.input_ports("p1"))] == ["name"]


async def test_a_bare_id_known_to_several_kinds_is_ambiguous() -> None:
    bridge = bridge_with(prompt={"same": PROMPT}, builtin={"same": PROMPT})
    store = Store()
    store.sub(bridge.selectors.query("same"), lambda: None)
    await settle()
    with pytest.raises(AmbiguousRunnableIdError, match="prompt:same, builtin:same"):
        store.get(bridge.selectors.data("same"))
    with pytest.raises(AmbiguousRunnableIdError):
        await bridge.resolve("same", store=store)


async def test_a_bare_id_no_kind_knows_is_an_error_query_not_an_exception() -> None:
    bridge = bridge_with()
    store = Store()
    store.sub(bridge.selectors.query("ghost"), lambda: None)
    await settle()
    state = store.get(bridge.selectors.query("ghost"))
    assert state.status == "error"
    assert isinstance(state.error, UnknownRunnableIdError)
    assert store.get(bridge.selectors.data("ghost")) is None
    with pytest.raises(UnknownRunnableIdError, match="no runnable kind knows id 'ghost'"):
        await bridge.resolve("ghost", store=store)


async def test_a_missing_entity_of_a_kind_is_an_error_query() -> None:
    bridge = bridge_with()
    store = Store()
    store.sub(bridge.selectors.data("prompt:ghost"), lambda: None)
    await settle()
    assert store.get(bridge.selectors.query("prompt:ghost")).status == "error"
    assert store.get(bridge.selectors.data("prompt:ghost")) is None
    assert store.get(bridge.selectors.input_ports("prompt:ghost")) == []


async def test_a_locally_created_entity_is_known_by_its_bare_id() -> None:
    bridge = bridge_with()
    store = Store()
    ref = bridge.adopt("prompt", PromptData(id="draft-1", name="local"), store=store)
    assert ref == RunnableRef("prompt", "draft-1")
    await settle()
    store.sub(bridge.selectors.data("draft-1"), lambda: None)
    await settle()
    assert store.get(bridge.selectors.data("draft-1")).name == "local"
