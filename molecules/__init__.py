"""The reactive layer: atoms and the store (molecules.core), entity and execution molecules."""

from molecules.core.atom import Atom, Getter, Setter, atom, default_eq, derived
from molecules.core.errors import AsyncReadError, ListenerError, MoleculesError, NotWritableError
from molecules.core.family import AtomFamily, FamilyEvent, atom_family
from molecules.core.loadable import Loadable, loadable, unwrap
from molecules.core.observable import atom_from_observable
from molecules.core.reset import RESET, atom_with_default, atom_with_reset
from molecules.core.select import select_atom
from molecules.core.store import ReadContext, Store
from molecules.errors import (
    EntityLoadError,
    EntityNotFoundError,
    EntityNotLoadedError,
    InvalidEntityIdError,
    MoleculeError,
    SaveNotSupportedError,
    UnknownPresetError,
)
from molecules.hooks import MoleculeHooks
from molecules.molecule import Molecule, create_molecule, entity_id
from molecules.normalize import canonical_json, normalize, normalized_equal
from molecules.query import QueryState

__all__ = [
    "RESET",
    "AsyncReadError",
    "Atom",
    "AtomFamily",
    "EntityLoadError",
    "EntityNotFoundError",
    "EntityNotLoadedError",
    "FamilyEvent",
    "Getter",
    "InvalidEntityIdError",
    "ListenerError",
    "Loadable",
    "Molecule",
    "MoleculeError",
    "MoleculeHooks",
    "MoleculesError",
    "NotWritableError",
    "QueryState",
    "ReadContext",
    "SaveNotSupportedError",
    "Setter",
    "Store",
    "UnknownPresetError",
    "atom",
    "atom_family",
    "atom_from_observable",
    "atom_with_default",
    "atom_with_reset",
    "canonical_json",
    "create_molecule",
    "default_eq",
    "derived",
    "entity_id",
    "loadable",
    "normalize",
    "normalized_equal",
    "select_atom",
    "unwrap",
]
