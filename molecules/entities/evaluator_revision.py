"""Evaluator revisions: an evaluator (built-in by `evaluator_key`, or served at `uri`) and its
settings, with named presets of settings.

Presets come from the revision itself (`presets`) and from the molecule (`presets=` by
evaluator key; by default the presets of the built-in evaluators of `runnable.evaluators.builtins`);
the revision's own win on equal keys.
`apply_preset(id, key)` writes the preset's settings into the draft (replacing the
settings, so the result is exactly the preset). Output ports default to `score: number`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from molecules.core.atom import Getter, Setter
from molecules.errors import EntityNotLoadedError, UnknownPresetError
from molecules.molecule import entity_id
from molecules.source_molecule import SourceMolecule
from runnable.errors import RunnableError, SchemaError, UnknownEvaluatorError
from runnable.evaluators.builtins import BuiltinEvaluator, get_builtin_evaluator
from runnable.openapi import invocation_url
from runnable.ports import input_ports_from_schema, output_ports_from_schema, schema_from_ports
from runnable.sources import Source
from runnable.types import RunnableData, RunnablePort, RunnableSchemas

__all__ = [
    "DEFAULT_EVALUATOR_OUTPUT_SCHEMA",
    "EvaluatorPresetData",
    "EvaluatorRevisionData",
    "EvaluatorRevisionMolecule",
    "builtin_presets",
    "evaluator_configuration",
    "evaluator_input_ports",
    "evaluator_output_ports",
    "evaluator_revision_molecule",
    "evaluator_revision_to_runnable",
    "evaluator_schemas",
]

SharedPresets = Mapping[str, Sequence[Any]] | Callable[[str], Sequence[Any]]
"""Presets shared by evaluator key: a mapping, or a function of the key."""

DEFAULT_EVALUATOR_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"score": {"type": "number", "title": "Score"}},
    "required": ["score"],
}


class EvaluatorPresetData(BaseModel):
    """A named set of settings for an evaluator."""

    key: str
    name: str | None = None
    description: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)


class EvaluatorRevisionData(BaseModel):
    """One revision of an evaluator: which evaluator, its settings, its presets."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str | None = None
    version: int | str | None = None
    slug: str | None = None
    evaluator_key: str | None = None
    uri: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    presets: list[EvaluatorPresetData] = Field(default_factory=list)
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    settings_schema: dict[str, Any] | None = None


def _preset(value: Any) -> EvaluatorPresetData:
    if isinstance(value, EvaluatorPresetData):
        return value
    if isinstance(value, Mapping):
        return EvaluatorPresetData.model_validate(value)
    # Any object with key, name and settings (runnable.evaluators.EvaluatorPreset is one).
    return EvaluatorPresetData(
        key=value.key, name=getattr(value, "name", None), settings=dict(value.settings)
    )


def _builtin(revision: EvaluatorRevisionData) -> BuiltinEvaluator | None:
    if revision.uri or not revision.evaluator_key:
        return None
    try:
        return get_builtin_evaluator(revision.evaluator_key)
    except UnknownEvaluatorError:
        return None


def builtin_presets(evaluator_key: str) -> list[Any]:
    """The presets a built-in evaluator ships (none for a key that is not built in)."""
    try:
        return list(get_builtin_evaluator(evaluator_key).presets)
    except UnknownEvaluatorError:
        return []


def evaluator_input_ports(revision: EvaluatorRevisionData) -> list[RunnablePort]:
    """Ports of `input_schema`; else what a built-in evaluator reads; else a default.

    The default is `output` (required) and the reference input named by
    `settings.correct_answer_key` (default "correct_answer"), optional because not every
    evaluator compares with a reference.
    """
    if revision.input_schema:
        try:
            return input_ports_from_schema(revision.input_schema)
        except SchemaError:
            return []
    builtin = _builtin(revision)
    if builtin is not None:
        try:
            return input_ports_from_schema(builtin.runnable(revision.settings).schemas.inputs)
        except RunnableError:
            pass  # settings the evaluator refuses: show the default ports meanwhile
    reference = revision.settings.get("correct_answer_key") or "correct_answer"
    return [
        RunnablePort(key="output", name="Output", type="string", required=True),
        RunnablePort(key=str(reference), name="Correct answer", type="string", required=False),
    ]


def evaluator_output_ports(revision: EvaluatorRevisionData) -> list[RunnablePort]:
    """Ports of `output_schema`; by default one `score` number."""
    try:
        return output_ports_from_schema(revision.output_schema or DEFAULT_EVALUATOR_OUTPUT_SCHEMA)
    except SchemaError:
        return output_ports_from_schema(DEFAULT_EVALUATOR_OUTPUT_SCHEMA)


def evaluator_schemas(revision: EvaluatorRevisionData) -> RunnableSchemas:
    """Inputs, outputs and the settings schema (as `parameters`)."""
    builtin = _builtin(revision)
    settings_schema = revision.settings_schema
    if settings_schema is None and builtin is not None:
        settings_schema = builtin.settings_schema()
    return RunnableSchemas(
        inputs=revision.input_schema or schema_from_ports(evaluator_input_ports(revision)),
        outputs=revision.output_schema or DEFAULT_EVALUATOR_OUTPUT_SCHEMA,
        parameters=settings_schema,
    )


def evaluator_configuration(revision: EvaluatorRevisionData) -> dict[str, Any]:
    """What an executor needs: the evaluator's key and its settings."""
    return {"evaluator_key": revision.evaluator_key, "settings": dict(revision.settings)}


def evaluator_revision_to_runnable(revision: EvaluatorRevisionData) -> RunnableData:
    """The evaluator revision as the bridge sees it."""
    return RunnableData(
        id=revision.id,
        kind="evaluator_revision",
        name=revision.name,
        version=revision.version,
        slug=revision.slug or revision.evaluator_key,
        configuration=evaluator_configuration(revision),
        invocation_url=invocation_url(revision.uri, "direct"),
        schemas=evaluator_schemas(revision),
    )


class EvaluatorRevisionMolecule(SourceMolecule[EvaluatorRevisionData]):
    """Evaluator revisions over a source, with presets.

    Extra selectors: `settings`, `presets`, `input_ports`, `output_ports`, `schemas`,
    `configuration`, `invocation_url`. Extra action: `apply_preset(id, preset_key)`.
    """

    def __init__(
        self,
        source: Source,
        *,
        presets: SharedPresets | None = builtin_presets,
        **options: Any,
    ) -> None:
        super().__init__(
            "evaluator_revision", source, transform=EvaluatorRevisionData.model_validate, **options
        )
        self.shared_presets = presets
        self.settings = self.selector(
            "settings", lambda get, key: dict(r.settings) if (r := self._of(get, key)) else None
        )
        self.presets = self.selector("presets", self._read_presets)
        self.input_ports = self.selector(
            "input_ports",
            lambda get, key: evaluator_input_ports(r) if (r := self._of(get, key)) else [],
        )
        self.output_ports = self.selector(
            "output_ports",
            lambda get, key: evaluator_output_ports(r) if (r := self._of(get, key)) else [],
        )
        self.schemas = self.selector(
            "schemas",
            lambda get, key: evaluator_schemas(r) if (r := self._of(get, key)) else None,
        )
        self.configuration = self.selector(
            "configuration",
            lambda get, key: evaluator_configuration(r) if (r := self._of(get, key)) else None,
        )
        self.invocation_url = self.selector(
            "invocation_url",
            lambda get, key: invocation_url(r.uri, "direct") if (r := self._of(get, key)) else None,
        )
        self.apply_preset = self.action("apply_preset", self._write_apply_preset)

    def _of(self, get: Getter, key: str) -> EvaluatorRevisionData | None:
        revision: EvaluatorRevisionData | None = get(self.data(key))
        return revision

    def _read_presets(self, get: Getter, key: str) -> list[EvaluatorPresetData]:
        revision = self._of(get, key)
        if revision is None:
            return []
        own = list(revision.presets)
        taken = {p.key for p in own}
        return own + [p for p in self._shared(revision.evaluator_key) if p.key not in taken]

    def _shared(self, evaluator_key: str | None) -> list[EvaluatorPresetData]:
        presets = self.shared_presets
        if presets is None or not evaluator_key:
            return []
        found = presets(evaluator_key) if callable(presets) else presets.get(evaluator_key, ())
        return [_preset(p) for p in found]

    def _write_apply_preset(
        self, get: Getter, set: Setter, key: Any, preset_key: str
    ) -> EvaluatorRevisionData | None:
        key = entity_id(key)
        if self._of(get, key) is None:
            raise EntityNotLoadedError(self.name, key, "load it before applying a preset")
        presets: list[EvaluatorPresetData] = get(self.presets(key))
        for preset in presets:
            if preset.key == preset_key:
                result: EvaluatorRevisionData | None = set(
                    self.update, key, {"settings": dict(preset.settings)}
                )
                return result
        raise UnknownPresetError(self.name, key, preset_key, [p.key for p in presets])


def evaluator_revision_molecule(
    source: Source, *, presets: SharedPresets | None = builtin_presets, **options: Any
) -> EvaluatorRevisionMolecule:
    """The molecule of evaluator revisions in `source`.

    `presets` gives the presets shared by every revision of an evaluator key: a mapping
    key -> presets, or a function of the key (the default: the built-in evaluators' own
    presets); None for none.
    """
    return EvaluatorRevisionMolecule(source, presets=presets, **options)
