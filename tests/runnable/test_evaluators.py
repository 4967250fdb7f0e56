"""Built-in evaluators: each check, its settings, and each as an evaluator_revision runnable."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runnable.errors import (
    EvaluatorInputError,
    EvaluatorSettingsError,
    UnknownEvaluatorError,
)
from runnable.evaluators.builtins import (
    BUILTIN_EVALUATORS,
    EvaluatorPreset,
    get_builtin_evaluator,
    run_builtin_evaluator,
)


def evaluate(key: str, settings: dict[str, Any] | None, **inputs: Any) -> dict[str, Any]:
    return BUILTIN_EVALUATORS[key](settings, inputs)


def test_every_builtin_is_registered() -> None:
    assert set(BUILTIN_EVALUATORS) == {
        "exact_match",
        "contains",
        "regex",
        "json_schema",
        "json_field_match",
        "similarity",
    }


# exact_match


def test_exact_match_scores_one_for_equal_text() -> None:
    assert evaluate("exact_match", None, output="Paris", correct_answer="Paris") == {
        "score": 1.0,
        "success": True,
    }


def test_exact_match_scores_zero_for_different_text() -> None:
    result = evaluate("exact_match", None, output="Paris.", correct_answer="Paris")

    assert result == {"score": 0.0, "success": False}


def test_exact_match_ignores_surrounding_whitespace_unless_told() -> None:
    assert evaluate("exact_match", None, output=" Paris\n", correct_answer="Paris")["success"]
    assert not evaluate("exact_match", {"strip": False}, output=" Paris", correct_answer="Paris")[
        "success"
    ]


def test_exact_match_case_sensitivity_is_a_setting() -> None:
    inputs = {"output": "PARIS", "correct_answer": "paris"}

    assert not BUILTIN_EVALUATORS["exact_match"](None, inputs)["success"]
    assert BUILTIN_EVALUATORS["exact_match"]({"case_sensitive": False}, inputs)["success"]


def test_exact_match_compares_json_text_with_a_value_as_values() -> None:
    result = evaluate(
        "exact_match", None, output='{"b": 2, "a": 1}', correct_answer={"a": 1, "b": 2}
    )

    assert result["success"]


def test_exact_match_reads_the_keys_the_settings_name() -> None:
    settings = {"output_key": "answer", "correct_answer_key": "expected"}

    assert evaluate("exact_match", settings, answer="4", expected="4")["success"]


def test_exact_match_accepts_agentas_prediction_input() -> None:
    assert evaluate("exact_match", None, prediction="yes", correct_answer="yes")["success"]


def test_a_missing_input_is_named_with_the_setting_that_chose_it() -> None:
    with pytest.raises(EvaluatorInputError) as caught:
        evaluate("exact_match", None, output="Paris", answer="Paris")

    message = str(caught.value)
    assert "'correct_answer'" in message
    assert "settings.correct_answer_key" in message
    assert "answer, output" in message


# contains


def test_contains_any_succeeds_on_one_substring_and_reports_matches() -> None:
    result = evaluate(
        "contains", {"substrings": ["cat", "dog", "cow"]}, output="The dog sat with a cow."
    )

    assert result == {"score": 1.0, "success": True, "matched": ["dog", "cow"]}


def test_contains_all_needs_every_substring() -> None:
    settings = {"substrings": ["dog", "cat"], "mode": "all"}

    assert not evaluate("contains", settings, output="a dog")["success"]
    assert evaluate("contains", settings, output="a dog and a cat")["success"]


def test_contains_takes_one_substring_by_agentas_name_and_ignores_case_on_request() -> None:
    settings = {"substring": "HELLO", "case_sensitive": False}

    assert evaluate("contains", settings, output="well, hello there")["success"]


# regex


def test_regex_searches_the_output() -> None:
    result = evaluate("regex", {"pattern": r"\d{3}-\d{4}"}, output="call 555-1234 now")

    assert result == {"score": 1.0, "success": True, "matched": True}


def test_regex_should_not_match_inverts_success() -> None:
    settings = {"regex_pattern": r"(?i)sorry", "regex_should_match": False}

    assert evaluate("regex", settings, output="Here is the answer")["success"]
    assert not evaluate("regex", settings, output="Sorry, I cannot")["success"]


def test_regex_case_insensitive_setting() -> None:
    settings = {"pattern": "^yes$", "case_sensitive": False}

    assert evaluate("regex", settings, output="YES")["success"]


def test_an_invalid_pattern_is_a_settings_error_naming_it() -> None:
    with pytest.raises(
        EvaluatorSettingsError, match=r"regex settings: pattern: not a regular expression"
    ):
        evaluate("regex", {"pattern": "(unclosed"}, output="x")


# json_schema

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name"],
}


def test_json_schema_accepts_valid_json_text() -> None:
    result = evaluate("json_schema", {"json_schema": SCHEMA}, output='{"name": "Ada", "age": 36}')

    assert result == {"score": 1.0, "success": True, "errors": []}


def test_json_schema_accepts_json_inside_a_code_fence() -> None:
    output = '```json\n{"name": "Ada"}\n```'

    assert evaluate("json_schema", {"json_schema": SCHEMA}, output=output)["success"]


def test_json_schema_lists_every_violation_with_its_path() -> None:
    result = evaluate("json_schema", {"json_schema": SCHEMA}, output={"age": -1})

    assert not result["success"]
    assert result["errors"] == [
        "(root): 'name' is a required property",
        "age: -1 is less than the minimum of 0",
    ]


def test_json_schema_fails_text_that_is_not_json() -> None:
    result = evaluate("json_schema", {"json_schema": SCHEMA}, output="not json")

    assert not result["success"]
    assert result["errors"][0].startswith("output is not JSON")


def test_an_invalid_schema_is_a_settings_error() -> None:
    with pytest.raises(EvaluatorSettingsError, match="not a JSON schema"):
        evaluate("json_schema", {"json_schema": {"type": "nonsense"}}, output="{}")


# json_field_match


def test_json_field_match_compares_a_nested_field() -> None:
    output = '{"user": {"tags": ["a", "admin"]}}'
    settings = {"json_field": "user.tags.1"}

    result = evaluate("json_field_match", settings, output=output, correct_answer="admin")

    assert result == {"score": 1.0, "success": True, "field_value": "admin"}


def test_json_field_match_compares_numbers_with_their_text() -> None:
    result = evaluate("json_field_match", {"json_field": "n"}, output={"n": 3}, correct_answer="3")

    assert result["success"]


def test_json_field_match_reports_a_missing_field() -> None:
    result = evaluate("json_field_match", {"json_field": "a.b"}, output={"a": {}}, correct_answer=1)

    assert not result["success"]
    assert result["error"] == "output has no field 'a.b'"


def test_json_field_match_needs_a_field() -> None:
    with pytest.raises(EvaluatorSettingsError, match="json_field: Field required"):
        evaluate("json_field_match", {}, output="{}", correct_answer="x")


# similarity


def test_similarity_score_is_the_ratio_and_success_uses_the_threshold() -> None:
    result = evaluate("similarity", {"threshold": 0.8}, output="kitten", correct_answer="sitting")

    assert result["score"] == pytest.approx(2 * 4 / 13)
    assert not result["success"]


def test_similarity_ignores_case_by_default() -> None:
    result = evaluate("similarity", None, output="Hello World", correct_answer="hello world")

    assert result == {"score": 1.0, "success": True}


def test_similarity_threshold_must_be_between_zero_and_one() -> None:
    with pytest.raises(EvaluatorSettingsError, match="threshold"):
        evaluate("similarity", {"similarity_threshold": 1.5}, output="a", correct_answer="a")


@given(st.text(), st.text())
def test_similarity_score_is_between_zero_and_one(a: str, b: str) -> None:
    score = evaluate("similarity", None, output=a, correct_answer=b)["score"]

    assert 0.0 <= score <= 1.0


@given(st.text())
def test_a_text_is_fully_similar_and_exactly_equal_to_itself(text: str) -> None:
    assert evaluate("similarity", None, output=text, correct_answer=text)["score"] == 1.0
    assert evaluate("exact_match", None, output=text, correct_answer=text)["success"]


@given(st.text(min_size=1), st.integers(0, 20), st.integers(0, 20))
def test_any_slice_of_the_output_is_contained(text: str, start: int, length: int) -> None:
    piece = text[start : start + length] or text

    assert evaluate("contains", {"substrings": [piece]}, output=text)["success"]


# settings, registry and runnables


def test_an_unknown_setting_is_refused_by_name() -> None:
    with pytest.raises(
        EvaluatorSettingsError, match="exact_match settings: case_sensitiv: unknown setting"
    ):
        evaluate("exact_match", {"case_sensitiv": False}, output="a", correct_answer="a")


def test_an_unknown_evaluator_lists_the_known_ones() -> None:
    with pytest.raises(UnknownEvaluatorError) as caught:
        get_builtin_evaluator("levenshtein")

    assert str(caught.value).startswith("unknown evaluator 'levenshtein'; built-in evaluators:")
    assert "similarity" in str(caught.value)


def test_agentas_evaluator_keys_are_aliases() -> None:
    assert get_builtin_evaluator("auto_exact_match") is BUILTIN_EVALUATORS["exact_match"]
    assert get_builtin_evaluator("auto_regex_test") is BUILTIN_EVALUATORS["regex"]


@pytest.mark.parametrize("key", sorted(BUILTIN_EVALUATORS))
def test_each_builtin_is_an_evaluator_revision_runnable(key: str) -> None:
    runnable = BUILTIN_EVALUATORS[key].runnable()

    assert runnable.kind == "evaluator_revision"
    assert runnable.id == f"builtin:{key}"
    assert runnable.configuration["evaluator_key"] == key
    assert runnable.schemas.outputs is not None
    assert runnable.schemas.outputs["properties"]["score"] == {"type": "number"}
    assert runnable.schemas.parameters is not None
    assert runnable.schemas.inputs is not None and "output" in runnable.schemas.inputs["required"]


def test_a_runnable_runs_with_its_configured_settings() -> None:
    runnable = BUILTIN_EVALUATORS["regex"].runnable({"pattern": "^ok"})

    assert run_builtin_evaluator(runnable, {"output": "ok then"})["success"]
    assert not run_builtin_evaluator(runnable, {"output": "not ok"})["success"]
    assert run_builtin_evaluator(runnable, {"output": "not ok"}, settings={"pattern": "ok$"})[
        "success"
    ]


def test_a_runnable_names_the_input_its_settings_compare_with() -> None:
    runnable = BUILTIN_EVALUATORS["exact_match"].runnable({"correct_answer_key": "expected"})

    assert runnable.schemas.inputs is not None
    assert runnable.schemas.inputs["required"] == ["output", "expected"]


def test_invalid_settings_cannot_make_a_runnable() -> None:
    with pytest.raises(EvaluatorSettingsError):
        BUILTIN_EVALUATORS["regex"].runnable({"pattern": "("})


@pytest.mark.parametrize(
    ("key", "preset"),
    [(e.key, p) for e in BUILTIN_EVALUATORS.values() for p in e.presets],
    ids=lambda v: getattr(v, "key", v),
)
def test_presets_are_valid_settings(key: str, preset: EvaluatorPreset) -> None:
    evaluator = BUILTIN_EVALUATORS[key]

    settings = evaluator.validate_settings(preset.settings)

    assert isinstance(settings, evaluator.settings_model)


def test_run_by_key_uses_agenta_settings_values() -> None:
    from runnable.types import RunnableData

    runnable = RunnableData(
        id="ev-1",
        kind="evaluator_revision",
        configuration={
            "evaluator_key": "auto_similarity_match",
            "settings_values": {"similarity_threshold": 0.99},
        },
    )

    result = run_builtin_evaluator(runnable, {"output": "colour", "correct_answer": "color"})

    assert not result["success"]
    assert result["score"] > 0.9
