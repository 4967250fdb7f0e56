"""The reactive layer: atoms and the store (molecules.core), entity and execution molecules."""

from molecules.core.atom import Atom, Getter, Setter, atom, default_eq, derived
from molecules.core.errors import AsyncReadError, ListenerError, MoleculesError, NotWritableError
from molecules.core.family import AtomFamily, FamilyEvent, atom_family
from molecules.core.loadable import Loadable, loadable, unwrap
from molecules.core.observable import atom_from_observable
from molecules.core.reset import RESET, atom_with_default, atom_with_reset
from molecules.core.select import select_atom
from molecules.core.store import ReadContext, Store
from molecules.entities import (
    ActionData,
    ActionMolecule,
    AppRevisionData,
    AppRevisionMolecule,
    BuiltinData,
    EvaluatorPresetData,
    EvaluatorRevisionData,
    EvaluatorRevisionMolecule,
    PromptData,
    PromptMolecule,
    action_molecule,
    app_revision_molecule,
    builtin_molecule,
    evaluator_revision_molecule,
    prompt_molecule,
)
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
from molecules.run import (
    NodeRunState,
    RunMolecule,
    RunState,
    TextLog,
    fold_run,
    reduce_run,
    run_molecule,
)
from molecules.source_molecule import SourceMolecule, create_source_molecule

__all__ = [
    "RESET",
    "ActionData",
    "ActionMolecule",
    "AppRevisionData",
    "AppRevisionMolecule",
    "AsyncReadError",
    "Atom",
    "AtomFamily",
    "BuiltinData",
    "EntityLoadError",
    "EntityNotFoundError",
    "EntityNotLoadedError",
    "EvaluatorPresetData",
    "EvaluatorRevisionData",
    "EvaluatorRevisionMolecule",
    "FamilyEvent",
    "Getter",
    "InvalidEntityIdError",
    "ListenerError",
    "Loadable",
    "Molecule",
    "MoleculeError",
    "MoleculeHooks",
    "MoleculesError",
    "NodeRunState",
    "NotWritableError",
    "PromptData",
    "PromptMolecule",
    "QueryState",
    "ReadContext",
    "RunMolecule",
    "RunState",
    "SaveNotSupportedError",
    "Setter",
    "SourceMolecule",
    "Store",
    "TextLog",
    "UnknownPresetError",
    "action_molecule",
    "app_revision_molecule",
    "atom",
    "atom_family",
    "atom_from_observable",
    "atom_with_default",
    "atom_with_reset",
    "builtin_molecule",
    "canonical_json",
    "create_molecule",
    "create_source_molecule",
    "default_eq",
    "derived",
    "entity_id",
    "evaluator_revision_molecule",
    "fold_run",
    "loadable",
    "normalize",
    "normalized_equal",
    "prompt_molecule",
    "reduce_run",
    "run_molecule",
    "select_atom",
    "unwrap",
]
