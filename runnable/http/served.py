"""A plain Python function seen as a runnable: inputs and config from its type hints.

Every parameter is an input, except one named `ag_config`, which receives the
configuration (the request's `ag_config` for `/test`, the parameter's default for
`/run`). A `**kwargs` parameter receives inputs the signature does not name; without one,
such inputs are ignored (test sets carry extra columns such as `correct_answer`).
"""

from __future__ import annotations

import contextlib
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from anyio import to_thread
from pydantic import ConfigDict, PydanticUserError, TypeAdapter, ValidationError
from pydantic.json_schema import JsonSchemaMode
from pydantic_core import PydanticSerializationError

from runnable.errors import ServiceDefinitionError, ServiceRequestError

__all__ = ["CONFIG_PARAMETER", "ServedFunction", "ServedParameter", "advertise_default"]

CONFIG_PARAMETER = "ag_config"

_NO_DEFAULT: Any = inspect.Parameter.empty


def _title(name: str) -> str:
    return name.replace("_", " ").strip().title() or name


@attrs.frozen(slots=True)
class ServedParameter:
    """One parameter of a served function and how to validate it."""

    name: str
    annotation: Any
    adapter: TypeAdapter[Any]
    default: Any = _NO_DEFAULT

    @property
    def required(self) -> bool:
        """True when the parameter has no default."""
        return self.default is _NO_DEFAULT


def _input_adapter(annotation: Any) -> TypeAdapter[Any]:
    """A validator that refuses NaN and infinities (`"nan"` is a float to pydantic)."""
    try:
        return TypeAdapter(annotation, config=ConfigDict(allow_inf_nan=False))
    except PydanticUserError:  # models, dataclasses and TypedDicts carry their own config
        return TypeAdapter(annotation)


def advertise_default(schema: dict[str, Any], adapter: TypeAdapter[Any], value: Any) -> None:
    """Put `value` as the schema's `default` (a value JSON cannot write is left out)."""
    with contextlib.suppress(PydanticSerializationError):
        schema["default"] = adapter.dump_python(value, mode="json", warnings=False)


def _errors(exc: ValidationError, prefix: Sequence[str | int]) -> list[dict[str, Any]]:
    return [
        {"loc": [*prefix, *error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


@attrs.frozen(slots=True)
class ServedFunction:
    """A function with validated inputs, an optional config and a JSON output."""

    name: str
    function: Callable[..., Any]
    parameters: tuple[ServedParameter, ...]
    accepts_extra_inputs: bool
    config: ServedParameter | None
    default_config: Any
    returns: TypeAdapter[Any]
    return_annotation: Any
    summary: str

    @classmethod
    def of(cls, function: Callable[..., Any], name: str | None = None) -> ServedFunction:
        """Read `function`'s signature; raise ServiceDefinitionError if it cannot be served."""
        label = name or getattr(function, "__name__", None) or type(function).__name__
        if not callable(function):
            raise ServiceDefinitionError(f"{label!r} is not callable")
        if inspect.isasyncgenfunction(function) or inspect.isgeneratorfunction(function):
            raise ServiceDefinitionError(
                f"{label}: generator functions cannot be served; return the whole output"
            )
        try:
            signature = inspect.signature(function)
            # A callable object keeps its hints on `__call__`.
            hinted = function if inspect.isroutine(function) else type(function).__call__
            hints = typing.get_type_hints(hinted, include_extras=True)
        except (TypeError, ValueError, NameError) as exc:
            raise ServiceDefinitionError(f"{label}: cannot read its signature: {exc}") from None
        parameters: list[ServedParameter] = []
        config: ServedParameter | None = None
        accepts_extra = False
        for param in signature.parameters.values():
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                accepts_extra = True
                continue
            if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY):
                raise ServiceDefinitionError(
                    f"{label}: parameter {param.name!r} is positional-only or *args; "
                    "inputs arrive by name"
                )
            annotation = hints.get(param.name, Any)
            try:
                adapter: TypeAdapter[Any] = _input_adapter(annotation)
            except Exception as exc:  # pydantic raises several types for unusable hints
                raise ServiceDefinitionError(
                    f"{label}: parameter {param.name!r} has a type pydantic cannot validate: {exc}"
                ) from None
            served = ServedParameter(param.name, annotation, adapter, param.default)
            if param.name == CONFIG_PARAMETER:
                config = served
            else:
                parameters.append(served)
        default_config: Any = {}
        if config is not None:
            if not config.required:
                default_config = config.default
            else:
                try:
                    default_config = config.adapter.validate_python({})
                except ValidationError:
                    raise ServiceDefinitionError(
                        f"{label}: parameter {CONFIG_PARAMETER!r} needs a default; /run serves "
                        "the default (deployed) configuration"
                    ) from None
        return_annotation = hints.get("return", Any)
        try:
            returns: TypeAdapter[Any] = TypeAdapter(return_annotation)
        except Exception as exc:
            raise ServiceDefinitionError(
                f"{label}: its return type cannot be serialised by pydantic: {exc}"
            ) from None
        doc = inspect.getdoc(function) or ""
        return cls(
            name=label,
            function=function,
            parameters=tuple(parameters),
            accepts_extra_inputs=accepts_extra,
            config=config,
            default_config=default_config,
            returns=returns,
            return_annotation=return_annotation,
            summary=doc.strip().splitlines()[0] if doc.strip() else label,
        )

    def inputs_schema(self, schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """The JSON schema of the inputs object, from each parameter's schema (by name)."""
        properties: dict[str, Any] = {}
        for param in self.parameters:
            schema = {"title": _title(param.name), **schemas[param.name]}
            if not param.required:
                advertise_default(schema, param.adapter, param.default)
            properties[param.name] = schema
        return {
            "type": "object",
            "title": "Inputs",
            "properties": properties,
            "required": [p.name for p in self.parameters if p.required],
            "additionalProperties": True,
        }

    def arguments_schema(self) -> dict[str, Any]:
        """The inputs' JSON schema standing alone (shared models under its `$defs`)."""
        keyed: list[tuple[str, JsonSchemaMode, TypeAdapter[Any]]] = [
            (param.name, "validation", param.adapter) for param in self.parameters
        ]
        by_key, definitions = TypeAdapter.json_schemas(keyed, ref_template="#/$defs/{model}")
        schema = self.inputs_schema({name: value for (name, _), value in by_key.items()})
        schema["additionalProperties"] = self.accepts_extra_inputs
        if definitions.get("$defs"):
            schema["$defs"] = definitions["$defs"]
        return schema

    def validate_inputs(self, inputs: Any) -> dict[str, Any]:
        """Keyword arguments from request inputs; ServiceRequestError lists every bad one."""
        if not isinstance(inputs, Mapping):
            raise ServiceRequestError(
                [
                    {
                        "loc": ["body", "inputs"],
                        "msg": "Input should be an object",
                        "type": "dict_type",
                    }
                ]
            )
        arguments: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for param in self.parameters:
            if param.name not in inputs:
                if param.required:
                    loc = ["body", "inputs", param.name]
                    errors.append({"loc": loc, "msg": "Field required", "type": "missing"})
                continue
            try:
                arguments[param.name] = param.adapter.validate_python(inputs[param.name])
            except ValidationError as exc:
                errors.extend(_errors(exc, ["body", "inputs", param.name]))
        if self.accepts_extra_inputs:
            named = {param.name for param in self.parameters} | {CONFIG_PARAMETER}
            arguments.update({k: v for k, v in inputs.items() if k not in named})
        if errors:
            raise ServiceRequestError(errors)
        return arguments

    def validate_config(self, config: Any) -> Any:
        """The configuration to call with: `config` validated, or the default when None."""
        if self.config is None or config is None:
            return self.default_config
        try:
            return self.config.adapter.validate_python(config)
        except ValidationError as exc:
            raise ServiceRequestError(_errors(exc, ["body", CONFIG_PARAMETER])) from None

    async def call(self, inputs: Any, config: Any = None) -> Any:
        """Validate, run (sync functions in a worker thread) and return JSON-ready output."""
        arguments = self.validate_inputs(inputs)
        if self.config is not None:
            arguments[CONFIG_PARAMETER] = self.validate_config(config)
        if inspect.iscoroutinefunction(self.function):
            result = await self.function(**arguments)
        else:
            result = await to_thread.run_sync(lambda: self.function(**arguments))
            if inspect.isawaitable(result):
                result = await result
        return self.returns.dump_python(result, mode="json", warnings=False)
