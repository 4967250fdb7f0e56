"""prompt_molecule and builtin_molecule: ports from the merged data, schemas, configuration."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from molecules import (
    BuiltinData,
    EntityLoadError,
    PromptData,
    Store,
    builtin_molecule,
    prompt_molecule,
)
from molecules.entities import prompt_to_runnable
from runnable.sources import InMemorySource, SqlSource
from runnable.types import RunnablePort
from tests.db_fixtures import Database

GREETER: dict[str, Any] = {
    "name": "greeter",
    "messages": [
        {"role": "system", "content": "You greet people from {{country}}."},
        {"role": "user", "content": "Say hi to {{name}}"},
    ],
    "settings": {"model": "gpt-4o-mini", "temperature": 0.3},
    "variable_defaults": {"country": "France"},
}


async def loaded(entities: dict[str, dict[str, Any]] | None = None) -> tuple[Any, Store]:
    m = prompt_molecule(InMemorySource(entities or {"p1": GREETER}, name="prompts"))
    store = Store()
    await store.set(m.load, "p1")
    return m, store


async def test_prompt_data_is_a_model_with_the_prompt_shape() -> None:
    m, store = await loaded()
    prompt = store.get(m.data("p1"))
    assert isinstance(prompt, PromptData)
    assert prompt.messages[1].content == "Say hi to {{name}}"
    assert prompt.settings == {"model": "gpt-4o-mini", "temperature": 0.3}
    assert prompt.template_format == "curly"


async def test_input_ports_are_the_variables_and_a_default_makes_one_optional() -> None:
    m, store = await loaded()
    ports = store.get(m.input_ports("p1"))
    assert [(p.key, p.required, p.default) for p in ports] == [
        ("country", False, "France"),
        ("name", True, None),
    ]
    assert ports[1].name == "Name"


async def test_a_draft_that_adds_a_variable_adds_a_port_for_subscribers_at_once() -> None:
    m, store = await loaded()
    seen: list[list[str]] = []
    store.sub(
        m.input_ports("p1"), lambda: seen.append([p.key for p in store.get(m.input_ports("p1"))])
    )
    messages = [*GREETER["messages"], {"role": "user", "content": "Mention {{new_var}}"}]
    store.set(m.update, "p1", {"messages": messages})
    assert seen == [["country", "name", "new_var"]]
    assert (
        store.get(m.server_data("p1")).messages
        == PromptData.model_validate({"id": "p1", **GREETER}).messages
    )


async def test_an_edit_that_keeps_the_variables_does_not_notify_port_subscribers() -> None:
    m, store = await loaded()
    calls: list[int] = []
    store.sub(m.input_ports("p1"), lambda: calls.append(1))
    store.set(m.update, "p1", {"settings": {"model": "gpt-4o", "temperature": 1.0}})
    store.set(m.update, "p1", {"name": "renamed"})
    assert calls == []


async def test_variables_follow_the_template_format() -> None:
    jinja = {
        "messages": [
            {"role": "user", "content": "{% for i in items %}{{ i }}{% endfor %} {{ who }}"}
        ],
        "template_format": "jinja2",
    }
    m, store = await loaded({"p1": jinja})
    assert store.get(m.variables("p1")) == ["items", "who"]


async def test_variables_in_text_parts_count_too() -> None:
    parts = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe {{subject}}"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
            }
        ]
    }
    m, store = await loaded({"p1": parts})
    assert store.get(m.variables("p1")) == ["subject"]


async def test_a_half_typed_template_keeps_the_other_ports_and_is_reported() -> None:
    broken = {
        "template_format": "jinja2",
        "messages": [
            {"role": "user", "content": "Hello {{ name }}"},
            {"role": "user", "content": "{% if x %} unfinished"},
        ],
    }
    m, store = await loaded({"p1": broken})
    # The half-typed message still gives the variables it reads.
    assert [p.key for p in store.get(m.input_ports("p1"))] == ["name", "x"]
    # Checking parses with jinja2 in a worker thread: the selector's value is awaitable.
    pending = store.get(m.template_errors("p1"))
    assert inspect.isawaitable(pending)
    errors = await pending
    assert len(errors) == 1 and errors[0].startswith("message text 1: jinja2 template")


async def test_output_is_one_text_port_without_a_response_schema() -> None:
    m, store = await loaded()
    assert store.get(m.output_ports("p1")) == [
        RunnablePort(key="output", name="Output", type="string", required=True)
    ]
    assert store.get(m.schemas("p1")).outputs == {"type": "string"}


async def test_a_json_schema_response_format_gives_the_output_ports() -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
        "required": ["answer"],
    }
    structured = {
        **GREETER,
        "settings": {"response_format": {"type": "json_schema", "json_schema": {"schema": schema}}},
    }
    m, store = await loaded({"p1": structured})
    ports = store.get(m.output_ports("p1"))
    assert [(p.key, p.type, p.required) for p in ports] == [
        ("answer", "string", True),
        ("confidence", "number", False),
    ]
    assert store.get(m.schemas("p1")).outputs == schema


async def test_schemas_describe_the_inputs() -> None:
    m, store = await loaded()
    inputs = store.get(m.schemas("p1")).inputs
    assert inputs["required"] == ["name"]
    assert set(inputs["properties"]) == {"country", "name"}


async def test_configuration_holds_what_an_executor_needs() -> None:
    m, store = await loaded()
    config = store.get(m.configuration("p1"))
    assert config == {
        "messages": GREETER["messages"],
        "settings": GREETER["settings"],
        "variable_defaults": {"country": "France"},
        "template_format": "curly",
    }


async def test_selectors_of_a_prompt_without_data_are_empty() -> None:
    m = prompt_molecule(InMemorySource())
    store = Store()
    assert store.get(m.input_ports("ghost")) == []
    assert store.get(m.configuration("ghost")) is None
    await asyncio.sleep(0)


async def test_stored_data_that_is_not_a_prompt_is_an_error_query() -> None:
    m = prompt_molecule(InMemorySource({"p1": {"messages": "not a list"}}))
    store = Store()
    with pytest.raises(EntityLoadError, match="invalid entity data"):
        await store.set(m.load, "p1")
    assert store.get(m.query("p1")).status == "error"


async def test_a_prompt_becomes_runnable_data() -> None:
    m, store = await loaded()
    runnable = prompt_to_runnable(store.get(m.data("p1")))
    assert (runnable.id, runnable.kind, runnable.name) == ("p1", "prompt", "greeter")
    assert runnable.configuration["settings"]["temperature"] == 0.3
    assert runnable.schemas.inputs is not None


async def test_builtin_prompts_have_the_prompt_shape_and_selectors() -> None:
    m = builtin_molecule(InMemorySource({"b1": {**GREETER, "builtin_key": "greet"}}))
    store = Store()
    builtin = await store.set(m.load, "b1")
    assert isinstance(builtin, BuiltinData)
    assert builtin.builtin_key == "greet"
    assert [p.key for p in store.get(m.input_ports("b1"))] == ["country", "name"]
    assert m.name == "builtin"


async def test_prompts_load_edit_and_save_in_sql_tables(database: Database) -> None:
    prompts = SqlSource(database.url, "prompts", schema=database.schema)
    builtins = SqlSource(database.url, "prompt_builtins", schema=database.schema)
    try:
        await prompts.save("p1", GREETER)
        await builtins.save("p1", {**GREETER, "name": "shipped"})
        pm, bm = prompt_molecule(prompts), builtin_molecule(builtins)
        store = Store()
        assert (await store.set(pm.load, "p1")).name == "greeter"
        assert (await store.set(bm.load, "p1")).name == "shipped"
        store.set(pm.update, "p1", {"variable_defaults": {}})
        assert [p.required for p in store.get(pm.input_ports("p1"))] == [True, True]
        await store.set(pm.save, "p1")
        assert (await prompts.get("p1") or {})["variable_defaults"] == {}
        assert (await builtins.get("p1") or {})["variable_defaults"] == {"country": "France"}
    finally:
        await prompts.close()
        await builtins.close()
