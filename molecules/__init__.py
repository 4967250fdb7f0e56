"""The reactive layer: atoms and the store (molecules.core), entity and execution molecules.

The names below load on first use (a module `__getattr__`), so importing one submodule
does not pay for the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from molecules.changes import follow_changes
    from molecules.comparison import canonical_json, normalize, normalized_equal
    from molecules.core.atom import Atom, Getter, Setter, atom, default_eq, derived
    from molecules.core.errors import (
        AsyncReadError,
        ListenerError,
        MoleculesError,
        NotWritableError,
    )
    from molecules.core.family import AtomFamily, FamilyEvent, atom_family
    from molecules.core.loadable import Loadable, loadable, unwrap
    from molecules.core.node import ReadContext
    from molecules.core.observable import atom_from_observable
    from molecules.core.reset import RESET, atom_with_default, atom_with_reset
    from molecules.core.select import select_atom
    from molecules.core.store import Store
    from molecules.engine import (
        ActionStart,
        ActionStartOptions,
        BrokerResolver,
        ConversationEngine,
        EngineError,
        ExecutionConfig,
        InstanceBusyError,
        InstanceState,
        InstanceStatus,
        MappingBrokerResolver,
        ScopeContext,
        ScopedVariableCache,
        StartOptions,
        StreamText,
        reduce_instance,
        replay,
    )
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
    from runnable.errors import ConflictError

# Where each public name lives: name -> module (and the name there, when it differs).
_EXPORTS: dict[str, tuple[str, str]] = {
    "RESET": ("molecules.core.reset", "RESET"),
    "ActionData": ("molecules.entities", "ActionData"),
    "ActionMolecule": ("molecules.entities", "ActionMolecule"),
    "ActionStart": ("molecules.engine", "ActionStart"),
    "ActionStartOptions": ("molecules.engine", "ActionStartOptions"),
    "AppRevisionData": ("molecules.entities", "AppRevisionData"),
    "AppRevisionMolecule": ("molecules.entities", "AppRevisionMolecule"),
    "AsyncReadError": ("molecules.core.errors", "AsyncReadError"),
    "Atom": ("molecules.core.atom", "Atom"),
    "AtomFamily": ("molecules.core.family", "AtomFamily"),
    "BrokerResolver": ("molecules.engine", "BrokerResolver"),
    "BuiltinData": ("molecules.entities", "BuiltinData"),
    "ConflictError": ("runnable.errors", "ConflictError"),
    "ConversationEngine": ("molecules.engine", "ConversationEngine"),
    "EngineError": ("molecules.engine", "EngineError"),
    "EntityLoadError": ("molecules.errors", "EntityLoadError"),
    "EntityNotFoundError": ("molecules.errors", "EntityNotFoundError"),
    "EntityNotLoadedError": ("molecules.errors", "EntityNotLoadedError"),
    "EvaluatorPresetData": ("molecules.entities", "EvaluatorPresetData"),
    "EvaluatorRevisionData": ("molecules.entities", "EvaluatorRevisionData"),
    "EvaluatorRevisionMolecule": ("molecules.entities", "EvaluatorRevisionMolecule"),
    "ExecutionConfig": ("molecules.engine", "ExecutionConfig"),
    "FamilyEvent": ("molecules.core.family", "FamilyEvent"),
    "Getter": ("molecules.core.atom", "Getter"),
    "InstanceBusyError": ("molecules.engine", "InstanceBusyError"),
    "InstanceState": ("molecules.engine", "InstanceState"),
    "InstanceStatus": ("molecules.engine", "InstanceStatus"),
    "InvalidEntityIdError": ("molecules.errors", "InvalidEntityIdError"),
    "ListenerError": ("molecules.core.errors", "ListenerError"),
    "Loadable": ("molecules.core.loadable", "Loadable"),
    "MappingBrokerResolver": ("molecules.engine", "MappingBrokerResolver"),
    "Molecule": ("molecules.molecule", "Molecule"),
    "MoleculeError": ("molecules.errors", "MoleculeError"),
    "MoleculeHooks": ("molecules.hooks", "MoleculeHooks"),
    "MoleculesError": ("molecules.core.errors", "MoleculesError"),
    "NodeRunState": ("molecules.run", "NodeRunState"),
    "NotWritableError": ("molecules.core.errors", "NotWritableError"),
    "PromptData": ("molecules.entities", "PromptData"),
    "PromptMolecule": ("molecules.entities", "PromptMolecule"),
    "QueryState": ("molecules.query", "QueryState"),
    "ReadContext": ("molecules.core.node", "ReadContext"),
    "RunMolecule": ("molecules.run", "RunMolecule"),
    "RunState": ("molecules.run", "RunState"),
    "SaveNotSupportedError": ("molecules.errors", "SaveNotSupportedError"),
    "ScopeContext": ("molecules.engine", "ScopeContext"),
    "ScopedVariableCache": ("molecules.engine", "ScopedVariableCache"),
    "Setter": ("molecules.core.atom", "Setter"),
    "SourceMolecule": ("molecules.source_molecule", "SourceMolecule"),
    "StartOptions": ("molecules.engine", "StartOptions"),
    "Store": ("molecules.core.store", "Store"),
    "StreamText": ("molecules.stream_text", "StreamText"),
    "TextLog": ("molecules.run", "TextLog"),
    "UnknownPresetError": ("molecules.errors", "UnknownPresetError"),
    "action_molecule": ("molecules.entities", "action_molecule"),
    "app_revision_molecule": ("molecules.entities", "app_revision_molecule"),
    "atom": ("molecules.core.atom", "atom"),
    "atom_family": ("molecules.core.family", "atom_family"),
    "atom_from_observable": ("molecules.core.observable", "atom_from_observable"),
    "atom_with_default": ("molecules.core.reset", "atom_with_default"),
    "atom_with_reset": ("molecules.core.reset", "atom_with_reset"),
    "builtin_molecule": ("molecules.entities", "builtin_molecule"),
    "canonical_json": ("molecules.comparison", "canonical_json"),
    "create_molecule": ("molecules.molecule", "create_molecule"),
    "create_source_molecule": ("molecules.source_molecule", "create_source_molecule"),
    "default_eq": ("molecules.core.atom", "default_eq"),
    "derived": ("molecules.core.atom", "derived"),
    "follow_changes": ("molecules.changes", "follow_changes"),
    "entity_id": ("molecules.molecule", "entity_id"),
    "evaluator_revision_molecule": ("molecules.entities", "evaluator_revision_molecule"),
    "fold_run": ("molecules.run", "fold_run"),
    "loadable": ("molecules.core.loadable", "loadable"),
    "normalize": ("molecules.comparison", "normalize"),
    "normalized_equal": ("molecules.comparison", "normalized_equal"),
    "prompt_molecule": ("molecules.entities", "prompt_molecule"),
    "reduce_instance": ("molecules.engine", "reduce_instance"),
    "reduce_run": ("molecules.run", "reduce_run"),
    "replay": ("molecules.engine", "replay"),
    "run_molecule": ("molecules.run", "run_molecule"),
    "select_atom": ("molecules.core.select", "select_atom"),
    "unwrap": ("molecules.core.loadable", "unwrap"),
}

__all__ = [
    "RESET",
    "ActionData",
    "ActionMolecule",
    "ActionStart",
    "ActionStartOptions",
    "AppRevisionData",
    "AppRevisionMolecule",
    "AsyncReadError",
    "Atom",
    "AtomFamily",
    "BrokerResolver",
    "BuiltinData",
    "ConflictError",
    "ConversationEngine",
    "EngineError",
    "EntityLoadError",
    "EntityNotFoundError",
    "EntityNotLoadedError",
    "EvaluatorPresetData",
    "EvaluatorRevisionData",
    "EvaluatorRevisionMolecule",
    "ExecutionConfig",
    "FamilyEvent",
    "Getter",
    "InstanceBusyError",
    "InstanceState",
    "InstanceStatus",
    "InvalidEntityIdError",
    "ListenerError",
    "Loadable",
    "MappingBrokerResolver",
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
    "ScopeContext",
    "ScopedVariableCache",
    "Setter",
    "SourceMolecule",
    "StartOptions",
    "Store",
    "StreamText",
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
    "follow_changes",
    "loadable",
    "normalize",
    "normalized_equal",
    "prompt_molecule",
    "reduce_instance",
    "reduce_run",
    "replay",
    "run_molecule",
    "select_atom",
    "unwrap",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use."""
    try:
        module_name, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, as for an eager module."""
    return sorted(set(globals()) | set(__all__))
