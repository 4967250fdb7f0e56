"""The interface of an app revision, read from its OpenAPI document or its `/inspect`.

An app served by the Agenta SDK up to 0.9x serves `/test` (direct: the caller sends
`ag_config`), `/run` (deployed), and the older `/generate` and `/generate_deployed`,
possibly under a route prefix (`/my-app/test`). For each endpoint the JSON request body
gives:

- the inputs schema: the body's `inputs` property (the request then is
  `{"inputs": {...}}`), else the top-level properties minus `ag_config`, `messages` and
  ids (`id`, `ids`, `*_id`, `*_ids`), which then travel as top-level fields;
- the config schema: the `ag_config` property;
- the chat schema: the `messages` property (an app is a chat app only when it has one);
- the output schema: the JSON response's `data` property, else the whole response.

Every `$ref` is resolved against the document (an embedded model's `#/$defs/...` against
its own definitions).

The current SDK serves `POST /invoke` (`{"data": {"inputs", "parameters"}}`) and
`POST /inspect`, whose answer holds the revision's `schemas` (`inputs`, `parameters`,
`outputs`) and default `parameters`: `parse_inspect` reads it.
"""

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from runnable.errors import OpenAPIError, SchemaError
from runnable.ports import input_ports_from_schema, output_ports_from_schema, resolve_refs
from runnable.types import HttpRequestFormat, RunnablePort, RunnableSchemas

__all__ = [
    "ENDPOINT_NAMES",
    "ExecutionMode",
    "OpenAPIEndpoint",
    "OpenAPIInterface",
    "RequestFormat",
    "invocation_url",
    "parse_inspect",
    "parse_openapi",
]

ExecutionMode = Literal["direct", "deployed"]
RequestFormat = Literal["inputs", "fields", "invoke"]
"""The request body: `{"inputs": ...}`, the inputs as top-level fields, or `{"data": ...}`."""
_DIRECT_ENDPOINTS = ("test", "generate")
ENDPOINT_NAMES = ("test", "run", "generate", "generate_deployed", "invoke")
# Each mode's endpoint, newest first; /invoke serves both (only direct sends parameters).
_MODE_ENDPOINTS: dict[str, tuple[str, ...]] = {
    "direct": ("test", "generate", "invoke"),
    "deployed": ("run", "generate_deployed", "invoke"),
}
_RESERVED = ("ag_config", "messages")


def _mode_endpoints(mode: str) -> tuple[str, ...]:
    try:
        return _MODE_ENDPOINTS[mode]
    except KeyError:
        raise OpenAPIError(
            f"unknown execution mode {mode!r}; expected 'direct' or 'deployed'"
        ) from None


def invocation_url(uri: str | None, mode: str = "direct") -> str | None:
    """The URL to POST to: `uri + "/test"` (direct) or `uri + "/run"` (deployed).

    None when there is no uri. A uri that already ends with an endpoint loses it first.
    """
    endpoint = _mode_endpoints(mode)[0]
    if not uri or not uri.strip():
        return None
    base = uri.strip().rstrip("/")
    for name in sorted(ENDPOINT_NAMES, key=len, reverse=True):
        if base.endswith("/" + name):
            base = base[: -len(name) - 1]
            break
    return f"{base}/{endpoint}"


class OpenAPIEndpoint(BaseModel):
    """One invocation endpoint of an app and the schemas of its request and response."""

    name: str
    path: str
    request_format: RequestFormat = "inputs"
    inputs_schema: dict[str, Any] | None = None
    config_schema: dict[str, Any] | None = None
    messages_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None

    @property
    def is_chat(self) -> bool:
        """True only when the endpoint takes a `messages` schema."""
        return self.messages_schema is not None

    def request(self, mode: str = "direct") -> HttpRequestFormat:
        """How to call this endpoint in `mode`: the body, and the config only when direct."""
        direct = self.name in _DIRECT_ENDPOINTS or (self.name == "invoke" and mode == "direct")
        return HttpRequestFormat(body=self.request_format, with_config=direct)

    @property
    def schemas(self) -> RunnableSchemas:
        """The endpoint's schemas as a runnable declares them."""
        return RunnableSchemas(
            inputs=self.inputs_schema,
            outputs=self.output_schema,
            parameters=self.config_schema,
            messages=self.messages_schema,
        )

    def input_ports(self) -> list[RunnablePort]:
        """The ports of the inputs schema."""
        return input_ports_from_schema(self.inputs_schema)

    def output_ports(self) -> list[RunnablePort]:
        """The ports of the output schema."""
        return output_ports_from_schema(self.output_schema)


class OpenAPIInterface(BaseModel):
    """The endpoints an app's OpenAPI document declares, by name, and their route prefix."""

    route_prefix: str = ""
    endpoints: dict[str, OpenAPIEndpoint] = Field(default_factory=dict)
    default_config: dict[str, Any] | None = None

    def endpoint(self, mode: str = "direct") -> OpenAPIEndpoint | None:
        """The endpoint serving `mode` ("direct" or "deployed"), newest style first."""
        for name in _mode_endpoints(mode):
            if name in self.endpoints:
                return self.endpoints[name]
        return None

    @property
    def is_chat(self) -> bool:
        """True when the direct (else deployed, else any) endpoint takes messages."""
        chosen = self.endpoint("direct") or self.endpoint("deployed")
        if chosen is not None:
            return chosen.is_chat
        return any(e.is_chat for e in self.endpoints.values())


def _is_id(key: str) -> bool:
    return key in ("id", "ids") or key.endswith(("_id", "_ids"))


def _json_schema(content: Any, where: str) -> dict[str, Any] | None:
    if not isinstance(content, Mapping):
        return None
    media = content.get("application/json")
    if media is None:
        media = next((v for k, v in content.items() if k.endswith("json")), None)
    schema = media.get("schema") if isinstance(media, Mapping) else None
    if schema is not None and not isinstance(schema, Mapping):
        raise OpenAPIError(f"{where}: schema must be an object")
    return dict(schema) if schema is not None else None


def _endpoint(name: str, path: str, operation: Mapping[str, Any]) -> OpenAPIEndpoint:
    where = f"POST {path}"
    body_spec = operation.get("requestBody") or {}
    body = _json_schema(body_spec.get("content"), where) or {}
    properties = body.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise OpenAPIError(f"{where}: request body properties must be an object")
    request_format: RequestFormat = "inputs"
    if name == "invoke":
        # The document only says "a workflow request"; /inspect gives the real schemas.
        return OpenAPIEndpoint(name=name, path=path, request_format="invoke")
    if "inputs" in properties:
        inputs = properties["inputs"]
    else:
        request_format = "fields"
        kept = {k: v for k, v in properties.items() if k not in _RESERVED and not _is_id(k)}
        required = [r for r in body.get("required") or () if r in kept]
        inputs = {"type": "object", "properties": kept, "required": required} if body else None
    responses = operation.get("responses") or {}
    success = next((responses[c] for c in ("200", "201", 200, 201) if c in responses), None)
    output = _json_schema(success.get("content") if success else None, where)
    if output is not None:
        data = (output.get("properties") or {}).get("data")
        output = dict(data) if isinstance(data, Mapping) else output
    return OpenAPIEndpoint(
        name=name,
        path=path,
        request_format=request_format if body else "inputs",
        inputs_schema=inputs,
        config_schema=properties.get("ag_config"),
        messages_schema=properties.get("messages"),
        output_schema=output,
    )


def parse_openapi(document: Mapping[str, Any], route_prefix: str | None = None) -> OpenAPIInterface:
    """Read the invocation endpoints of an app's OpenAPI document.

    With `route_prefix` only paths under it count; without it, the prefix of the first
    endpoint in the document is used (an unprefixed endpoint wins). A document that is
    not OpenAPI, or a `$ref` that cannot be resolved, raises `OpenAPIError`.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("paths"), Mapping):
        raise OpenAPIError("an OpenAPI document must be an object with a 'paths' object")
    try:
        resolved = resolve_refs(dict(document))
    except SchemaError as exc:
        raise OpenAPIError(f"OpenAPI document: {exc}") from exc
    found: list[tuple[str, str, str, Mapping[str, Any]]] = []
    for path, item in resolved["paths"].items():
        head, _, last = str(path).rstrip("/").rpartition("/")
        post = item.get("post") if isinstance(item, Mapping) else None
        if last in ENDPOINT_NAMES and isinstance(post, Mapping):
            found.append((head, last, str(path), post))
    if route_prefix is not None:
        prefix = "/" + route_prefix.strip("/") if route_prefix.strip("/") else ""
    elif found:
        prefix = "" if any(head == "" for head, *_ in found) else found[0][0]
    else:
        prefix = ""
    endpoints = {
        name: _endpoint(name, path, post) for head, name, path, post in found if head == prefix
    }
    return OpenAPIInterface(route_prefix=prefix, endpoints=endpoints)


def _mapping(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise OpenAPIError(f"{where} must be an object, not {type(value).__name__}")
    return dict(value)


def parse_inspect(answer: Mapping[str, Any], base_path: str = "") -> OpenAPIInterface:
    """Read an app's `/inspect` answer (current SDK) as an interface with one `invoke` endpoint.

    `revision.data.schemas` gives the inputs (a `messages` property is the chat schema),
    parameters and outputs; `revision.data.parameters` the app's default config.
    `base_path` is the path the app's routes live under (`/invoke` is appended).
    """
    if not isinstance(answer, Mapping):
        raise OpenAPIError("an /inspect answer must be a JSON object")
    revision = _mapping(answer.get("revision"), "inspect: revision") or {}
    data = _mapping(revision.get("data"), "inspect: revision.data") or {}
    schemas = _mapping(data.get("schemas"), "inspect: revision.data.schemas") or {}
    try:
        resolved = resolve_refs(schemas)
    except SchemaError as exc:
        raise OpenAPIError(f"inspect schemas: {exc}") from exc
    inputs = _mapping(resolved.get("inputs"), "inspect: schemas.inputs")
    messages = None
    if inputs is not None and isinstance(inputs.get("properties"), Mapping):
        properties = dict(inputs["properties"])
        messages = properties.pop("messages", None)
        if messages is not None:
            required = [r for r in inputs.get("required") or () if r != "messages"]
            inputs = {**inputs, "properties": properties, "required": required}
    path = "/" + "/".join(p for p in (base_path.strip("/"), "invoke") if p)
    endpoint = OpenAPIEndpoint(
        name="invoke",
        path=path,
        request_format="invoke",
        inputs_schema=inputs,
        config_schema=_mapping(resolved.get("parameters"), "inspect: schemas.parameters"),
        messages_schema=dict(messages) if isinstance(messages, Mapping) else None,
        output_schema=_mapping(resolved.get("outputs"), "inspect: schemas.outputs"),
    )
    prefix = path[: -len("/invoke")]
    return OpenAPIInterface(
        route_prefix=prefix,
        endpoints={"invoke": endpoint},
        default_config=_mapping(data.get("parameters"), "inspect: revision.data.parameters"),
    )
