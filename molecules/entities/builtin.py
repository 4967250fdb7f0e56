"""Built-in prompts: prompts the product ships (shape of a prompt, kept in their own table)."""

from __future__ import annotations

from typing import Any

from molecules.entities.prompt import PromptData, PromptMolecule
from runnable.sources import Source

__all__ = ["BuiltinData", "builtin_molecule"]


class BuiltinData(PromptData):
    """A built-in prompt: a prompt, plus the key the product knows it by."""

    builtin_key: str | None = None


def builtin_molecule(source: Source, **options: Any) -> PromptMolecule[BuiltinData]:
    """The molecule of built-in prompts stored in `source` (same selectors as prompts)."""
    return PromptMolecule(source, name="builtin", model=BuiltinData, **options)
