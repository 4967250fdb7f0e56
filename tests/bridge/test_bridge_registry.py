"""Kinds at run time, RunnableType checks, and other data layers plugged into the bridge."""

from __future__ import annotations

from typing import Any

import pytest

from bridge import (
    InvalidRunnableTypeError,
    RunnableData,
    RunnablePort,
    RunnableRef,
    RunnableType,
    create_default_bridge,
    create_runnable_bridge,
    prompt_runnable_type,
)
from molecules import PromptData, Store, create_molecule, prompt_molecule
from runnable.sources import InMemorySource, SqlSource
from tests.db_fixtures import Database

PROMPT = {"name": "greeter", "messages": [{"role": "user", "content": "Hi {{name}}"}]}


def simple_type(label: str = "a") -> RunnableType:
    return RunnableType(
        create_molecule(f"kind-{label}", lambda key: {"id": key, "label": label}),
        lambda entity: RunnableData(id=entity["id"], kind="k", name=entity["label"]),
        lambda entity: [RunnablePort(key="x")],
        lambda entity: [],
    )


def test_register_refuses_a_bad_kind_name() -> None:
    bridge = create_runnable_bridge({})
    for bad in ("", "a:b", 3):
        with pytest.raises(InvalidRunnableTypeError, match="kind must be a non-empty name"):
            bridge.register(bad, simple_type())  # type: ignore[arg-type]


def test_register_refuses_something_that_is_not_a_runnable_type() -> None:
    with pytest.raises(InvalidRunnableTypeError, match="must be registered with a RunnableType"):
        create_runnable_bridge({"k": {"molecule": None}})  # type: ignore[dict-item]


def test_a_runnable_type_checks_its_parts() -> None:
    with pytest.raises(TypeError, match="to_runnable must be callable"):
        RunnableType(simple_type().molecule, "nope", list, list)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a molecule"):
        RunnableType(object(), list, list, list)  # type: ignore[arg-type]


async def test_registering_again_replaces_the_kind_and_its_selectors() -> None:
    bridge = create_runnable_bridge({"k": simple_type("first")})
    store = Store()
    old = bridge.selectors.data("k:e")
    store.sub(old, lambda: None)
    await store.set(bridge.runnable("k").actions.load, "e")
    assert store.get(old).name == "first"
    bridge.register("k", simple_type("second"))
    new = bridge.selectors.data("k:e")
    assert new is not old
    await store.set(bridge.runnable("k").actions.load, "e")
    assert store.get(new).name == "second"


async def test_unregister_removes_a_kind() -> None:
    bridge = create_runnable_bridge({"k": simple_type()})
    bridge.unregister("k")
    assert bridge.kinds == ()


async def test_ports_come_from_the_kinds_functions_when_its_molecule_has_no_selectors() -> None:
    bridge = create_runnable_bridge({"k": simple_type()})
    store = Store()
    await store.set(bridge.runnable("k").actions.load, "e")
    assert [p.key for p in store.get(bridge.selectors.input_ports("k:e"))] == ["x"]
    assert store.get(bridge.selectors.configuration("k:e")) == {}


async def test_a_backend_plugs_its_own_prompt_data_layer_in() -> None:
    rows = {"p1": {"title": "from the backend", "template": "Dear {{client}}"}}

    def fetch(key: str) -> dict[str, Any] | None:
        row = rows.get(key)
        if row is None:
            return None
        return {
            "id": key,
            "name": row["title"],
            "messages": [{"role": "user", "content": row["template"]}],
        }

    backend = create_molecule("backend-prompts", fetch, transform=PromptData.model_validate)
    bridge = create_default_bridge(molecules={"prompt": backend})
    store = Store()
    await store.set(bridge.runnable("prompt").actions.load, "p1")
    assert store.get(bridge.selectors.data("prompt:p1")).name == "from the backend"
    assert [p.key for p in store.get(bridge.selectors.input_ports("prompt:p1"))] == ["client"]
    assert bridge.runnable("prompt").molecule is backend


async def test_a_molecule_for_a_kind_can_be_given_to_a_type_factory() -> None:
    prompts = prompt_molecule(InMemorySource({"p1": PROMPT}))
    bridge = create_runnable_bridge(
        {"prompt": prompt_runnable_type(prompts, execute=lambda r, i: "ok")}
    )
    assert (await bridge.execute("prompt:p1", {"name": "x"})).output == "ok"


def test_unknown_kinds_in_the_default_bridges_options_are_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown kind.*in sources: prompts"):
        create_default_bridge({"prompts": InMemorySource()})


async def test_the_default_bridge_reads_prompts_from_sql(database: Database) -> None:
    source = SqlSource(database.url, "prompts", schema=database.schema)
    try:
        await source.save("p1", PROMPT)
        bridge = create_default_bridge({"prompt": source})
        store = Store()
        data = await bridge.load("prompt:p1", store=store)
        assert data.name == "greeter"
        assert await bridge.resolve("p1", store=store) == RunnableRef("prompt", "p1")
        # Every kind has answered for "p1" in this store: the bare id reads at once.
        assert [p.key for p in store.get(bridge.selectors.input_ports("p1"))] == ["name"]
    finally:
        await source.close()


async def test_a_kinds_functions_may_answer_plain_dicts() -> None:
    kind = RunnableType(
        create_molecule("plain", lambda key: {"id": key}),
        lambda entity: {"id": entity["id"], "kind": "plain", "name": "from a dict"},
        lambda entity: [{"key": "question", "required": True}],
        lambda entity: [{"key": "answer"}],
        execute=lambda runnable, inputs: runnable.name,
    )
    bridge = create_runnable_bridge({"plain": kind})
    store = Store()
    await store.set(bridge.runnable("plain").actions.load, "e")
    assert store.get(bridge.selectors.input_ports("plain:e")) == [
        RunnablePort(key="question", required=True)
    ]
    assert store.get(bridge.selectors.data("plain:e")).name == "from a dict"
    assert (await bridge.execute("plain:e", {"question": "?"})).output == "from a dict"
