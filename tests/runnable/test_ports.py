"""Tests of ports from templates and JSON schemas, and of input validation."""

from typing import Any

import pytest

from runnable.errors import InputValidationError, SchemaError
from runnable.ports import (
    format_key_as_name,
    input_ports_from_schema,
    input_ports_from_template,
    input_ports_from_variables,
    output_ports_from_schema,
    resolve_refs,
    schema_from_ports,
    validate_inputs,
)
from runnable.types import RunnablePort


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("user_name", "User name"),
        ("firstName", "First Name"),
        ("userID", "User ID"),
        ("country", "Country"),
        ("kebab-case-key", "Kebab case key"),
        ("", ""),
    ],
)
def test_format_key_as_name(key: str, name: str) -> None:
    assert format_key_as_name(key) == name


def test_template_variables_are_required_string_ports_in_order() -> None:
    ports = input_ports_from_template(["Hi {{name}}", "{{topic}} and {{name}}"])
    assert [(p.key, p.name, p.type, p.required) for p in ports] == [
        ("name", "Name", "string", True),
        ("topic", "Topic", "string", True),
    ]


def test_template_ports_follow_the_template_format() -> None:
    ports = input_ports_from_template("{% for x in items %}{{ x }}{% endfor %}", "jinja2")
    assert [p.key for p in ports] == ["items"]


def test_variables_become_ports_without_duplicates() -> None:
    assert [p.key for p in input_ports_from_variables(["a", "b", "a"])] == ["a", "b"]


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "country": {"$ref": "#/$defs/Country", "description": "Where"},
        "max_tokens": {"type": ["integer", "null"], "default": 10},
        "style": {"$ref": "#/definitions/Style", "title": "Writing style"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["country", "tags"],
    "$defs": {"Country": {"type": "string", "enum": ["FR", "DE"]}},
    "definitions": {"Style": {"anyOf": [{"type": "null"}, {"type": "string"}]}},
}


def test_schema_ports_take_title_else_key_as_name_type_and_required() -> None:
    ports = input_ports_from_schema(SCHEMA)
    assert [(p.key, p.name, p.type, p.required) for p in ports] == [
        ("country", "Country", "string", True),
        ("max_tokens", "Max tokens", "integer", False),
        ("style", "Writing style", "string", False),
        ("tags", "Tags", "array", True),
    ]


def test_schema_ports_resolve_refs_into_defs_and_definitions() -> None:
    ports = {p.key: p for p in input_ports_from_schema(SCHEMA)}
    assert ports["country"].schema == {
        "type": "string",
        "enum": ["FR", "DE"],
        "description": "Where",
    }
    assert ports["country"].description == "Where"
    assert ports["style"].schema is not None and "anyOf" in ports["style"].schema
    assert ports["max_tokens"].default == 10


def test_a_ref_at_the_root_is_resolved() -> None:
    schema = {"$ref": "#/$defs/In", "$defs": {"In": {"type": "object", "properties": {"q": {}}}}}
    assert [p.key for p in input_ports_from_schema(schema)] == ["q"]


def test_a_recursive_ref_is_left_in_place() -> None:
    schema = {
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
        "$ref": "#/$defs/Node",
    }
    resolved = resolve_refs(schema)
    assert resolved["properties"]["child"] == {"$ref": "#/$defs/Node"}
    assert resolved["$defs"] == schema["$defs"]


def test_an_unresolvable_ref_names_it() -> None:
    with pytest.raises(SchemaError, match="'#/\\$defs/Nope'"):
        input_ports_from_schema({"type": "object", "properties": {"a": {"$ref": "#/$defs/Nope"}}})


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "object", "properties": {"a": {"type": "strang"}}}, "properties/a/type"),
        ({"type": "object", "required": "a"}, "required"),
        (["not", "a", "schema"], "must be an object, not list"),
        ({"type": "string"}, "must describe an object"),
    ],
)
def test_a_bad_input_schema_names_the_problem(schema: Any, problem: str) -> None:
    with pytest.raises(SchemaError, match=problem):
        input_ports_from_schema(schema)


def test_no_input_schema_means_no_ports() -> None:
    assert input_ports_from_schema(None) == []
    assert input_ports_from_schema({"type": "object"}) == []


def test_an_object_output_schema_gives_one_port_per_property() -> None:
    schema = {"type": "object", "properties": {"score": {"type": "number"}}, "required": ["score"]}
    (port,) = output_ports_from_schema(schema)
    assert (port.key, port.type, port.required) == ("score", "number", True)


def test_a_non_object_output_schema_is_one_output_port_of_its_type() -> None:
    (port,) = output_ports_from_schema({"type": "string", "title": "Answer"})
    assert (port.key, port.name, port.type) == ("output", "Answer", "string")


def test_an_object_output_without_properties_is_output_of_unknown_type() -> None:
    (port,) = output_ports_from_schema({"type": "object", "additionalProperties": True})
    assert (port.key, port.type) == ("output", "unknown")
    assert output_ports_from_schema(None)[0].type == "unknown"


def test_ports_make_an_object_schema() -> None:
    ports: list[Any] = [
        RunnablePort(key="a", required=True),
        {"key": "b", "schema": {"type": "integer"}},
    ]
    assert schema_from_ports(ports) == {
        "type": "object",
        "properties": {"a": {}, "b": {"type": "integer"}},
        "required": ["a"],
    }


def test_validation_reports_every_bad_or_missing_input_by_name() -> None:
    with pytest.raises(InputValidationError) as info:
        validate_inputs(SCHEMA, {"country": "IT", "max_tokens": "many"})
    assert list(info.value.errors) == ["country", "max_tokens", "tags"]
    assert info.value.errors["tags"] == ["is required but missing"]
    message = str(info.value)
    assert "country" in message and "'IT' is not one of" in message
    assert "max_tokens" in message and "tags" in message


def test_nested_problems_name_the_input_and_the_path_inside_it() -> None:
    with pytest.raises(InputValidationError, match="tags: 1: 3 is not of type 'string'"):
        validate_inputs(SCHEMA, {"country": "FR", "tags": ["ok", 3]})


def test_valid_inputs_pass() -> None:
    validate_inputs(SCHEMA, {"country": "FR", "tags": []})


def test_template_ports_only_need_presence_not_strings() -> None:
    ports = input_ports_from_template("{{ user.name }} {{ n }}", "jinja2")
    validate_inputs(ports, {"user": {"name": "Ann"}, "n": 3})
    with pytest.raises(InputValidationError, match=r"invalid inputs \(user\)"):
        validate_inputs(ports, {"n": 3})


def test_validation_with_a_bad_schema_is_a_schema_error() -> None:
    with pytest.raises(SchemaError):
        validate_inputs({"type": 12}, {})


def test_a_typed_port_without_schema_checks_its_type() -> None:
    ports = [RunnablePort("count", type="integer", required=True), RunnablePort("user")]
    validate_inputs(ports, {"count": 3, "user": {"name": "Ada"}})  # string ports: presence only
    with pytest.raises(InputValidationError, match="count"):
        validate_inputs(ports, {"count": "three"})


def test_an_embedded_models_defs_ref_resolves_against_its_own_definitions() -> None:
    # FastAPI leaves a pydantic model's `$defs` inside the document, refs relative to it.
    document = {
        "paths": {
            "/invoke": {
                "schema": {
                    "$defs": {"Status": {"type": "object", "title": "Status"}},
                    "properties": {"status": {"$ref": "#/$defs/Status"}},
                }
            }
        }
    }
    resolved = resolve_refs(document)
    assert resolved["paths"]["/invoke"]["schema"]["properties"]["status"]["title"] == "Status"


def test_an_unresolvable_ref_in_a_big_document_names_the_ref_and_its_place_only() -> None:
    document = {
        "paths": {"/run": {"schema": {"properties": {"x": {"$ref": "#/$defs/Gone"}}}}},
        "padding": "y" * 10_000,
    }
    with pytest.raises(SchemaError) as caught:
        resolve_refs(document)
    message = str(caught.value)
    assert "'#/$defs/Gone'" in message
    assert "/paths/~1run/schema/properties/x" in message
    assert len(message) < 200
