"""Ports: the named inputs and outputs of a runnable, from templates or JSON schemas.

Schemas are checked against their JSON Schema metaschema (jsonschema); local `$ref`s
(`#/$defs/...`, `#/definitions/...`, any JSON pointer) are resolved with `referencing`.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jsonschema import exceptions as jsonschema_errors
from jsonschema import validators
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from runnable.errors import InputValidationError, SchemaError
from runnable.templates import extract_variables
from runnable.types import RunnablePort

__all__ = [
    "JSON_TYPES",
    "check_schema",
    "format_key_as_name",
    "input_ports_from_schema",
    "input_ports_from_template",
    "input_ports_from_variables",
    "output_ports_from_schema",
    "resolve_refs",
    "schema_from_ports",
    "schema_violations",
    "validate_inputs",
]

JSON_TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")
_ROOT_URI = "urn:runnable:schema"
_MISSING: Any = object()
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def format_key_as_name(key: str) -> str:
    """A display name for a key: `user_name` -> "User name", `firstName` -> "First Name"."""
    key = key.strip()
    if re.search(r"[_\-\s]", key):
        words = [w for w in re.split(r"[_\-\s]+", key) if w]
        text = " ".join(words)
        return text[:1].upper() + text[1:]
    return " ".join(w[:1].upper() + w[1:] for w in _WORD.findall(key)) or key


def input_ports_from_variables(names: Iterable[str]) -> list[RunnablePort]:
    """One required string port per variable name, in order, without duplicates."""
    return [
        RunnablePort(key=name, name=format_key_as_name(name), type="string", required=True)
        for name in dict.fromkeys(names)
    ]


def input_ports_from_template(
    texts: str | Iterable[str], format: str = "curly"
) -> list[RunnablePort]:
    """The input ports of one template or several (the variables of all, in order)."""
    texts = [texts] if isinstance(texts, str) else list(texts)
    return input_ports_from_variables(n for t in texts for n in extract_variables(t, format))


def check_schema(schema: Any) -> dict[str, Any]:
    """`schema` itself when it is a valid JSON schema; else `SchemaError` naming the problem."""
    if isinstance(schema, bool):
        return {} if schema else {"not": {}}
    if not isinstance(schema, Mapping):
        raise SchemaError(f"a JSON schema must be an object, not {type(schema).__name__}")
    checked: dict[str, Any] = dict(schema)
    try:
        validators.validator_for(checked).check_schema(checked)
    except jsonschema_errors.SchemaError as exc:
        where = "/".join(map(str, exc.absolute_path)) or "(root)"
        raise SchemaError(f"not a valid JSON schema at {where}: {exc.message}") from exc
    return checked


def schema_violations(value: Any, schema: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Where and how `value` breaks `schema`: (path like "items/0/name" or "(root)", message)."""
    validator = validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.path)))
    return [("/".join(map(str, e.absolute_path)) or "(root)", e.message) for e in errors]


def _resolver(root: Mapping[str, Any]) -> Any:
    resource = Resource.from_contents(dict(root), default_specification=DRAFT202012)
    return Registry().with_resource(_ROOT_URI, resource).resolver(base_uri=_ROOT_URI)


_LOCAL_DEFS = ("#/$defs/", "#/definitions/")


def resolve_refs(schema: Any, root: Mapping[str, Any] | None = None) -> Any:
    """`schema` with every local `$ref` replaced by its target (looked up in `root`).

    A `#/$defs/...` (or `#/definitions/...`) ref is looked up first in the nearest
    enclosing schema that has such definitions (an embedded model's own `$defs`, as
    FastAPI leaves them in an OpenAPI document), then in `root`. Siblings of a `$ref` are
    kept and override the target's keys. A `$ref` that points back into itself (a
    recursive schema) is left as it is; one that cannot be found raises `SchemaError`
    naming the ref and where it is, never the document.
    """
    top = root if root is not None else schema if isinstance(schema, dict) else {}
    resolvers: dict[int, Any] = {}

    def lookup(ref: str, scopes: tuple[Mapping[str, Any], ...]) -> Any:
        candidates = [*reversed(scopes), top] if ref.startswith(_LOCAL_DEFS) else [top]
        for scope in candidates:
            resolver = resolvers.get(id(scope))
            if resolver is None:
                resolver = resolvers[id(scope)] = _resolver(scope)
            try:
                return resolver.lookup(ref).contents
            except Unresolvable:
                continue
        return _MISSING

    def inline(node: Any, seen: tuple[str, ...], path: tuple[str, ...], scopes: Any) -> Any:
        if isinstance(node, list):
            return [inline(item, seen, (*path, str(i)), scopes) for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        if any(isinstance(node.get(k), Mapping) for k in ("$defs", "definitions")):
            scopes = (*scopes, node)
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return node
            target = lookup(ref, scopes)
            if target is _MISSING:
                where = "/" + "/".join(path) if path else "(root)"
                raise SchemaError(f"cannot resolve $ref {ref[:200]!r} at {where[:200]}: no target")
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            merged = {**target, **siblings} if isinstance(target, dict) else target
            return inline(merged, (*seen, ref), path, scopes)
        return {k: inline(v, seen, (*path, _pointer_part(k)), scopes) for k, v in node.items()}

    return inline(schema, (), (), ())


def _pointer_part(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _port_type(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind
    if isinstance(kind, list):
        return next((k for k in kind if k != "null"), "null")
    for combinator in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(combinator) or ():
            found = _port_type(option) if isinstance(option, Mapping) else "unknown"
            if found not in ("null", "unknown"):
                return found
    values = schema.get("enum") or ([schema["const"]] if "const" in schema else [])
    if values:
        value = values[0]
        python_types = {str: "string", bool: "boolean", int: "integer", float: "number"}
        return python_types.get(type(value), "unknown")
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "unknown"


def _ports_of_object(schema: Mapping[str, Any]) -> list[RunnablePort]:
    required = set(schema.get("required") or ())
    ports = []
    for key, prop in (schema.get("properties") or {}).items():
        prop = prop if isinstance(prop, dict) else {}
        ports.append(
            RunnablePort(
                key=key,
                name=prop.get("title") or format_key_as_name(key),
                type=_port_type(prop),
                required=key in required,
                schema=prop,
                description=prop.get("description"),
                default=prop.get("default"),
            )
        )
    return ports


def _object_like(schema: Mapping[str, Any]) -> bool:
    return _port_type(schema) in ("object", "unknown") and (
        "properties" in schema or schema.get("type") == "object"
    )


def input_ports_from_schema(schema: Mapping[str, Any] | None) -> list[RunnablePort]:
    """One port per property of an object schema: title (else key as name), type, required."""
    if not schema:
        return []
    resolved = resolve_refs(check_schema(schema))
    if not _object_like(resolved):
        raise SchemaError(f"an input schema must describe an object, not {_port_type(resolved)!r}")
    return _ports_of_object(resolved)


def output_ports_from_schema(schema: Mapping[str, Any] | None) -> list[RunnablePort]:
    """Ports of an output schema: its properties, else ONE port `output`.

    A non-object schema is one `output` port of its type; an object without properties
    (or no schema at all) is `output` of type "unknown".
    """
    resolved = resolve_refs(check_schema(schema)) if schema else {}
    if _object_like(resolved) and resolved.get("properties"):
        return _ports_of_object(resolved)
    kind = "unknown" if not resolved or _object_like(resolved) else _port_type(resolved)
    return [
        RunnablePort(
            key="output",
            name=resolved.get("title") or "Output",
            type=kind,
            required=True,
            schema=resolved or None,
            description=resolved.get("description"),
        )
    ]


_CHECKED_TYPES = frozenset({"integer", "number", "boolean", "array", "object", "null"})


def schema_from_ports(ports: Iterable[RunnablePort | Mapping[str, Any]]) -> dict[str, Any]:
    """An object schema for ports: each port's own schema, else its JSON type.

    A port typed "string" without a schema (a template variable) constrains only presence:
    templates render any value, and a jinja2 input may well be a dict.
    """
    properties: dict[str, Any] = {}
    required: list[str] = []
    for item in ports:
        port = item if isinstance(item, RunnablePort) else RunnablePort.model_validate(item)
        if port.schema:
            properties[port.key] = port.schema
        elif port.type in _CHECKED_TYPES:
            properties[port.key] = {"type": port.type}
        else:
            properties[port.key] = {}
        if port.required:
            required.append(port.key)
    return {"type": "object", "properties": properties, "required": required}


def validate_inputs(
    ports_or_schema: Sequence[RunnablePort | Mapping[str, Any]] | Mapping[str, Any],
    inputs: Mapping[str, Any],
) -> None:
    """Check inputs against ports or an object schema; one error names every bad input.

    Ports without a schema (like template variables) only need to be present when
    required; ports with a schema, and a schema given directly, are checked in full.
    """
    if isinstance(ports_or_schema, Mapping):
        schema = check_schema(ports_or_schema)
    else:
        schema = check_schema(schema_from_ports(ports_or_schema))
    validator_class = validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    problems: dict[str, list[str]] = {}
    for error in validator.iter_errors(dict(inputs)):
        if error.validator == "required" and not error.absolute_path:
            instance = error.instance if isinstance(error.instance, Mapping) else {}
            wanted: list[Any] = list(error.validator_value)  # type: ignore[arg-type]
            for name in wanted:
                if name not in instance:
                    problems.setdefault(str(name), []).append("is required but missing")
            continue
        path = list(error.absolute_path)
        name = str(path[0]) if path else "(inputs)"
        detail = "/".join(map(str, path[1:]))
        problems.setdefault(name, []).append(
            f"{detail}: {error.message}" if detail else error.message
        )
    if problems:
        ordered = {k: problems[k] for k in sorted(problems, key=_order_of(schema))}
        raise InputValidationError(ordered)


def _order_of(schema: Mapping[str, Any]) -> Any:
    positions = {key: i for i, key in enumerate(schema.get("properties") or {})}
    return lambda name: (positions.get(name, len(positions)), name)
