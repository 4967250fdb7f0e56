"""Serve plain Python functions as runnables: an ASGI app with `/run`, `/test` and OpenAPI.

```python
def greet(name: str, ag_config: Config = Config()) -> str: ...

app = create_service(greet)                 # POST /run, POST /test, GET /openapi.json
app = create_service(greet, score)          # /greet/run, /score/test, /greet/openapi.json...
app = create_service({"hello": greet})      # /hello/run...
```

Requests are `{"inputs": {...}}` (and `"ag_config": {...}` for `/test`); answers are
`{"data": output, "trace_id": "..."}`. Bodies are read through
`runnable.http.request_body` (bounded size and nesting, finite numbers, valid text);
bad inputs or bodies get HTTP 422 with a FastAPI-style `detail` naming each problem,
413 for a body too large, 415 for one that is not JSON, 404/405 as JSON too; a function
that fails (or returns what JSON cannot hold, such as NaN) gets 500 with
`{"detail": {"message", "type"}}`, secrets blanked out. The OpenAPI document lists
every one of these answers. The OpenAPI documents have the shape of Agenta app
services, so an app revision can point at one of these services. Needs the `server`
extra (Starlette), imported when `create_service` is called.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from runnable.errors import RequestBodyError, ServiceDefinitionError, ServiceRequestError
from runnable.http.request_body import read_json
from runnable.http.served import CONFIG_PARAMETER, ServedFunction, advertise_default
from runnable.redaction import redact_text

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

__all__ = ["create_service", "openapi_document"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_REF_TEMPLATE = "#/components/schemas/{model}"

_VALIDATION_ERROR_REF = "#/components/schemas/HTTPValidationError"
_FAILURE_REF = "#/components/schemas/FunctionFailure"
_FAILURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "detail": {
            "type": "object",
            "properties": {"message": {"type": "string"}, "type": {"type": "string"}},
            "required": ["message", "type"],
        }
    },
    "required": ["detail"],
}
_VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
                "required": ["loc", "msg", "type"],
            },
        }
    },
}


def _collect(
    functions: Sequence[Callable[..., Any] | Mapping[str, Callable[..., Any]]],
) -> tuple[list[ServedFunction], bool]:
    """The served functions, and whether each lives under its own `/name` prefix."""
    if not functions:
        raise ServiceDefinitionError("create_service needs at least one function")
    served: list[ServedFunction] = []
    prefixed = len(functions) > 1
    for item in functions:
        if isinstance(item, Mapping):
            prefixed = True
            served.extend(ServedFunction.of(fn, name) for name, fn in item.items())
        else:
            served.append(ServedFunction.of(item))
    seen: set[str] = set()
    for function in served:
        if prefixed and not _NAME.match(function.name):
            raise ServiceDefinitionError(
                f"{function.name!r} cannot be a route prefix: use letters, digits, '_', '-', '.'"
            )
        if function.name in seen:
            raise ServiceDefinitionError(f"two functions are named {function.name!r}")
        seen.add(function.name)
    return served, prefixed


def _inputs_schema(function: ServedFunction, schemas: Mapping[Any, Any]) -> dict[str, Any]:
    by_name = {p.name: schemas[(function.name, p.name, "validation")] for p in function.parameters}
    return function.inputs_schema(by_name)


def _config_schema(function: ServedFunction, schemas: Mapping[Any, Any]) -> dict[str, Any]:
    if function.config is None:
        return {"type": "object", "title": "Ag Config", "default": {}}
    schema = dict(schemas[(function.name, CONFIG_PARAMETER, "validation")])
    advertise_default(schema, function.config.adapter, function.default_config)
    return {"title": "Ag Config", **schema}


def _error_response(description: str, ref: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _operation(
    function: ServedFunction, mode: str, operation_id: str, schemas: Mapping[Any, Any]
) -> dict[str, Any]:
    properties: dict[str, Any] = {"inputs": _inputs_schema(function, schemas)}
    if mode == "test":
        properties[CONFIG_PARAMETER] = _config_schema(function, schemas)
    response = {
        "type": "object",
        "properties": {
            "data": schemas[(function.name, "return", "serialization")],
            "trace_id": {"type": "string"},
        },
        "required": ["data", "trace_id"],
    }
    return {
        "post": {
            "operationId": operation_id,
            "summary": function.summary,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "title": f"Body_{operation_id}",
                            "properties": properties,
                            "required": ["inputs"],
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "The function's output",
                    "content": {"application/json": {"schema": response}},
                },
                "413": _error_response("The body is too large", _VALIDATION_ERROR_REF),
                "415": _error_response("The body is not application/json", _VALIDATION_ERROR_REF),
                "422": _error_response("Validation Error", _VALIDATION_ERROR_REF),
                "500": _error_response(
                    "The function failed, or its output is not JSON", _FAILURE_REF
                ),
            },
        }
    }


def openapi_document(
    functions: Sequence[tuple[str, ServedFunction]], *, title: str, version: str = "0.1.0"
) -> dict[str, Any]:
    """An OpenAPI 3.1 document for functions served under the given path prefixes ("" = root)."""
    inputs: list[tuple[tuple[str, str, str], JsonSchemaMode, TypeAdapter[Any]]] = []
    for _, function in functions:
        for param in function.parameters:
            inputs.append(((function.name, param.name, "validation"), "validation", param.adapter))
        if function.config is not None:
            key = (function.name, CONFIG_PARAMETER, "validation")
            inputs.append((key, "validation", function.config.adapter))
        key = (function.name, "return", "serialization")
        inputs.append((key, "serialization", function.returns))
    by_key, definitions = TypeAdapter.json_schemas(inputs, ref_template=_REF_TEMPLATE)
    schemas = {key: schema for (key, _), schema in by_key.items()}
    paths: dict[str, Any] = {}
    for prefix, function in functions:
        base = prefix.strip("/").replace("/", "_")
        for mode in ("run", "test"):
            operation_id = f"{base}_{mode}" if base else mode
            paths[f"{prefix}/{mode}"] = _operation(function, mode, operation_id, schemas)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
    }
    components = {
        **definitions.get("$defs", {}),
        "HTTPValidationError": _VALIDATION_ERROR_SCHEMA,
        "FunctionFailure": _FAILURE_SCHEMA,
    }
    document["components"] = {"schemas": components}
    return document


def _invalid(detail: list[dict[str, Any]], status: int = 422) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse({"detail": detail}, status_code=status)


def _refused(exc: RequestBodyError) -> Response:
    # FastAPI's status for a body that is not JSON is 422; size and type keep their own.
    status = 422 if exc.status == 400 else exc.status
    kind = {413: "body_too_large", 415: "content_type"}.get(exc.status, "json_invalid")
    return _invalid([{"loc": ["body"], "msg": str(exc), "type": kind}], status)


def _failure(message: str, kind: str) -> Response:
    from starlette.responses import JSONResponse

    detail = {"message": redact_text(message), "type": kind}
    return JSONResponse({"detail": detail}, status_code=500)


def _endpoint(function: ServedFunction, mode: str) -> Callable[[Request], Any]:
    from starlette.responses import JSONResponse

    async def endpoint(request: Request) -> Response:
        try:
            body = await read_json(request)
        except RequestBodyError as exc:
            return _refused(exc)
        if not isinstance(body, dict):
            return _invalid(
                [{"loc": ["body"], "msg": "Input should be an object", "type": "dict_type"}]
            )
        config = body.get(CONFIG_PARAMETER) if mode == "test" else None
        try:
            output = await function.call(body.get("inputs", {}), config)
        except ServiceRequestError as exc:
            return _invalid(exc.detail)
        except Exception as exc:
            logger.error("served function %s failed: %s", function.name, redact_text(str(exc)))
            logger.debug("traceback of the failure above", exc_info=exc)
            return _failure(str(exc) or type(exc).__name__, type(exc).__name__)
        try:
            return JSONResponse({"data": output, "trace_id": uuid4().hex})
        except ValueError as exc:  # NaN, infinities, lone surrogates: not JSON
            return _failure(f"the output of {function.name} is not JSON: {exc}", "OutputNotJSON")

    return endpoint


async def _http_error(request: Request, exc: Exception) -> Response:
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse

    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def _routes(document: dict[str, Any], functions: Sequence[ServedFunction]) -> list[BaseRoute]:
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def openapi(_: Request) -> Response:
        return JSONResponse(document)

    routes: list[BaseRoute] = [Route("/openapi.json", openapi, methods=["GET"])]
    for function in functions:
        routes += [
            Route("/run", _endpoint(function, "run"), methods=["POST"]),
            Route("/test", _endpoint(function, "test"), methods=["POST"]),
        ]
    return routes


def _handlers() -> dict[Any, Any]:
    from starlette.exceptions import HTTPException

    return {HTTPException: _http_error}


def create_service(
    *functions: Callable[..., Any] | Mapping[str, Callable[..., Any]],
    title: str = "runnable service",
    version: str = "0.1.0",
) -> Starlette:
    """A Starlette app serving `functions` (one at the root, several under `/name`)."""
    try:
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Mount, Route
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ServiceDefinitionError(
            "create_service needs Starlette: pip install 'runnable-bridge[server]'"
        ) from None
    served, prefixed = _collect(functions)
    handlers = _handlers()

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes: list[BaseRoute] = [Route("/health", health, methods=["GET"])]
    if not prefixed:
        document = openapi_document([("", served[0])], title=title, version=version)
        routes += _routes(document, served)
        return Starlette(routes=routes, exception_handlers=handlers)
    whole = openapi_document([(f"/{f.name}", f) for f in served], title=title, version=version)
    routes += _routes(whole, [])
    for function in served:
        # Each function is also a service of its own at /name, with its own document,
        # so an app revision's uri can be `base/name`.
        own = openapi_document([("", function)], title=f"{title}: {function.name}", version=version)
        routes.append(Mount(f"/{function.name}", routes=_routes(own, [function])))
    return Starlette(routes=routes, exception_handlers=handlers)
