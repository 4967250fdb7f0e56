"""Errors raised by entity molecules (the reactive core's own errors are in core/errors.py).

```
MoleculesError                     (molecules.core.errors)
└── MoleculeError                  an entity molecule could not do what was asked
    ├── InvalidEntityIdError       an id that is not a non-empty string (or a ref with one)
    ├── EntityNotFoundError        the source has no entity with this id
    ├── EntityLoadError            the fetch failed or returned data the molecule refuses
    ├── SaveNotSupportedError      save/delete asked of a molecule made without that function
    ├── EntityNotLoadedError       an action needs data that is not there yet
    └── UnknownPresetError         apply_preset with a key that no preset has
```
"""

from __future__ import annotations

from collections.abc import Sequence

from molecules.core.errors import MoleculesError


class MoleculeError(MoleculesError):
    """Base of the errors entity molecules raise; names the molecule and the entity id."""

    def __init__(self, molecule: str | None, entity_id: str | None, message: str) -> None:
        self.molecule = molecule
        self.entity_id = entity_id
        where = " ".join(p for p in (molecule, None if entity_id is None else repr(entity_id)) if p)
        super().__init__(f"{where}: {message}" if where else message)


class InvalidEntityIdError(MoleculeError, ValueError):
    """An entity id that is not a non-empty string, nor an object with such an `id`."""


class EntityNotFoundError(MoleculeError, LookupError):
    """The molecule's fetch found no entity with this id."""

    def __init__(self, molecule: str, entity_id: str, where: str | None = None) -> None:
        place = f" in {where}" if where else ""
        super().__init__(molecule, entity_id, f"not found{place}")


class EntityLoadError(MoleculeError):
    """Fetching the entity failed, or what came back is not valid entity data."""


class SaveNotSupportedError(MoleculeError, TypeError):
    """The molecule was made without the function this action needs (save or remove)."""


class EntityNotLoadedError(MoleculeError):
    """An action needs the entity's data, and the store holds none for this id."""


class UnknownPresetError(MoleculeError, KeyError):
    """`apply_preset` was given a key that no preset of the entity has."""

    def __init__(self, molecule: str, entity_id: str, key: str, known: Sequence[str]) -> None:
        self.key = key
        self.known = list(known)
        choices = ", ".join(self.known) or "none"
        super().__init__(molecule, entity_id, f"no preset {key!r} (presets: {choices})")

    def __str__(self) -> str:
        # KeyError would quote the whole message.
        return str(self.args[0])
