"""Prompts, built-in prompts and prompt actions, as the engine reads them.

Given the kinds' molecules (as `create_default_bridge` does), an entity is read through
its molecule in the caller's store: the one source of truth the bridge also reads, so a
conversation started while a prompt has a draft runs the draft. Given only sources, it
is loaded from the source once per store. A prompt ref is "prompt:p1", "builtin:b1", a
`RunnableRef`, or a bare id (looked up in prompts, then in built-ins). A load in flight
is shared; a failed load is forgotten so the next one tries again; `refresh=True` loads
again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from molecules.core.atom import Atom, Getter, Setter, atom
from molecules.core.family import AtomFamily, atom_family
from molecules.engine.errors import EngineConfigError, PromptEntityNotFoundError
from molecules.errors import MoleculeError
from runnable.chat.execution import PromptSpec
from runnable.sources import Source
from runnable.types import RunnableRef

ENTITY_KINDS = {"prompt": "prompts", "builtin": "prompt_builtins", "action": "prompt_actions"}
"""The kinds the engine loads, and the table each lives in by default."""

EntityKey = tuple[str, str]


class EntityCache:
    """Loads entities of the `ENTITY_KINDS` from the sources given for them."""

    def __init__(
        self,
        sources: Mapping[str, Source | None],
        molecules: Mapping[str, Any] | None = None,
    ) -> None:
        unknown = sorted((set(sources) | set(molecules or {})) - set(ENTITY_KINDS))
        if unknown:
            raise EngineConfigError(f"unknown entity kinds {unknown}; known: {list(ENTITY_KINDS)}")
        self.sources = {kind: source for kind, source in sources.items() if source is not None}
        self.molecules = {k: m for k, m in (molecules or {}).items() if m is not None}
        self._loads: AtomFamily[EntityKey, Atom[asyncio.Task[dict[str, Any] | None] | None]] = (
            atom_family(lambda key: atom(None, name=f"entity.load({key[0]}:{key[1]})"))
        )

    async def get(
        self, get: Getter, set: Setter, kind: str, entity_id: str, *, refresh: bool = False
    ) -> dict[str, Any] | None:
        """The entity's data (its draft applied, when read through a molecule), or None."""
        molecule = self.molecules.get(kind)
        if molecule is not None:
            return await _through_molecule(get, set, molecule, entity_id, refresh=refresh)
        source = self.sources.get(kind)
        if source is None:
            raise EngineConfigError(f"the engine has no source for {ENTITY_KINDS[kind]}")
        slot = self._loads((kind, entity_id))
        task = get(slot)
        if refresh or task is None or (task.done() and task.exception() is not None):
            task = asyncio.get_running_loop().create_task(source.get(entity_id))
            set(slot, task)
        try:
            return await asyncio.shield(task)
        except Exception:
            if get(slot) is task:
                set(slot, None)
            raise

    async def prompt(
        self, get: Getter, set: Setter, ref: str | RunnableRef, *, refresh: bool = False
    ) -> tuple[PromptSpec, str]:
        """The prompt a ref names, and the ref as "kind:id"."""
        parsed = RunnableRef.parse(ref)
        kinds = [parsed.kind] if parsed.kind else ["prompt", "builtin"]
        known = self.sources.keys() | self.molecules.keys()
        if parsed.kind is None and not any(kind in known for kind in kinds):
            raise EngineConfigError("the engine has no source for prompts or prompt_builtins")
        for kind in kinds:
            if kind not in ("prompt", "builtin"):
                raise EngineConfigError(f"{str(parsed)!r} is not a prompt or a built-in prompt")
            if kind not in known and parsed.kind is None:
                continue
            data = await self.get(get, set, kind, parsed.id, refresh=refresh)
            if data is not None:
                return PromptSpec.of(data), f"{kind}:{parsed.id}"
        where = " or ".join(ENTITY_KINDS[k] for k in kinds)
        raise PromptEntityNotFoundError("prompt", parsed.id, where)

    async def action(
        self, get: Getter, set: Setter, action_id: str, *, refresh: bool = False
    ) -> dict[str, Any]:
        """The prompt action's data."""
        data = await self.get(get, set, "action", action_id, refresh=refresh)
        if data is None:
            raise PromptEntityNotFoundError("prompt action", action_id, ENTITY_KINDS["action"])
        return data


async def _through_molecule(
    get: Getter, set: Setter, molecule: Any, entity_id: str, *, refresh: bool
) -> dict[str, Any] | None:
    try:
        await set(molecule.refresh if refresh else molecule.load, entity_id)
    except MoleculeError:
        return None  # the molecule's query says why; to the engine it is not there
    data = get(molecule.data(entity_id))
    if data is None:
        return None
    if isinstance(data, BaseModel):
        dumped: dict[str, Any] = data.model_dump(mode="json")
        return dumped
    return dict(data)
