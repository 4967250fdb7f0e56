"""Starting instances, editing them, and reading them through selectors."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from molecules import Store
from molecules.engine import (
    ConversationEngine,
    EngineConfigError,
    InstanceExistsError,
    InstanceNotFoundError,
    PromptEntityNotFoundError,
    ResourceNotFoundError,
)
from runnable.chat.execution import PromptSpec
from runnable.messages import ChatMessage
from runnable.types import RunnableRef

MakeEngine = Callable[..., ConversationEngine]
NOW = datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC)


async def start(store: Store, engine: ConversationEngine, prompt: object, **options: object) -> str:
    iid: str = await store.set(engine.actions.start_prompt_instance, prompt, options)
    return iid


async def test_an_instance_exists_as_initializing_before_its_prompt_loads(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    task = store.set(engine.actions.start_prompt_instance, "greeter", {"instance_id": "i1"})
    assert store.get(engine.selectors.status("i1")) == "initializing"
    assert await task == "i1"
    assert store.get(engine.selectors.status("i1")) == "ready"


async def test_a_prompt_loads_by_id_ref_or_object(make_engine: MakeEngine, store: Store) -> None:
    engine = make_engine()
    by_id = await start(store, engine, "greeter")
    by_ref = await start(store, engine, RunnableRef("prompt", "greeter"))
    builtin = await start(store, engine, "summarise")  # a bare id falls back to built-ins
    given = await start(
        store, engine, {"id": "adhoc", "messages": [{"role": "user", "content": "x"}]}
    )
    assert store.get(engine.state(by_id)).prompt_ref == "prompt:greeter"  # type: ignore[union-attr]
    assert store.get(engine.state(by_ref)).prompt_ref == "prompt:greeter"  # type: ignore[union-attr]
    assert store.get(engine.state(builtin)).prompt_ref == "builtin:summarise"  # type: ignore[union-attr]
    prompt = store.get(engine.selectors.prompt(given))
    assert isinstance(prompt, PromptSpec) and prompt.id == "adhoc"


async def test_an_unknown_prompt_puts_the_instance_in_error_and_raises(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    task = store.set(engine.actions.start_prompt_instance, "nope", {"instance_id": "bad"})
    with pytest.raises(PromptEntityNotFoundError, match="prompts or prompt_builtins"):
        await task
    assert store.get(engine.selectors.status("bad")) == "error"
    assert "nope" in store.get(engine.selectors.error("bad")).message  # type: ignore[union-attr]


async def test_an_instance_id_cannot_be_taken_twice(make_engine: MakeEngine, store: Store) -> None:
    engine = make_engine()
    await start(store, engine, "greeter", instance_id="same")
    with pytest.raises(InstanceExistsError):
        store.set(engine.actions.start_prompt_instance, "greeter", {"instance_id": "same"})


async def test_unknown_start_options_are_refused_by_name(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    with pytest.raises(ValueError, match="variabels"):
        store.set(engine.actions.start_prompt_instance, "greeter", {"variabels": {}})


def test_starting_outside_an_event_loop_says_why(make_engine: MakeEngine, store: Store) -> None:
    engine = make_engine()
    with pytest.raises(EngineConfigError, match="asyncio loop"):
        store.set(engine.actions.start_prompt_instance, "greeter")


async def test_many_instances_of_one_prompt_are_isolated(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    ids = [await start(store, engine, "greeter") for _ in range(5)]
    for n, iid in enumerate(ids):
        store.set(engine.actions.update_variable, iid, "topic", f"topic {n}")
    topics = [store.get(engine.selectors.merged_variables(i))["topic"].value for i in ids]
    assert topics == [f"topic {n}" for n in range(5)]
    assert store.get(engine.selectors.instances_for_prompt("greeter")) == tuple(ids)
    assert store.get(engine.selectors.instance_ids) == tuple(ids)


async def test_two_stores_hold_separate_instances_of_one_engine(make_engine: MakeEngine) -> None:
    engine = make_engine()
    first, second = Store(), Store()
    iid = await start(first, engine, "greeter")
    assert store_ids(second, engine) == ()
    assert store_ids(first, engine) == (iid,)


def store_ids(store: Store, engine: ConversationEngine) -> tuple[str, ...]:
    return store.get(engine.selectors.instance_ids)


async def test_merged_variables_name_the_layer_of_each_value(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine(now=lambda: NOW)
    iid = await start(store, engine, "greeter", variables={"topic": "tides"})
    merged = store.get(engine.selectors.merged_variables(iid))
    assert {name: v.source for name, v in merged.items()} == {
        "current_date": "computed",
        "current_time": "computed",
        "current_datetime": "computed",
        "topic": "user",
        "tone": "default",
    }
    store.set(engine.actions.update_variable, iid, "tone", "cheerful")
    assert store.get(engine.selectors.merged_variables(iid))["tone"].source == "user"
    store.set(engine.actions.update_variable, iid, "tone", None)
    assert store.get(engine.selectors.merged_variables(iid))["tone"].value == "calm"


async def test_is_ready_once_every_required_variable_has_a_value_in_some_layer(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "greeter")
    assert store.get(engine.selectors.missing_variables(iid)) == ("topic",)
    assert store.get(engine.selectors.is_ready(iid)) is False
    store.set(engine.actions.update_variables, iid, {"topic": "moons"})
    assert store.get(engine.selectors.is_ready(iid)) is True


async def test_without_apply_variables_nothing_is_required(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "greeter", config={"apply_variables": False})
    assert store.get(engine.selectors.is_ready(iid)) is True
    resolved = store.get(engine.selectors.resolved_messages(iid))
    assert resolved[1].content == "Tell me about {{topic}}."


async def test_template_resolved_and_system_messages(make_engine: MakeEngine, store: Store) -> None:
    engine = make_engine(now=lambda: NOW)
    iid = await start(store, engine, "greeter", variables={"topic": "tides"})
    templates = store.get(engine.selectors.template_messages(iid))
    assert templates[1].content == "Tell me about {{topic}}."
    resolved = store.get(engine.selectors.resolved_messages(iid))
    assert resolved[1].content == "Tell me about tides."
    assert store.get(engine.selectors.system_message(iid)) == "You are calm. Today is 2024-03-04."


async def test_settings_edits_are_unsaved_changes_until_they_match_the_prompt(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "greeter")
    assert store.get(engine.selectors.has_unsaved_changes(iid)) is False
    store.set(engine.actions.update_settings, iid, {"temperature": 0.9, "seed": 4})
    assert store.get(engine.selectors.model_config(iid)) == {
        "model": "gpt-4o-mini",
        "temperature": 0.9,
        "seed": 4,
    }
    assert store.get(engine.selectors.has_unsaved_changes(iid)) is True
    store.set(engine.actions.update_settings, iid, {"temperature": 0.3, "seed": None})
    assert store.get(engine.selectors.has_unsaved_changes(iid)) is False


async def test_input_and_hand_added_messages(make_engine: MakeEngine, store: Store) -> None:
    engine = make_engine()
    iid = await start(store, engine, "plain", initial_message="first words")
    assert store.get(engine.selectors.current_input(iid)) == "first words"
    store.set(engine.actions.set_current_input, iid, "typed")
    store.set(engine.actions.add_message, iid, {"role": "assistant", "content": "Hello!"})
    assert store.get(engine.selectors.current_input(iid)) == "typed"
    assert store.get(engine.selectors.conversation_messages(iid)) == (
        ChatMessage(role="assistant", content="Hello!"),
    )
    store.set(engine.actions.clear_conversation, iid)
    assert store.get(engine.selectors.conversation_messages(iid)) == ()


async def test_resources_are_added_updated_kept_and_removed(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "plain")
    first = store.set(engine.actions.add_resource, iid, {"kind": "note", "content": "a"})
    second = store.set(engine.actions.add_resource, iid, {"kind": "url", "url": "https://x.y"})
    store.set(engine.actions.update_resource, iid, first, {"content": "A"})
    store.set(engine.actions.keep_resource, iid, second)
    resources = store.get(engine.selectors.resources(iid))
    assert [(r.content, r.keep) for r in resources] == [("A", False), (None, True)]
    store.set(engine.actions.remove_resource, iid, first)
    assert [r.kind for r in store.get(engine.selectors.resources(iid))] == ["url"]
    with pytest.raises(ResourceNotFoundError, match="no resource at 5"):
        store.set(engine.actions.remove_resource, iid, 5)
    store.set(engine.actions.clear_resources, iid)
    assert store.get(engine.selectors.resources(iid)) == ()


async def test_ui_toggles(make_engine: MakeEngine, store: Store) -> None:
    engine = make_engine()
    iid = await start(store, engine, "greeter", config={"show_variables": True})
    assert store.get(engine.selectors.show_variables(iid)) is True
    assert store.set(engine.actions.toggle_show_variables, iid) is False
    assert store.set(engine.actions.toggle_expanded_variable, iid, "topic") == "topic"
    assert store.get(engine.selectors.expanded_variable(iid)) == "topic"
    assert store.set(engine.actions.toggle_expanded_variable, iid, "topic") is None


async def test_execution_config_changes_are_validated(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "greeter")
    store.set(engine.actions.set_auto_run, iid, True)
    assert store.get(engine.selectors.execution_config(iid)).auto_run is True  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="allow_chatt"):
        store.set(engine.actions.update_execution_config, iid, {"allow_chatt": False})


async def test_set_run_id_makes_the_instance_findable_by_its_run(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "greeter")
    store.set(engine.actions.set_run_id, iid, "run-7", "my run")
    assert store.get(engine.selectors.instance_for_run("run-7")) == iid
    assert store.get(engine.selectors.run_name(iid)) == "my run"
    store.set(engine.actions.set_run_id, iid, "run-8")
    assert store.get(engine.selectors.instance_for_run("run-7")) is None


async def test_a_removed_instance_is_gone_from_every_lookup(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "greeter")
    store.set(engine.actions.set_run_id, iid, "run-1")
    assert store.set(engine.actions.remove_instance, iid) is None  # no run store: nothing to end
    assert store.get(engine.selectors.instance_ids) == ()
    assert store.get(engine.selectors.instances_for_prompt("greeter")) == ()
    assert store.get(engine.selectors.instance_for_run("run-1")) is None
    assert store.get(engine.selectors.status(iid)) == "idle"
    with pytest.raises(InstanceNotFoundError):
        store.set(engine.actions.update_variable, iid, "topic", "x")


async def test_selectors_notify_only_when_their_slice_changes(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, "greeter", variables={"topic": "a"})
    calls: list[str] = []
    store.sub(engine.selectors.merged_variables(iid), lambda: calls.append("variables"))
    store.sub(engine.selectors.current_input(iid), lambda: calls.append("input"))
    store.set(engine.actions.set_current_input, iid, "typing")
    store.set(engine.actions.update_variable, iid, "topic", "b")
    assert calls == ["input", "variables"]


async def test_removed_instances_leave_nothing_behind(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    ids = [await start(store, engine, "greeter", variables={"topic": "t"}) for _ in range(20)]
    for iid in ids:
        store.get(engine.selectors.display_messages(iid))
    states = [weakref.ref(store.get(engine.state(iid))) for iid in ids]  # type: ignore[arg-type]
    for iid in ids:
        store.set(engine.actions.remove_instance, iid)
    gc.collect()
    assert (len(engine.state), len(engine.turn_control)) == (0, 0)
    assert len(engine.selectors.display_messages) == 0 and len(engine.selectors.prompt) == 0
    assert all(ref() is None for ref in states)


async def test_loading_an_instance_compiles_its_jinja2_templates_before_any_turn(
    make_engine: MakeEngine, store: Store
) -> None:
    # Turns render inside synchronous store writes, on the event loop: jinja2's parse
    # and compile (the costly part) already happened in a worker thread when it loaded.
    from runnable.template_engines import jinja
    from runnable.templates import LIMITS

    text = "{% for x in items %}{{ x|upper }}{% endfor %} {{ topic }}"
    engine = make_engine()
    jinja._compiled_or_error.cache_clear()
    await start(
        store,
        engine,
        {"id": "j", "template_format": "jinja2", "messages": [{"role": "user", "content": text}]},
    )
    hits = jinja._compiled_or_error.cache_info().hits
    jinja._compiled_or_error(text, LIMITS)
    assert jinja._compiled_or_error.cache_info().hits == hits + 1
