"""The conversation engine: prompt instances as atoms, run as conversations and recorded.

See `ConversationEngine` (engine.py) for how state, actions and selectors fit together,
and docs/conversations.md for a guided tour.
"""

from molecules.engine.actions import EngineActions
from molecules.engine.brokers import (
    BrokerResolution,
    BrokerResolver,
    MappingBrokerResolver,
    broker_mappings,
    resolve_brokers,
)
from molecules.engine.context import ScopeContext
from molecules.engine.engine import ConversationEngine
from molecules.engine.entity_cache import ENTITY_KINDS, EntityCache
from molecules.engine.errors import (
    ChatNotAllowedError,
    EngineConfigError,
    EngineError,
    EntityNotFound,
    InstanceBusyError,
    InstanceExistsError,
    InstanceNotFound,
    InstanceNotReadyError,
    ResourceNotFound,
)
from molecules.engine.events import (
    ConfigChanged,
    ConversationCleared,
    EngineEvent,
    InputSet,
    InstanceCreated,
    InstanceEvent,
    InstanceFailed,
    InstanceLoaded,
    MessageAdded,
    ResourcesChanged,
    RunEnded,
    RunLinked,
    ScopedVariablesLoaded,
    SettingsChanged,
    ShowVariablesSet,
    StatusSet,
    TaskLinked,
    TurnQueued,
    VariableExpanded,
    VariablesChanged,
)
from molecules.engine.handle import InstanceHandle, InstanceSelectorAtoms
from molecules.engine.instances import EventListener, Instances, TurnControl
from molecules.engine.prompt_action import ActionStart, ActionStartOptions
from molecules.engine.reducers import reduce_instance, replay
from molecules.engine.run_recorder import LoadedRun, TurnRecorder, end_run, load_run
from molecules.engine.scoped import (
    DEFAULT_SCOPED_TTL,
    ScopedEntry,
    ScopedValues,
    ScopedVariableCache,
    ScopeSource,
)
from molecules.engine.selectors import InstanceSelectors, InstanceStats, LiveStats
from molecules.engine.starting import PromptInput, StartOptions
from molecules.engine.state import (
    BUSY_STATUSES,
    ActiveTurn,
    ExecutionConfig,
    InstanceState,
    InstanceStatus,
    Totals,
    TurnStats,
    VariableLayers,
)
from molecules.stream_text import StreamText

__all__ = [
    "BUSY_STATUSES",
    "DEFAULT_SCOPED_TTL",
    "ENTITY_KINDS",
    "ActionStart",
    "ActionStartOptions",
    "ActiveTurn",
    "BrokerResolution",
    "BrokerResolver",
    "ChatNotAllowedError",
    "ConfigChanged",
    "ConversationCleared",
    "ConversationEngine",
    "EngineActions",
    "EngineConfigError",
    "EngineError",
    "EngineEvent",
    "EntityCache",
    "EntityNotFound",
    "EventListener",
    "ExecutionConfig",
    "InputSet",
    "InstanceBusyError",
    "InstanceCreated",
    "InstanceEvent",
    "InstanceExistsError",
    "InstanceFailed",
    "InstanceHandle",
    "InstanceLoaded",
    "InstanceNotFound",
    "InstanceNotReadyError",
    "InstanceSelectorAtoms",
    "InstanceSelectors",
    "InstanceState",
    "InstanceStats",
    "InstanceStatus",
    "Instances",
    "LiveStats",
    "LoadedRun",
    "MappingBrokerResolver",
    "MessageAdded",
    "PromptInput",
    "ResourceNotFound",
    "ResourcesChanged",
    "RunEnded",
    "RunLinked",
    "ScopeContext",
    "ScopeSource",
    "ScopedEntry",
    "ScopedValues",
    "ScopedVariableCache",
    "ScopedVariablesLoaded",
    "SettingsChanged",
    "ShowVariablesSet",
    "StartOptions",
    "StatusSet",
    "StreamText",
    "TaskLinked",
    "Totals",
    "TurnControl",
    "TurnQueued",
    "TurnRecorder",
    "TurnStats",
    "VariableExpanded",
    "VariableLayers",
    "VariablesChanged",
    "broker_mappings",
    "end_run",
    "load_run",
    "reduce_instance",
    "replay",
    "resolve_brokers",
]
