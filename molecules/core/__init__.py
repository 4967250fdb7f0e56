"""The reactive core: atoms, the store, families, loadables and small utilities."""

from molecules.core.atom import Atom, Getter, Setter, atom, default_eq, derived
from molecules.core.effect import effect
from molecules.core.errors import AsyncReadError, ListenerError, MoleculesError, NotWritableError
from molecules.core.family import AtomFamily, FamilyEvent, atom_family
from molecules.core.loadable import Loadable, loadable, unwrap
from molecules.core.node import ReadContext
from molecules.core.observable import atom_from_observable
from molecules.core.reset import RESET, atom_with_default, atom_with_reset
from molecules.core.select import select_atom
from molecules.core.store import Store

__all__ = [
    "RESET",
    "AsyncReadError",
    "Atom",
    "AtomFamily",
    "FamilyEvent",
    "Getter",
    "ListenerError",
    "Loadable",
    "MoleculesError",
    "NotWritableError",
    "ReadContext",
    "Setter",
    "Store",
    "atom",
    "atom_family",
    "atom_from_observable",
    "atom_with_default",
    "atom_with_reset",
    "default_eq",
    "derived",
    "effect",
    "loadable",
    "select_atom",
    "unwrap",
]
