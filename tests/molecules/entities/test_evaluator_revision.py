"""evaluator_revision_molecule: settings, presets, apply_preset, default ports."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from molecules import (
    EntityNotLoadedError,
    EvaluatorRevisionData,
    Store,
    UnknownPresetError,
    evaluator_revision_molecule,
)
from molecules.entities import EvaluatorRevisionMolecule, evaluator_revision_to_runnable
from runnable.sources import InMemorySource

REGEX: dict[str, Any] = {
    "name": "has an email",
    "evaluator_key": "regex",
    "settings": {"pattern": "@", "case_sensitive": True},
    "presets": [{"key": "strict", "name": "Strict", "settings": {"pattern": "^\\S+@\\S+$"}}],
}


@attrs.frozen
class ShippedPreset:
    """A preset as a product ships it (any object with key, name and settings)."""

    key: str
    name: str
    settings: dict[str, Any]


SHIPPED = {"regex": [ShippedPreset("url", "Contains a URL", {"pattern": "https?://"})]}


async def loaded(**revision: Any) -> tuple[EvaluatorRevisionMolecule, Store]:
    source = InMemorySource({"ev": revision or REGEX}, name="evaluators")
    m = evaluator_revision_molecule(source, presets=SHIPPED)
    store = Store()
    await store.set(m.load, "ev")
    return m, store


async def test_presets_are_the_revisions_own_then_the_shipped_ones() -> None:
    m, store = await loaded()
    assert [p.key for p in store.get(m.presets("ev"))] == ["strict", "url"]


async def test_the_revisions_preset_wins_over_a_shipped_one_with_the_same_key() -> None:
    m, store = await loaded(
        **{**REGEX, "presets": [{"key": "url", "settings": {"pattern": "mine"}}]}
    )
    presets = store.get(m.presets("ev"))
    assert [(p.key, p.settings) for p in presets] == [("url", {"pattern": "mine"})]


async def test_apply_preset_writes_its_settings_into_the_draft() -> None:
    m, store = await loaded()
    store.set(m.apply_preset, "ev", "url")
    assert store.get(m.draft("ev")) == {"settings": {"pattern": "https?://"}}
    assert store.get(m.settings("ev")) == {"pattern": "https?://"}
    assert store.get(m.is_dirty("ev")) is True
    assert store.get(m.server_data("ev")).settings == REGEX["settings"]


async def test_applying_the_current_settings_leaves_nothing_to_save() -> None:
    m, store = await loaded(**{**REGEX, "settings": {"pattern": "https?://"}})
    store.set(m.apply_preset, "ev", "url")
    assert store.get(m.is_dirty("ev")) is False


async def test_an_unknown_preset_is_refused_naming_the_known_ones() -> None:
    m, store = await loaded()
    with pytest.raises(UnknownPresetError, match=r"no preset 'lenient' \(presets: strict, url\)"):
        store.set(m.apply_preset, "ev", "lenient")
    assert store.get(m.draft("ev")) is None


def test_a_preset_needs_the_revision_loaded() -> None:
    m = evaluator_revision_molecule(InMemorySource())
    with pytest.raises(EntityNotLoadedError):
        Store().set(m.apply_preset, "ev", "strict")


async def test_output_ports_default_to_a_score_number() -> None:
    m, store = await loaded()
    ports = store.get(m.output_ports("ev"))
    assert [(p.key, p.type) for p in ports] == [("score", "number")]


async def test_an_output_schema_replaces_the_default_ports() -> None:
    schema = {
        "type": "object",
        "properties": {"score": {"type": "number"}, "success": {"type": "boolean"}},
    }
    m, store = await loaded(**{**REGEX, "output_schema": schema})
    assert [p.key for p in store.get(m.output_ports("ev"))] == ["score", "success"]


async def test_input_ports_are_the_output_and_the_reference_input() -> None:
    m, store = await loaded(**{**REGEX, "settings": {"correct_answer_key": "expected"}})
    ports = store.get(m.input_ports("ev"))
    assert [(p.key, p.required) for p in ports] == [("output", True), ("expected", False)]


async def test_an_input_schema_gives_the_input_ports() -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
    }
    m, store = await loaded(**{**REGEX, "input_schema": schema})
    assert [p.key for p in store.get(m.input_ports("ev"))] == ["answer"]


async def test_configuration_names_the_evaluator_and_its_settings() -> None:
    m, store = await loaded()
    assert store.get(m.configuration("ev")) == {
        "evaluator_key": "regex",
        "settings": REGEX["settings"],
    }


async def test_an_http_evaluator_has_an_invocation_url() -> None:
    m, store = await loaded(name="judge", uri="http://evals.local/judge")
    assert store.get(m.invocation_url("ev")) == "http://evals.local/judge/test"
    runnable = evaluator_revision_to_runnable(store.get(m.data("ev")))
    assert runnable.invocation_url == "http://evals.local/judge/test"
    assert runnable.kind == "evaluator_revision"


async def test_evaluator_data_accepts_plain_dicts() -> None:
    revision = EvaluatorRevisionData.model_validate({"id": "e", **REGEX})
    assert revision.presets[0].key == "strict"


async def test_by_default_the_built_in_evaluators_presets_are_offered() -> None:
    m = evaluator_revision_molecule(
        InMemorySource({"ev": {"evaluator_key": "similarity", "settings": {"threshold": 0.7}}})
    )
    store = Store()
    await store.set(m.load, "ev")
    assert [p.key for p in store.get(m.presets("ev"))] == ["lenient", "strict"]
    store.set(m.apply_preset, "ev", "strict")
    assert store.get(m.settings("ev")) == {"threshold": 0.9}


async def test_a_built_in_evaluator_gives_its_inputs_and_settings_schema() -> None:
    m, store = await loaded(evaluator_key="exact_match", settings={"correct_answer_key": "gold"})
    ports = store.get(m.input_ports("ev"))
    assert [(p.key, p.required) for p in ports] == [("output", True), ("gold", True)]
    assert "case_sensitive" in store.get(m.schemas("ev")).parameters["properties"]


async def test_settings_a_built_in_evaluator_refuses_fall_back_to_the_default_ports() -> None:
    m, store = await loaded(evaluator_key="exact_match", settings={"nope": 1})
    assert [p.key for p in store.get(m.input_ports("ev"))] == ["output", "correct_answer"]
