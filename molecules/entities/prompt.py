"""Prompts as entities: `PromptData`, what a prompt exposes as a runnable, `prompt_molecule`.

A prompt is chat messages (templates), model `settings`, `variable_defaults` and the
`template_format` of its messages. Its input ports are the variables of its messages,
read from the MERGED data, so a draft that adds `{{new_var}}` adds the port at once; a
variable with a default is optional. Its output is one `output` text port, or the
properties of the JSON schema in `settings.response_format`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ConfigDict, ValidationInfo, field_validator

from molecules.core.atom import Atom, Getter, derived
from molecules.ids import Family, id_family
from molecules.source_molecule import SourceMolecule
from runnable.chat.request import PromptSpec
from runnable.chat.request import prompt_variables as spec_variables
from runnable.errors import TemplateError
from runnable.json_values import non_finite_path
from runnable.messages import TextPart
from runnable.ports import format_key_as_name, output_ports_from_schema, schema_from_ports
from runnable.sources import Source
from runnable.templates import check_template
from runnable.types import RunnableData, RunnablePort, RunnableSchemas

__all__ = [
    "PromptData",
    "PromptMolecule",
    "prompt_configuration",
    "prompt_input_ports",
    "prompt_molecule",
    "prompt_output_ports",
    "prompt_response_schema",
    "prompt_schemas",
    "prompt_template_errors",
    "prompt_to_runnable",
    "prompt_variables",
]

P = TypeVar("P", bound="PromptData")

_TEXT_OUTPUT = RunnablePort(key="output", name="Output", type="string", required=True)


class PromptData(PromptSpec):
    """A stored prompt: the `PromptSpec` an execution needs, with its id and version.

    Fields the project does not know (a source's own columns) are kept as they are.
    """

    model_config = ConfigDict(extra="allow", frozen=False)

    id: str
    version: int | str | None = None
    slug: str | None = None

    @field_validator("settings", "variable_defaults")
    @classmethod
    def _finite(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        # JSON cannot hold NaN or infinity: kept, they would come back as null.
        where = non_finite_path(value, str(info.field_name))
        if where is not None:
            raise ValueError(f"{where} is not a finite number")
        return value


def _texts(prompt: PromptData) -> list[str]:
    texts: list[str] = []
    for message in prompt.messages:
        content = message.content
        if isinstance(content, str):
            texts.append(content)
        elif content:
            texts.extend(part.text for part in content if isinstance(part, TextPart))
    return texts


def prompt_variables(prompt: PromptData) -> list[str]:
    """The variables of the prompt's messages, in order.

    Extraction is lenient: a half-typed message (`Hello {{name}}, about {{to`) keeps the
    variables it has; what is wrong with it is `prompt_template_errors`' business.
    """
    return spec_variables(prompt, strict=False)


def prompt_template_errors(prompt: PromptData) -> list[str]:
    """What is wrong with each malformed message template (empty when all parse)."""
    errors = []
    for index, text in enumerate(_texts(prompt)):
        try:
            check_template(text, prompt.template_format)
        except TemplateError as exc:
            errors.append(f"message text {index}: {exc}")
    return errors


def _input_ports(names: list[str], defaults: Mapping[str, Any]) -> list[RunnablePort]:
    return [
        RunnablePort(
            key=name,
            name=format_key_as_name(name),
            type="string",
            required=name not in defaults,
            default=defaults.get(name),
        )
        for name in names
    ]


def prompt_input_ports(prompt: PromptData) -> list[RunnablePort]:
    """One string port per variable; a variable with a default is not required."""
    return _input_ports(prompt_variables(prompt), prompt.variable_defaults)


def prompt_response_schema(prompt: PromptData) -> dict[str, Any] | None:
    """The JSON schema the prompt asks the model to answer with, if any."""
    response_format = prompt.settings.get("response_format")
    if not isinstance(response_format, Mapping):
        return None
    if response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    return dict(schema) if isinstance(schema, Mapping) else None


def prompt_output_ports(prompt: PromptData) -> list[RunnablePort]:
    """The properties of the response schema, else one `output` text port."""
    schema = prompt_response_schema(prompt)
    return output_ports_from_schema(schema) if schema else [_TEXT_OUTPUT]


def prompt_schemas(prompt: PromptData) -> RunnableSchemas:
    """Inputs (from the variables), outputs (the response schema, else text)."""
    return RunnableSchemas(
        inputs=schema_from_ports(prompt_input_ports(prompt)),
        outputs=prompt_response_schema(prompt) or {"type": "string"},
    )


def prompt_configuration(prompt: PromptData) -> dict[str, Any]:
    """What an executor needs to run the prompt: messages, settings, defaults, format."""
    return {
        "messages": [m.model_dump(mode="json", exclude_defaults=True) for m in prompt.messages],
        "settings": dict(prompt.settings),
        "variable_defaults": dict(prompt.variable_defaults),
        "template_format": prompt.template_format,
    }


def prompt_to_runnable(prompt: PromptData, kind: str = "prompt") -> RunnableData:
    """The prompt as the bridge sees it."""
    return RunnableData(
        id=prompt.id,
        kind=kind,
        name=prompt.name,
        version=prompt.version,
        slug=prompt.slug,
        configuration=prompt_configuration(prompt),
        schemas=prompt_schemas(prompt),
    )


def _of(get: Getter, molecule: PromptMolecule[Any], key: str) -> PromptData | None:
    data: PromptData | None = get(molecule.data(key))
    return data


class PromptMolecule(SourceMolecule[P]):
    """Prompts (or built-in prompts) over a source, with their runnable selectors.

    Extra selectors: `variables`, `template_errors` (async: awaitable), `input_ports`,
    `output_ports`, `schemas`, `configuration`; each is None (or empty) while the prompt
    has no data.
    """

    def __init__(
        self, source: Source, *, name: str = "prompt", model: type[P], **options: Any
    ) -> None:
        super().__init__(name, source, transform=model.model_validate, **options)
        self.model = model
        self.variables = self.selector(
            "variables",
            lambda get, key: prompt_variables(p) if (p := _of(get, self, key)) else [],
        )
        self.variable_defaults = self.selector(
            "variable_defaults",
            lambda get, key: dict(p.variable_defaults) if (p := _of(get, self, key)) else {},
        )
        self.template_errors = self._template_errors()
        # Ports follow the variables and defaults only: an edit elsewhere cuts off here.
        self.input_ports = self.selector(
            "input_ports",
            lambda get, key: _input_ports(
                get(self.variables(key)), get(self.variable_defaults(key))
            ),
        )
        self.output_ports = self.selector(
            "output_ports",
            lambda get, key: prompt_output_ports(p) if (p := _of(get, self, key)) else [],
        )
        self.schemas = self.selector(
            "schemas",
            lambda get, key: prompt_schemas(p) if (p := _of(get, self, key)) else None,
        )
        self.configuration = self.selector(
            "configuration",
            lambda get, key: prompt_configuration(p) if (p := _of(get, self, key)) else None,
        )

    def _template_errors(self) -> Family:
        """`template_errors`, async: jinja2's parser and compiler (a millisecond or more a
        kilobyte of tags) run in a worker thread, never on the event loop; the selector's
        value is awaitable (the server's snapshots and watches publish it once settled)."""
        label = self.name

        def factory(key: str) -> Atom[Any]:
            async def read(get: Getter) -> list[str]:
                prompt = _of(get, self, key)
                if prompt is None:
                    return []
                return await asyncio.to_thread(prompt_template_errors, prompt)

            return derived(read, name=f"{label}.template_errors({key})")

        return self.register_selector("template_errors", id_family(factory))


def prompt_molecule(source: Source, **options: Any) -> PromptMolecule[PromptData]:
    """The molecule of prompts stored in `source` (options as for `create_molecule`)."""
    return PromptMolecule(source, name="prompt", model=PromptData, **options)
