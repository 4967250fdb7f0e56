"""action_molecule: its prompt, input ports minus what it supplies, configuration."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from molecules import ActionData, EntityLoadError, Store, action_molecule
from molecules.entities import ActionMolecule, builtin_molecule, prompt_molecule
from runnable.sources import InMemorySource, SqlSource
from tests.db_fixtures import Database

PROMPT: dict[str, Any] = {
    "name": "writer",
    "messages": [{"role": "user", "content": "Write to {{person}} about {{topic}} in {{tone}}"}],
    "settings": {"model": "gpt-4o-mini"},
}
ACTION: dict[str, Any] = {
    "name": "polite writer",
    "prompt_ref": "prompt:p1",
    "hardcoded_values": {"tone": "a polite tone"},
    "broker_mappings": {"person": "user.name"},
}


def molecules(
    actions: dict[str, Any] | None = None, builtins: dict[str, Any] | None = None
) -> tuple[ActionMolecule, Any]:
    prompts = prompt_molecule(InMemorySource({"p1": PROMPT}))
    built = builtin_molecule(InMemorySource(builtins or {}))
    m = action_molecule(InMemorySource(actions or {"a1": ACTION}), prompts=prompts, builtins=built)
    return m, prompts


async def test_reading_the_actions_prompt_loads_it() -> None:
    m, _ = molecules()
    store = Store()
    await store.set(m.load, "a1")
    arrived = asyncio.Event()
    store.sub(m.prompt("a1"), arrived.set)
    await asyncio.wait_for(arrived.wait(), 5)
    assert store.get(m.prompt("a1")).name == "writer"
    assert store.get(m.prompt_query("a1")).status == "success"


async def test_input_ports_leave_out_what_the_action_supplies() -> None:
    m, prompts = molecules()
    store = Store()
    await store.set(m.load, "a1")
    await store.set(prompts.load, "p1")
    assert [p.key for p in store.get(m.input_ports("a1"))] == ["topic"]


async def test_a_variable_added_to_the_prompts_draft_reaches_the_action() -> None:
    m, prompts = molecules()
    store = Store()
    await store.set(m.load, "a1")
    await store.set(prompts.load, "p1")
    seen: list[list[str]] = []
    store.sub(
        m.input_ports("a1"), lambda: seen.append([p.key for p in store.get(m.input_ports("a1"))])
    )
    messages = [{"role": "user", "content": "{{person}} {{topic}} {{tone}} {{length}}"}]
    store.set(prompts.update, "p1", {"messages": messages})
    assert seen == [["topic", "length"]]


async def test_hardcoding_another_value_removes_its_port() -> None:
    m, prompts = molecules()
    store = Store()
    await store.set(m.load, "a1")
    await store.set(prompts.load, "p1")
    store.set(m.update, "a1", {"hardcoded_values": {"tone": "x", "topic": "y"}})
    assert store.get(m.input_ports("a1")) == []


async def test_a_builtin_ref_reads_the_builtin_prompt() -> None:
    builtin = {**PROMPT, "messages": [{"role": "user", "content": "{{only}}"}]}
    m, _ = molecules({"a1": {**ACTION, "prompt_ref": "builtin:b1"}}, {"b1": builtin})
    store = Store()
    await store.set(m.load, "a1")
    await store.set(m.builtins.load, "b1")  # type: ignore[union-attr]
    assert [p.key for p in store.get(m.input_ports("a1"))] == ["only"]


async def test_a_bare_prompt_ref_names_a_prompt() -> None:
    action = ActionData.model_validate({"id": "a", "prompt_ref": "p1"})
    assert action.prompt is not None and (action.prompt.kind, action.prompt.id) == ("prompt", "p1")


def test_a_prompt_ref_to_another_kind_is_refused() -> None:
    with pytest.raises(ValidationError, match="must name a prompt or a builtin"):
        ActionData.model_validate({"id": "a", "prompt_ref": "app_revision:r1"})


async def test_a_stored_action_with_a_bad_prompt_ref_is_an_error_query() -> None:
    m, _ = molecules({"a1": {**ACTION, "prompt_ref": "evaluator_revision:e"}})
    with pytest.raises(EntityLoadError, match="prompt_ref"):
        await Store().set(m.load, "a1")


async def test_a_missing_prompt_shows_in_prompt_query() -> None:
    m, _ = molecules({"a1": {**ACTION, "prompt_ref": "prompt:ghost"}})
    store = Store()
    await store.set(m.load, "a1")
    store.sub(m.prompt("a1"), lambda: None)
    for _ in range(5):
        await asyncio.sleep(0)
    assert store.get(m.prompt_query("a1")).status == "error"
    assert store.get(m.input_ports("a1")) == []


async def test_configuration_holds_the_prompt_and_what_the_action_supplies() -> None:
    m, prompts = molecules()
    store = Store()
    await store.set(m.load, "a1")
    await store.set(prompts.load, "p1")
    config = store.get(m.configuration("a1"))
    assert config["prompt_ref"] == "prompt:p1"
    assert config["prompt"]["messages"] == PROMPT["messages"]
    assert config["hardcoded_values"] == {"tone": "a polite tone"}
    assert config["broker_mappings"] == {"person": "user.name"}
    assert store.get(m.output_ports("a1"))[0].key == "output"


async def test_actions_and_prompts_load_from_sql_tables(database: Database) -> None:
    prompts_db = SqlSource(database.url, "prompts", schema=database.schema)
    actions_db = SqlSource(database.url, "prompt_actions", schema=database.schema)
    try:
        await prompts_db.save("p1", PROMPT)
        await actions_db.save("a1", ACTION)
        prompts = prompt_molecule(prompts_db)
        m = action_molecule(actions_db, prompts=prompts)
        store = Store()
        await store.set(m.load, "a1")
        await store.set(prompts.load, "p1")
        assert [p.key for p in store.get(m.input_ports("a1"))] == ["topic"]
    finally:
        await prompts_db.close()
        await actions_db.close()
