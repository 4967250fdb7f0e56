"""Prompt actions: a prompt (or built-in prompt) with some of its variables already supplied.

An action points at its prompt with `prompt_ref` ("prompt:p1", "builtin:b1", or a bare
prompt id). `hardcoded_values` fix variables to values; `broker_mappings` fill variables
from the caller's context (variable -> context path). Its input ports are the prompt's
ports that neither supplies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from molecules.core.atom import Getter
from molecules.entities.prompt import PromptData, PromptMolecule, prompt_configuration
from molecules.query import QueryState
from molecules.source_molecule import SourceMolecule
from runnable.ports import schema_from_ports
from runnable.sources import Source
from runnable.types import RunnableData, RunnablePort, RunnableRef, RunnableSchemas

__all__ = [
    "PROMPT_KINDS",
    "ActionData",
    "ActionMolecule",
    "action_configuration",
    "action_input_ports",
    "action_molecule",
    "action_to_runnable",
]

PROMPT_KINDS = ("prompt", "builtin")
"""The kinds an action's prompt_ref may name (a bare id names a prompt)."""


class ActionData(BaseModel):
    """A prompt action: its prompt, broker mappings and hardcoded values."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str | None = None
    version: int | str | None = None
    slug: str | None = None
    prompt_ref: str | None = None
    broker_mappings: dict[str, str] = Field(default_factory=dict)
    hardcoded_values: dict[str, Any] = Field(default_factory=dict)

    @field_validator("prompt_ref", mode="before")
    @classmethod
    def _check_ref(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        ref = RunnableRef.parse(value)
        if ref.kind is not None and ref.kind not in PROMPT_KINDS:
            raise ValueError(f"prompt_ref {str(ref)!r} must name a prompt or a builtin")
        return str(ref)

    @property
    def prompt(self) -> RunnableRef | None:
        """The prompt this action runs, as a ref whose kind is "prompt" or "builtin"."""
        if self.prompt_ref is None:
            return None
        ref = RunnableRef.parse(self.prompt_ref)
        return ref if ref.kind else RunnableRef("prompt", ref.id)

    @property
    def supplied(self) -> set[str]:
        """The variables the action itself fills (hardcoded or from the broker)."""
        return set(self.hardcoded_values) | set(self.broker_mappings)


def action_input_ports(
    action: ActionData, prompt_ports: Iterable[RunnablePort]
) -> list[RunnablePort]:
    """The prompt's input ports that no hardcoded value or broker mapping supplies."""
    supplied = action.supplied
    return [port for port in prompt_ports if port.key not in supplied]


def action_configuration(action: ActionData, prompt: PromptData | None) -> dict[str, Any]:
    """What an executor needs: the prompt's configuration and what the action supplies."""
    return {
        "prompt_ref": action.prompt_ref,
        "prompt": prompt_configuration(prompt) if prompt is not None else None,
        "hardcoded_values": dict(action.hardcoded_values),
        "broker_mappings": dict(action.broker_mappings),
    }


def action_to_runnable(action: ActionData, prompt: PromptData | None = None) -> RunnableData:
    """The action as the bridge sees it (its prompt, when known, fills the configuration)."""
    return RunnableData(
        id=action.id,
        kind="action",
        name=action.name,
        version=action.version,
        slug=action.slug,
        configuration=action_configuration(action, prompt),
    )


class ActionMolecule(SourceMolecule[ActionData]):
    """Prompt actions over a source; reads their prompts through the prompt molecules.

    Extra selectors: `prompt` (the prompt's data, loading it on first read),
    `prompt_query`, `input_ports`, `output_ports`, `schemas`, `configuration`.
    """

    def __init__(
        self,
        source: Source,
        *,
        prompts: PromptMolecule[Any],
        builtins: PromptMolecule[Any] | None = None,
        **options: Any,
    ) -> None:
        super().__init__("action", source, transform=ActionData.model_validate, **options)
        self.prompts = prompts
        self.builtins = builtins
        self.prompt = self.selector("prompt", self._read_prompt)
        self.prompt_query = self.selector("prompt_query", self._read_prompt_query)
        self.input_ports = self.selector("input_ports", self._read_input_ports)
        self.output_ports = self.selector("output_ports", self._read_output_ports)
        self.schemas = self.selector("schemas", self._read_schemas)
        self.configuration = self.selector("configuration", self._read_configuration)

    def _target_ref(self, get: Getter, key: str) -> RunnableRef | None:
        action: ActionData | None = get(self.data(key))
        return None if action is None else action.prompt

    def _target(self, get: Getter, key: str) -> tuple[PromptMolecule[Any], str] | None:
        ref = self._target_ref(get, key)
        if ref is None:
            return None
        molecule = self.builtins if ref.kind == "builtin" else self.prompts
        return None if molecule is None else (molecule, ref.id)

    def _read_prompt(self, get: Getter, key: str) -> PromptData | None:
        target = self._target(get, key)
        if target is None:
            return None
        molecule, prompt_id = target
        prompt: PromptData | None = get(molecule.data(prompt_id))
        return prompt

    def _read_prompt_query(self, get: Getter, key: str) -> QueryState[Any] | None:
        target = self._target(get, key)
        if target is None:
            return None
        molecule, prompt_id = target
        state: QueryState[Any] = get(molecule.query(prompt_id))
        return state

    def _read_input_ports(self, get: Getter, key: str) -> list[RunnablePort]:
        action: ActionData | None = get(self.data(key))
        target = self._target(get, key)
        if action is None or target is None:
            return []
        molecule, prompt_id = target
        return action_input_ports(action, get(molecule.input_ports(prompt_id)))

    def _read_output_ports(self, get: Getter, key: str) -> list[RunnablePort]:
        target = self._target(get, key)
        if target is None:
            return []
        molecule, prompt_id = target
        ports: list[RunnablePort] = get(molecule.output_ports(prompt_id))
        return ports

    def _read_schemas(self, get: Getter, key: str) -> RunnableSchemas:
        target = self._target(get, key)
        prompt_schemas = get(target[0].schemas(target[1])) if target is not None else None
        return RunnableSchemas(
            inputs=schema_from_ports(get(self.input_ports(key))),
            outputs=prompt_schemas.outputs if prompt_schemas is not None else None,
        )

    def _read_configuration(self, get: Getter, key: str) -> dict[str, Any] | None:
        action: ActionData | None = get(self.data(key))
        if action is None:
            return None
        return action_configuration(action, get(self.prompt(key)))


def action_molecule(
    source: Source,
    *,
    prompts: PromptMolecule[Any],
    builtins: PromptMolecule[Any] | None = None,
    **options: Any,
) -> ActionMolecule:
    """The molecule of prompt actions in `source`, reading prompts through `prompts`/`builtins`."""
    return ActionMolecule(source, prompts=prompts, builtins=builtins, **options)
