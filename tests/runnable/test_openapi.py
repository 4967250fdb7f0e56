"""Tests of reading an app's interface from its OpenAPI document."""

from typing import Any

import pytest

from runnable.errors import OpenAPIError
from runnable.openapi import OpenAPIInterface, invocation_url, parse_inspect, parse_openapi


def _operation(body_ref: str, response: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "requestBody": {"content": {"application/json": {"schema": {"$ref": body_ref}}}}
    }
    if response is not None:
        operation["responses"] = {"200": {"content": {"application/json": {"schema": response}}}}
    return operation


NEW_STYLE: dict[str, Any] = {
    "openapi": "3.1.0",
    "paths": {
        "/my-app/test": {
            "post": _operation(
                "#/components/schemas/TestBody", {"$ref": "#/components/schemas/Response"}
            )
        },
        "/my-app/run": {"post": _operation("#/components/schemas/RunBody")},
        "/my-app/health": {"get": {}},
    },
    "components": {
        "schemas": {
            "Inputs": {
                "type": "object",
                "properties": {"country": {"type": "string", "title": "Country"}},
                "required": ["country"],
            },
            "Config": {"type": "object", "properties": {"temperature": {"type": "number"}}},
            "TestBody": {
                "type": "object",
                "properties": {
                    "inputs": {"$ref": "#/components/schemas/Inputs"},
                    "ag_config": {"$ref": "#/components/schemas/Config"},
                },
            },
            "RunBody": {
                "type": "object",
                "properties": {"inputs": {"$ref": "#/components/schemas/Inputs"}},
            },
            "Response": {
                "type": "object",
                "properties": {
                    "version": {"type": "string"},
                    "data": {"type": "string", "title": "Answer"},
                    "trace_id": {"type": "string"},
                },
            },
        }
    },
}

LEGACY_CHAT: dict[str, Any] = {
    "openapi": "3.0.2",
    "paths": {
        "/generate": {"post": _operation("#/components/schemas/Body", {"type": "string"})},
        "/generate_deployed": {"post": _operation("#/components/schemas/Body")},
    },
    "components": {
        "schemas": {
            "Body": {
                "type": "object",
                "properties": {
                    "context": {"type": "string"},
                    "messages": {"type": "array", "items": {"type": "object"}},
                    "ag_config": {"type": "object"},
                    "app_id": {"type": "string"},
                    "ids": {"type": "array"},
                },
                "required": ["context", "app_id"],
            }
        }
    },
}


def test_new_style_endpoints_under_a_route_prefix() -> None:
    interface = parse_openapi(NEW_STYLE)
    assert interface.route_prefix == "/my-app"
    assert sorted(interface.endpoints) == ["run", "test"]
    test = interface.endpoints["test"]
    assert test.path == "/my-app/test"
    assert test.inputs_schema is not None
    assert test.inputs_schema["required"] == ["country"]
    assert test.config_schema is not None
    assert test.config_schema["properties"] == {"temperature": {"type": "number"}}
    assert interface.endpoints["run"].config_schema is None


def test_output_schema_is_the_data_property_of_the_response() -> None:
    test = parse_openapi(NEW_STYLE).endpoints["test"]
    assert test.output_schema == {"type": "string", "title": "Answer"}
    (port,) = test.output_ports()
    assert (port.key, port.name, port.type) == ("output", "Answer", "string")


def test_input_ports_come_from_the_inputs_property() -> None:
    ports = parse_openapi(NEW_STYLE).endpoints["test"].input_ports()
    assert [(p.key, p.required) for p in ports] == [("country", True)]


def test_legacy_inputs_are_top_level_properties_minus_config_messages_and_ids() -> None:
    generate = parse_openapi(LEGACY_CHAT).endpoints["generate"]
    assert generate.inputs_schema == {
        "type": "object",
        "properties": {"context": {"type": "string"}},
        "required": ["context"],
    }
    assert generate.output_schema == {"type": "string"}
    assert generate.is_chat


def test_chat_only_when_a_messages_schema_exists() -> None:
    assert parse_openapi(LEGACY_CHAT).is_chat
    assert not parse_openapi(NEW_STYLE).is_chat


def test_modes_pick_the_newest_endpoint() -> None:
    new, legacy = parse_openapi(NEW_STYLE), parse_openapi(LEGACY_CHAT)
    assert new.endpoint("direct") is new.endpoints["test"]
    assert new.endpoint("deployed") is new.endpoints["run"]
    assert legacy.endpoint("direct") is legacy.endpoints["generate"]
    assert legacy.endpoint("deployed") is legacy.endpoints["generate_deployed"]


def test_an_explicit_route_prefix_selects_its_paths() -> None:
    document: dict[str, Any] = {"paths": {"/a/test": {"post": {}}, "/b/test": {"post": {}}}}
    assert parse_openapi(document, route_prefix="b/").endpoints["test"].path == "/b/test"
    assert parse_openapi(document, route_prefix="/c").endpoints == {}


def test_an_unprefixed_endpoint_wins_without_a_prefix() -> None:
    document: dict[str, Any] = {"paths": {"/x/test": {"post": {}}, "/test": {"post": {}}}}
    interface = parse_openapi(document)
    assert (interface.route_prefix, interface.endpoints["test"].path) == ("", "/test")


def test_an_endpoint_without_a_body_has_no_schemas() -> None:
    endpoint = parse_openapi({"paths": {"/run": {"post": {}}}}).endpoints["run"]
    assert endpoint.inputs_schema is None and endpoint.output_schema is None
    assert not endpoint.is_chat
    assert endpoint.input_ports() == []


def test_schemas_are_the_runnable_schemas() -> None:
    schemas = parse_openapi(NEW_STYLE).endpoints["test"].schemas
    assert schemas.parameters is not None and schemas.messages is None


def test_interface_round_trips_through_json() -> None:
    interface = parse_openapi(NEW_STYLE)
    assert OpenAPIInterface.model_validate_json(interface.model_dump_json()) == interface


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"openapi": "3.1.0"}, "'paths'"),
        ([1, 2], "'paths'"),
        ({"paths": {"/test": {"post": _operation("#/components/schemas/Nope")}}}, "Nope"),
    ],
)
def test_a_bad_document_names_the_problem(document: Any, problem: str) -> None:
    with pytest.raises(OpenAPIError, match=problem):
        parse_openapi(document)


@pytest.mark.parametrize(
    ("uri", "mode", "url"),
    [
        ("http://127.0.0.1:8000/app", "direct", "http://127.0.0.1:8000/app/test"),
        ("http://127.0.0.1:8000/app/", "deployed", "http://127.0.0.1:8000/app/run"),
        ("http://127.0.0.1:8000/app/test", "deployed", "http://127.0.0.1:8000/app/run"),
        ("http://h/app/generate_deployed", "direct", "http://h/app/test"),
        (None, "direct", None),
        ("", "deployed", None),
    ],
)
def test_invocation_url(uri: str | None, mode: str, url: str | None) -> None:
    assert invocation_url(uri, mode) == url


def test_invocation_url_refuses_an_unknown_mode() -> None:
    with pytest.raises(OpenAPIError, match="'staging'"):
        invocation_url("http://h/app", "staging")


LEGACY_SDK_STYLE: dict[str, Any] = {
    "paths": {
        "/capital/test": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "ag_config": {"type": "object"},
                                    "country": {"title": "Country"},
                                },
                                "required": ["country"],
                            }
                        }
                    }
                }
            }
        },
        "/capital/run": {"post": {}},
    }
}


def test_inputs_that_are_top_level_body_fields_are_sent_as_fields() -> None:
    interface = parse_openapi(LEGACY_SDK_STYLE, route_prefix="capital")
    test = interface.endpoints["test"]
    assert test.request_format == "fields"
    assert [p.key for p in test.input_ports()] == ["country"]
    assert test.request("direct").with_config is True


def test_a_deployed_endpoint_takes_no_config() -> None:
    run = parse_openapi(LEGACY_SDK_STYLE).endpoints["run"]
    assert run.request("deployed").with_config is False


def test_a_document_listing_invoke_is_read_as_the_current_sdks() -> None:
    document = {"paths": {"/invoke": {"post": {}}, "/inspect": {"post": {}}}}
    interface = parse_openapi(document)
    assert list(interface.endpoints) == ["invoke"]
    assert interface.endpoint("direct") is interface.endpoint("deployed")
    invoke = interface.endpoints["invoke"]
    assert invoke.request("direct").body == "invoke"
    assert invoke.request("direct").with_config is True
    assert invoke.request("deployed").with_config is False


INSPECT_ANSWER: dict[str, Any] = {
    "revision": {
        "data": {
            "uri": "user:custom:app.capital:latest",
            "schemas": {
                "inputs": {
                    "type": "object",
                    "properties": {
                        "country": {"$ref": "#/$defs/Country"},
                        "messages": {"type": "array"},
                    },
                    "required": ["country", "messages"],
                    "$defs": {"Country": {"type": "string"}},
                },
                "parameters": {"type": "object", "properties": {"greeting": {"type": "string"}}},
                "outputs": {"type": "string"},
            },
            "parameters": {"greeting": "Hello"},
        }
    }
}


def test_an_inspect_answer_gives_one_invoke_endpoint_with_its_schemas() -> None:
    interface = parse_inspect(INSPECT_ANSWER, "capital")
    invoke = interface.endpoints["invoke"]
    assert invoke.path == "/capital/invoke"
    assert [(p.key, p.type, p.required) for p in invoke.input_ports()] == [
        ("country", "string", True)
    ]
    assert invoke.is_chat
    assert invoke.schemas.parameters == {
        "type": "object",
        "properties": {"greeting": {"type": "string"}},
    }
    assert [p.type for p in invoke.output_ports()] == ["string"]
    assert interface.default_config == {"greeting": "Hello"}


def test_an_inspect_answer_without_schemas_declares_no_inputs() -> None:
    invoke = parse_inspect({"revision": {"data": {"uri": "x"}}}).endpoints["invoke"]
    assert invoke.path == "/invoke"
    assert invoke.input_ports() == []


def test_an_inspect_answer_with_a_non_object_schema_is_an_openapi_error() -> None:
    with pytest.raises(OpenAPIError, match=r"schemas\.inputs"):
        parse_inspect({"revision": {"data": {"schemas": {"inputs": ["no"]}}}})
