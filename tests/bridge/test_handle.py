"""`use_runnable(ref, store)`: one runnable's values and actions in one object; kind aliases."""

from __future__ import annotations

import pytest

from bridge import (
    RunnableHandle,
    UnknownRunnableTypeError,
    create_default_bridge,
    use_runnable,
)
from molecules import Store
from runnable.sources import InMemorySource
from runnable.types import ExecutionStatus, RunnableRef

EVALUATORS = {"ex": {"evaluator_key": "exact_match", "settings": {"case_sensitive": False}}}
INPUTS = {"output": "PARIS", "correct_answer": "paris"}


async def test_a_handle_shows_data_ports_and_dirtiness_once_loaded() -> None:
    bridge = create_default_bridge({"evaluator_revision": InMemorySource(EVALUATORS)})
    store = Store()
    handle = use_runnable("evaluator_revision:ex", store, bridge=bridge)
    assert isinstance(handle, RunnableHandle)
    assert handle.data is None
    await handle.load()
    assert handle.data is not None and handle.data.id == "ex"
    assert [p.key for p in handle.input_ports] == ["output", "correct_answer"]
    assert handle.output_ports
    assert handle.is_dirty is False
    assert handle.query.status == "success"


async def test_a_handle_executes_and_streams() -> None:
    bridge = create_default_bridge({"evaluator_revision": InMemorySource(EVALUATORS)})
    handle = use_runnable("evaluator_revision:ex", Store(), bridge=bridge)
    result = await handle.execute(INPUTS)
    assert result.status == ExecutionStatus.SUCCESS
    assert [chunk async for chunk in handle.stream(INPUTS)] == [result.output]


async def test_a_handles_values_follow_the_store() -> None:
    bridge = create_default_bridge({"evaluator_revision": InMemorySource(EVALUATORS)})
    store = Store()
    handle = use_runnable("evaluator_revision:ex", store, bridge=bridge)
    await handle.load()
    evaluators = bridge.type("evaluator_revision").molecule
    store.set(evaluators.update, "ex", {"settings": {"case_sensitive": True}})
    assert handle.is_dirty is True


def test_camel_case_kinds_name_the_registered_kinds() -> None:
    bridge = create_default_bridge()
    assert bridge.parse("appRevision:r1") == RunnableRef("app_revision", "r1")
    assert bridge.parse({"kind": "evaluatorRevision", "id": "e"}).kind == "evaluator_revision"
    assert "appRevision" in bridge
    assert bridge.type("appRevision") is bridge.type("app_revision")


def test_an_alias_and_its_kind_share_their_atoms() -> None:
    bridge = create_default_bridge()
    alias = bridge.selectors.input_ports("evaluatorRevision:e1")
    assert alias is bridge.selectors.input_ports("evaluator_revision:e1")
    assert bridge.kind_atom("data", "appRevision", "r") is bridge.kind_atom(
        "data", "app_revision", "r"
    )


def test_a_handle_on_an_unknown_kind_fails_at_once() -> None:
    with pytest.raises(UnknownRunnableTypeError):
        use_runnable("notAKind:x", Store(), bridge=create_default_bridge())


async def test_a_handle_by_alias_runs_the_kind() -> None:
    bridge = create_default_bridge({"evaluator_revision": InMemorySource(EVALUATORS)})
    handle = use_runnable("evaluatorRevision:ex", Store(), bridge=bridge)
    assert handle.ref == RunnableRef("evaluator_revision", "ex")
    assert (await handle.execute(INPUTS)).status == ExecutionStatus.SUCCESS


async def test_the_default_bridge_takes_sources_under_camel_case_kinds() -> None:
    bridge = create_default_bridge({"evaluatorRevision": InMemorySource(EVALUATORS)})
    result = await bridge.execute("evaluator_revision:ex", INPUTS)
    assert result.status == ExecutionStatus.SUCCESS
