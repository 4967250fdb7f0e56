"""Settings of the built-in evaluators, validated with pydantic.

Unknown settings are refused (a typo must not pass silently); Agenta's setting names
(`regex_pattern`, `regex_should_match`, `similarity_threshold`, `substring`) are
accepted as aliases.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import jsonschema
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ContainsSettings",
    "EvaluatorSettings",
    "ExactMatchSettings",
    "JsonFieldMatchSettings",
    "JsonSchemaSettings",
    "ReferenceSettings",
    "RegexSettings",
    "SimilaritySettings",
]


class EvaluatorSettings(BaseModel):
    """Settings every evaluator has."""

    model_config = ConfigDict(extra="forbid")

    output_key: str = Field(default="output", description="Input holding the value under test")


class ReferenceSettings(EvaluatorSettings):
    """Settings of evaluators that compare the output with an expected value."""

    correct_answer_key: str = Field(
        default="correct_answer", description="Input holding the expected value"
    )


class ExactMatchSettings(ReferenceSettings):
    """Output equals the expected value (JSON values compare as values)."""

    case_sensitive: bool = True
    strip: bool = Field(default=True, description="Ignore surrounding whitespace")


class ContainsSettings(EvaluatorSettings):
    """Output contains any (or all) of the substrings."""

    substrings: list[str] = Field(
        min_length=1, validation_alias=AliasChoices("substrings", "substring")
    )
    mode: Literal["any", "all"] = "any"
    case_sensitive: bool = True

    @field_validator("substrings", mode="before")
    @classmethod
    def _one_substring(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class RegexSettings(EvaluatorSettings):
    """Output matches (or, with should_match false, does not match) a pattern."""

    pattern: str = Field(validation_alias=AliasChoices("pattern", "regex_pattern"))
    should_match: bool = Field(
        default=True, validation_alias=AliasChoices("should_match", "regex_should_match")
    )
    case_sensitive: bool = True

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value


class JsonSchemaSettings(EvaluatorSettings):
    """Output is JSON that satisfies a JSON schema."""

    json_schema: dict[str, Any] = Field(validation_alias=AliasChoices("json_schema", "schema"))

    @field_validator("json_schema")
    @classmethod
    def _is_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            jsonschema.validators.validator_for(value).check_schema(value)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"not a JSON schema: {exc.message}") from None
        return value


class JsonFieldMatchSettings(ReferenceSettings):
    """A field of the JSON output (dotted path, list indices allowed) equals the expected value."""

    json_field: str = Field(min_length=1)
    case_sensitive: bool = True


class SimilaritySettings(ReferenceSettings):
    """Output is at least `threshold` similar to the expected text (difflib ratio, 0 to 1)."""

    threshold: float = Field(
        default=0.5, ge=0, le=1, validation_alias=AliasChoices("threshold", "similarity_threshold")
    )
    case_sensitive: bool = False
