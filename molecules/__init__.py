"""The reactive layer: atoms and the store (molecules.core), entity and execution molecules."""

from molecules.core.atom import Atom, Getter, Setter, atom, default_eq, derived
from molecules.core.errors import AsyncReadError, ListenerError, MoleculesError, NotWritableError
from molecules.core.family import AtomFamily, FamilyEvent, atom_family
from molecules.core.loadable import Loadable, loadable, unwrap
from molecules.core.observable import atom_from_observable
from molecules.core.reset import RESET, atom_with_default, atom_with_reset
from molecules.core.select import select_atom
from molecules.core.store import ReadContext, Store
from molecules.run import (
    NodeRunState,
    RunMolecule,
    RunState,
    TextLog,
    fold_run,
    reduce_run,
    run_molecule,
)

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
    "NodeRunState",
    "NotWritableError",
    "ReadContext",
    "RunMolecule",
    "RunState",
    "Setter",
    "Store",
    "TextLog",
    "atom",
    "atom_family",
    "atom_from_observable",
    "atom_with_default",
    "atom_with_reset",
    "default_eq",
    "derived",
    "fold_run",
    "loadable",
    "reduce_run",
    "run_molecule",
    "select_atom",
    "unwrap",
]
