"""Built-in evaluators: exact match, contains, regex, JSON schema, JSON field match, similarity.

Each is a pure function of `(settings, inputs)` returning at least
`{"score": float, "success": bool}`, and each is also a runnable of kind
`evaluator_revision` (`BUILTIN_EVALUATORS[key].runnable(settings)`).

Inputs: the value under test is `inputs["output"]` (or `inputs["prediction"]`, Agenta's
name; `output_key` picks another); the reference, where one is needed, is
`inputs[correct_answer_key]` (default "correct_answer"). Settings are validated with
pydantic; an unknown or bad setting raises `EvaluatorSettingsError` naming it. Agenta's
evaluator keys (`auto_exact_match`, `auto_regex_test`...) and setting names
(`regex_pattern`, `similarity_threshold`...) are accepted as aliases.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs
from pydantic import ValidationError

from runnable.errors import EvaluatorInputError, EvaluatorSettingsError, UnknownEvaluatorError
from runnable.evaluators.settings import (
    ContainsSettings,
    EvaluatorSettings,
    ExactMatchSettings,
    JsonFieldMatchSettings,
    JsonSchemaSettings,
    RegexSettings,
    SimilaritySettings,
)
from runnable.ports import schema_violations
from runnable.types import RunnableData, RunnableSchemas

__all__ = [
    "BUILTIN_EVALUATORS",
    "BuiltinEvaluator",
    "EvaluatorPreset",
    "contains",
    "exact_match",
    "get_builtin_evaluator",
    "json_field_match",
    "json_schema",
    "regex",
    "run_builtin_evaluator",
    "similarity",
]

EvaluatorOutput = dict[str, Any]
_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n(.*?)\n?```\s*$", re.DOTALL)


def _fail(message: str) -> EvaluatorInputError:
    return EvaluatorInputError(message)


def _get(inputs: Mapping[str, Any], key: str, evaluator: str, setting: str) -> Any:
    if key in inputs:
        return inputs[key]
    if key == "output" and "prediction" in inputs:
        return inputs["prediction"]
    known = ", ".join(sorted(map(str, inputs))) or "none"
    raise _fail(f"{evaluator} needs input {key!r} (settings.{setting}); inputs given: {known}")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _json(value: Any) -> Any:
    """A JSON value from an output; text is parsed (inside a markdown code fence, if any)."""
    if not isinstance(value, str):
        return value
    fenced = _FENCE.match(value)
    return json.loads(fenced.group(1) if fenced else value)


def _normal(text: str, case_sensitive: bool, strip: bool) -> str:
    text = text.strip() if strip else text
    return text if case_sensitive else text.casefold()


def _equal(actual: Any, expected: Any, case_sensitive: bool, strip: bool = True) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        return _normal(actual, case_sensitive, strip) == _normal(expected, case_sensitive, strip)
    if not isinstance(actual, str) and not isinstance(expected, str):
        return bool(actual == expected)
    text, other = (actual, expected) if isinstance(actual, str) else (expected, actual)
    try:
        return bool(_json(text) == other)
    except ValueError:
        return _normal(text, case_sensitive, strip) == _normal(_text(other), case_sensitive, strip)


def _result(success: bool, **details: Any) -> EvaluatorOutput:
    return {"score": 1.0 if success else 0.0, "success": success, **details}


def exact_match(settings: ExactMatchSettings, inputs: Mapping[str, Any]) -> EvaluatorOutput:
    """1.0 when the output equals the expected value."""
    output = _get(inputs, settings.output_key, "exact_match", "output_key")
    expected = _get(inputs, settings.correct_answer_key, "exact_match", "correct_answer_key")
    return _result(_equal(output, expected, settings.case_sensitive, settings.strip))


def contains(settings: ContainsSettings, inputs: Mapping[str, Any]) -> EvaluatorOutput:
    """1.0 when the output contains any (mode "any") or all (mode "all") of the substrings."""
    text = _normal(
        _text(_get(inputs, settings.output_key, "contains", "output_key")),
        settings.case_sensitive,
        strip=False,
    )
    matched = [s for s in settings.substrings if _normal(s, settings.case_sensitive, False) in text]
    wanted = len(settings.substrings) if settings.mode == "all" else 1
    return _result(len(matched) >= wanted, matched=matched)


def regex(settings: RegexSettings, inputs: Mapping[str, Any]) -> EvaluatorOutput:
    """1.0 when the pattern is found in the output (or is not, with should_match false)."""
    text = _text(_get(inputs, settings.output_key, "regex", "output_key"))
    flags = 0 if settings.case_sensitive else re.IGNORECASE
    found = re.search(settings.pattern, text, flags) is not None
    return _result(found == settings.should_match, matched=found)


def json_schema(settings: JsonSchemaSettings, inputs: Mapping[str, Any]) -> EvaluatorOutput:
    """1.0 when the output is JSON satisfying the schema; `errors` says what does not."""
    output = _get(inputs, settings.output_key, "json_schema", "output_key")
    try:
        document = _json(output)
    except ValueError as exc:
        return _result(False, errors=[f"output is not JSON: {exc}"])
    errors = [
        f"{path}: {message}" for path, message in schema_violations(document, settings.json_schema)
    ]
    return _result(not errors, errors=errors)


_MISSING = object()


def _walk(document: Any, path: str) -> Any:
    current = document
    for segment in path.split("."):
        if isinstance(current, Mapping) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and segment.lstrip("-").isdigit():
            index = int(segment)
            if not -len(current) <= index < len(current):
                return _MISSING
            current = current[index]
        else:
            return _MISSING
    return current


def json_field_match(
    settings: JsonFieldMatchSettings, inputs: Mapping[str, Any]
) -> EvaluatorOutput:
    """1.0 when the output's JSON field `json_field` equals the expected value."""
    output = _get(inputs, settings.output_key, "json_field_match", "output_key")
    expected = _get(inputs, settings.correct_answer_key, "json_field_match", "correct_answer_key")
    try:
        document = _json(output)
    except ValueError as exc:
        return _result(False, field_value=None, error=f"output is not JSON: {exc}")
    value = _walk(document, settings.json_field)
    if value is _MISSING:
        return _result(
            False, field_value=None, error=f"output has no field {settings.json_field!r}"
        )
    return _result(_equal(value, expected, settings.case_sensitive), field_value=value)


def similarity(settings: SimilaritySettings, inputs: Mapping[str, Any]) -> EvaluatorOutput:
    """The similarity ratio (0 to 1) of output and expected text; success at the threshold."""
    output = _text(_get(inputs, settings.output_key, "similarity", "output_key"))
    expected = _text(_get(inputs, settings.correct_answer_key, "similarity", "correct_answer_key"))
    a = _normal(output, settings.case_sensitive, strip=True)
    b = _normal(expected, settings.case_sensitive, strip=True)
    score = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    return {"score": score, "success": score >= settings.threshold}


@attrs.frozen(slots=True)
class EvaluatorPreset:
    """A named set of settings for an evaluator."""

    key: str
    name: str
    settings: Mapping[str, Any]


_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"score": {"type": "number"}, "success": {"type": "boolean"}},
    "required": ["score", "success"],
}


@attrs.frozen(slots=True)
class BuiltinEvaluator:
    """One built-in evaluator: call it as `evaluator(settings, inputs)`."""

    key: str
    name: str
    settings_model: type[EvaluatorSettings]
    function: Callable[[Any, Mapping[str, Any]], EvaluatorOutput]
    presets: tuple[EvaluatorPreset, ...] = ()

    @property
    def description(self) -> str:
        """What the evaluator checks."""
        return (self.settings_model.__doc__ or self.name).strip()

    def validate_settings(self, settings: Mapping[str, Any] | None) -> EvaluatorSettings:
        """Settings as the evaluator's model; EvaluatorSettingsError names each bad one."""
        try:
            return self.settings_model.model_validate(dict(settings or {}))
        except ValidationError as exc:
            known = ", ".join(self.settings_model.model_fields)
            problems = []
            for error in exc.errors(include_url=False):
                where = ".".join(map(str, error["loc"])) or "settings"
                if error["type"] == "extra_forbidden":
                    problems.append(f"{where}: unknown setting (known: {known})")
                else:
                    problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
            raise EvaluatorSettingsError(f"{self.key} settings: {'; '.join(problems)}") from None

    def __call__(
        self, settings: Mapping[str, Any] | None, inputs: Mapping[str, Any]
    ) -> EvaluatorOutput:
        if not isinstance(inputs, Mapping):
            raise _fail(f"{self.key} needs inputs as a mapping, got {type(inputs).__name__}")
        return self.function(self.validate_settings(settings), inputs)

    def settings_schema(self) -> dict[str, Any]:
        """The JSON schema of this evaluator's settings."""
        return self.settings_model.model_json_schema()

    def runnable(self, settings: Mapping[str, Any] | None = None) -> RunnableData:
        """This evaluator as a runnable of kind `evaluator_revision`."""
        model = self.validate_settings(settings) if settings else None
        values = model.model_dump(mode="json") if model is not None else dict(settings or {})
        fields = self.settings_model.model_fields
        input_keys = ["output"]
        if "correct_answer_key" in fields:
            input_keys.append(values.get("correct_answer_key", "correct_answer"))
        return RunnableData(
            id=f"builtin:{self.key}",
            kind="evaluator_revision",
            name=self.name,
            slug=self.key,
            configuration={"evaluator_key": self.key, "settings": values},
            schemas=RunnableSchemas(
                inputs={
                    "type": "object",
                    "properties": {key: {} for key in input_keys},
                    "required": input_keys,
                },
                outputs=_OUTPUT_SCHEMA,
                parameters=self.settings_schema(),
            ),
        )


BUILTIN_EVALUATORS: Mapping[str, BuiltinEvaluator] = MappingProxyType(
    {
        "exact_match": BuiltinEvaluator(
            "exact_match",
            "Exact match",
            ExactMatchSettings,
            exact_match,
            (EvaluatorPreset("ignore_case", "Ignore case", {"case_sensitive": False}),),
        ),
        "contains": BuiltinEvaluator("contains", "Contains", ContainsSettings, contains),
        "regex": BuiltinEvaluator(
            "regex",
            "Regex test",
            RegexSettings,
            regex,
            (
                EvaluatorPreset(
                    "email", "Contains an email", {"pattern": r"[\w.+-]+@[\w-]+\.[\w.]+"}
                ),
                EvaluatorPreset("url", "Contains a URL", {"pattern": r"https?://\S+"}),
            ),
        ),
        "json_schema": BuiltinEvaluator(
            "json_schema", "JSON schema", JsonSchemaSettings, json_schema
        ),
        "json_field_match": BuiltinEvaluator(
            "json_field_match", "JSON field match", JsonFieldMatchSettings, json_field_match
        ),
        "similarity": BuiltinEvaluator(
            "similarity",
            "String similarity",
            SimilaritySettings,
            similarity,
            (
                EvaluatorPreset("lenient", "Lenient", {"threshold": 0.5}),
                EvaluatorPreset("strict", "Strict", {"threshold": 0.9}),
            ),
        ),
    }
)

# Agenta's evaluator keys for the same checks.
_ALIASES = MappingProxyType(
    {
        "auto_exact_match": "exact_match",
        "auto_contains": "contains",
        "auto_contains_any": "contains",
        "auto_regex_test": "regex",
        "field_match_test": "json_field_match",
        "auto_similarity_match": "similarity",
    }
)


def get_builtin_evaluator(key: str) -> BuiltinEvaluator:
    """The built-in evaluator for `key` (or its Agenta alias); UnknownEvaluatorError if none."""
    found = BUILTIN_EVALUATORS.get(_ALIASES.get(key, key))
    if found is None:
        raise UnknownEvaluatorError(key, sorted(BUILTIN_EVALUATORS))
    return found


def run_builtin_evaluator(
    evaluator: str | RunnableData,
    inputs: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
) -> EvaluatorOutput:
    """Run a built-in evaluator named by key or by its runnable (settings from its config).

    Explicit `settings` replace the runnable's. A runnable's configuration may hold
    `evaluator_key` and `settings` (or Agenta's `settings_values`).
    """
    if isinstance(evaluator, RunnableData):
        config = evaluator.configuration
        key = config.get("evaluator_key") or evaluator.slug or evaluator.id.removeprefix("builtin:")
        if settings is None:
            settings = config.get("settings", config.get("settings_values"))
    else:
        key = evaluator
    return get_builtin_evaluator(str(key))(settings, inputs)
