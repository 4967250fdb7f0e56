"""The OpenAPI document of the bridge's server, served at `GET /openapi.json`.

It describes every route with its parameters, its request body and each answer it can
give (the errors are `{"detail": ...}`), so clients and property-based test tools can be
generated from it. A module that adds routes adds their paths with `add_paths`.
"""

from __future__ import annotations

from typing import Any

from bridge.selectors import STANDARD_SELECTORS

__all__ = ["ERROR_SCHEMA", "add_paths", "openapi_document", "server_paths"]

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail"],
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_REASONS = {
    400: "A malformed ref or body, bad inputs, or a refused change",
    404: "No kind has this runnable",
    409: "A conflict with the state (a run that ended, a turn in flight)",
    413: "The body is too large",
    415: "The body is not application/json",
    501: "The runnable's kind cannot do this",
    502: "A service the runnable calls failed",
}
_REF = {
    "name": "ref",
    "in": "path",
    "required": True,
    "description": '"kind:id" or a bare id',
    "schema": {"type": "string", "minLength": 1},
}
_SNAPSHOT = {
    "type": "object",
    "properties": {
        "ref": {"type": "string"},
        "kind": {"type": ["string", "null"]},
        "id": {"type": "string"},
        **{name: {} for name in (*STANDARD_SELECTORS, "entity")},
    },
    "required": ["ref", "id"],
}
_STREAM = {"text/event-stream": {"schema": {"type": "string"}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": _REASONS[status],
            "content": {"application/json": {"schema": _ERROR_REF}},
        }
        for status in statuses
    }


def _json_body(schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _operation(
    summary: str,
    ok: dict[str, Any],
    errors: tuple[int, ...],
    *,
    body: dict[str, Any] | None = None,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": parameters if parameters is not None else [_REF],
        "responses": {"200": ok, **_errors(*errors)},
    }
    if body is not None:
        operation["requestBody"] = body
    return operation


def _snapshot(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _SNAPSHOT}}}


def _paths(execute_schema: dict[str, Any], chain_schema: dict[str, Any]) -> dict[str, Any]:
    body_errors = (400, 404, 413, 415, 501, 502)
    watch_parameters = [
        _REF,
        {
            "name": "selectors",
            "in": "query",
            "required": False,
            "description": "Comma-separated selector names (the standard ones by default)",
            "schema": {"type": "string"},
        },
    ]
    return {
        "/runnables/{ref}": {
            "get": _operation(
                "The runnable's selectors", _snapshot("The selectors"), (400, 404, 502)
            ),
            "patch": _operation(
                "Merge a JSON object into the draft",
                _snapshot("The selectors after the change"),
                body_errors,
                body=_json_body({"type": "object"}, required=True),
            ),
        },
        "/runnables/{ref}/watch": {
            "get": _operation(
                "SSE: each selector's value, then every change",
                {"description": "An event stream", "content": _STREAM},
                (400, 404, 502),
                parameters=watch_parameters,
            )
        },
        "/runnables/{ref}/save": {
            "post": _operation(
                "Write the draft through the source", _snapshot("Saved"), body_errors
            )
        },
        "/runnables/{ref}/discard": {
            "post": _operation("Drop the draft", _snapshot("Discarded"), body_errors)
        },
        "/runnables/{ref}/execute": {
            "post": _operation(
                "Run the runnable",
                {
                    "description": "The execution result",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                body_errors,
                body=_json_body(execute_schema),
            )
        },
        "/runnables/{ref}/stream": {
            "post": _operation(
                "SSE of the run's chunks, then done or error",
                {"description": "An event stream", "content": _STREAM},
                body_errors,
                body=_json_body(execute_schema),
            )
        },
        "/chains/run": {
            "post": _operation(
                "SSE of a chain run's events",
                {"description": "An event stream", "content": _STREAM},
                (400, 404, 413, 415, 501, 502),
                body=_json_body(chain_schema, required=True),
                parameters=[],
            )
        },
    }


def _json(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {}}}}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "required": False, "schema": {}} for n in names]


def server_paths(schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The paths of the listing, run and conversation routes (`schemas`: their bodies).

    The GET event streams (`/runs/{run_id}/events`, `/conversations/{instance_id}/watch`)
    are described in docs/server.md: a stream has no end a generated client could wait for.
    """
    body_errors = (400, 404, 413, 415)
    run, conversation = [_path_id("run_id")], [_path_id("instance_id")]
    return {
        "/runnables": {
            "get": _operation(
                "The saved runnables, paged",
                _json("{items, total}"),
                (400,),
                parameters=_query("kind", "limit", "offset"),
            )
        },
        "/info": {"get": _operation("What is served", _json("Info"), (), parameters=[])},
        "/runnables/{ref}/runs": {
            "post": _operation(
                "Start a run of the runnable",
                _json("{run_id}"),
                (*body_errors, 501, 502),
                body=_json_body(schemas["run"]),
            )
        },
        "/chains/runs": {
            "post": _operation(
                "Start a chain run (testcase) or a dataset run (rows)",
                _json("{run_id}"),
                (*body_errors, 501, 502),
                body=_json_body(schemas["chain_run"], required=True),
                parameters=[],
            )
        },
        "/runs": {
            "get": _operation(
                "Runs, newest first, with the total",
                _json("{items, total}"),
                (400,),
                parameters=_query("runnable_ref", "status", "parent_run_id", "limit", "offset"),
            )
        },
        "/runs/{run_id}": {
            "get": _operation("A run, its output and tasks", _json("Run"), (404,), parameters=run)
        },
        "/runs/{run_id}/cancel": {
            "post": _operation("Stop a live run", _json("Cancelling"), (404, 409), parameters=run)
        },
        "/conversations": {
            "post": _operation(
                "Start a conversation",
                _json("{instance_id}"),
                body_errors,
                body=_json_body(schemas["conversation"], required=True),
                parameters=[],
            )
        },
        "/conversations/{instance_id}": {
            "get": _operation(
                "The conversation", _json("Conversation"), (404,), parameters=conversation
            ),
            "delete": _operation("Remove it", _json("Removed"), (404,), parameters=conversation),
        },
        "/conversations/{instance_id}/variables": {
            "patch": _operation(
                "Set user variables",
                _json("Conversation"),
                body_errors,
                body=_json_body({"type": "object"}, required=True),
                parameters=conversation,
            )
        },
        "/conversations/{instance_id}/messages": {
            "post": _operation(
                "Send a message",
                _json("Conversation"),
                (*body_errors, 409),
                body=_json_body(schemas["message"], required=True),
                parameters=conversation,
            )
        },
        "/conversations/{instance_id}/cancel": {
            "post": _operation(
                "Stop the turn in flight", _json("Conversation"), (404,), parameters=conversation
            )
        },
        "/conversations/{instance_id}/tool_calls/{call_id}": {
            "post": _operation(
                "Approve or deny a tool call awaiting approval",
                _json("Conversation"),
                (*body_errors, 409),
                body=_json_body(schemas["approval"], required=True),
                parameters=[*conversation, _path_id("call_id")],
            )
        },
    }


def openapi_document(
    execute_schema: dict[str, Any], chain_schema: dict[str, Any], *, title: str = "bridge"
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the routes, with the bodies' JSON schemas."""
    definitions: dict[str, Any] = {"Error": ERROR_SCHEMA}
    schemas = []
    for schema in (execute_schema, chain_schema):
        schema = dict(schema)
        definitions.update(schema.pop("$defs", {}))
        schemas.append(schema)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "0.1.0"},
        "paths": _paths(*schemas),
        "components": {"schemas": definitions},
    }


def add_paths(document: dict[str, Any], paths: dict[str, Any]) -> None:
    """Add the paths of more routes to a document (their errors may use `ERROR_SCHEMA`)."""
    document["paths"].update(paths)
