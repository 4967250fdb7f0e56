"""bridge: one selector API and one way to run, over every kind of runnable."""

from bridge.bridge import RunnableBridge, create_runnable_bridge
from bridge.changes import follow_bridge_changes
from bridge.defaults import (
    BUILTIN_KINDS,
    action_runnable_type,
    app_revision_runnable_type,
    create_default_bridge,
    evaluator_revision_runnable_type,
    prompt_runnable_type,
    runnable_bridge,
    use_runnable,
)
from bridge.errors import (
    AmbiguousRunnableId,
    AmbiguousRunnableIdError,
    BridgeError,
    ExecutorNotAvailable,
    ExecutorNotAvailableError,
    InvalidInputsError,
    InvalidRunnableTypeError,
    RunnableExecutionError,
    RunnableNotFoundError,
    UnknownRunnableId,
    UnknownRunnableIdError,
    UnknownRunnableType,
    UnknownRunnableTypeError,
)
from bridge.handle import RunnableHandle
from bridge.selectors import STANDARD_SELECTORS, BridgeSelectors, RunnableKind
from bridge.server import create_app  # imports starlette only when called (`server` extra)
from bridge.types import Executor, RunnableType
from runnable.errors import ConflictError
from runnable.runner.ray_backend import RayBackend
from runnable.types import ExecutionResult, RunnableData, RunnablePort, RunnableRef

__all__ = [
    "BUILTIN_KINDS",
    "STANDARD_SELECTORS",
    "AmbiguousRunnableId",
    "AmbiguousRunnableIdError",
    "BridgeError",
    "BridgeSelectors",
    "ConflictError",
    "ExecutionResult",
    "Executor",
    "ExecutorNotAvailable",
    "ExecutorNotAvailableError",
    "InvalidInputsError",
    "InvalidRunnableTypeError",
    "RayBackend",
    "RunnableBridge",
    "RunnableData",
    "RunnableExecutionError",
    "RunnableHandle",
    "RunnableKind",
    "RunnableNotFoundError",
    "RunnablePort",
    "RunnableRef",
    "RunnableType",
    "UnknownRunnableId",
    "UnknownRunnableIdError",
    "UnknownRunnableType",
    "UnknownRunnableTypeError",
    "action_runnable_type",
    "app_revision_runnable_type",
    "create_app",
    "create_default_bridge",
    "create_runnable_bridge",
    "evaluator_revision_runnable_type",
    "follow_bridge_changes",
    "prompt_runnable_type",
    "runnable_bridge",
    "use_runnable",
]
