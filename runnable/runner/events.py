"""The events of a run: typed, tagged with the run id (and node id), serialisable to JSON.

A run yields `RunStarted`, then for each node in order `NodeStarted`, any `Chunk`s and
`NodeRetrying`s, and one terminal event (`NodeCompleted`, `NodeFailed`, `NodeCancelled`),
or only `NodeSkipped`; then `RunCompleted`. Flows add `StepStarted`/`StepCompleted`.
`parse_event` reads an event back from its JSON or dict form (replaying a run).

The runner builds events with `Event.fast(...)`, which skips validation: the runner's
own values are already the right types, and validation would cost more than the node.
"""

from __future__ import annotations

import builtins
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from runnable.types import ErrorInfo, ExecutionMetrics, ExecutionStatus, TraceInfo

__all__ = [
    "Chunk",
    "LogLevel",
    "NodeCancelled",
    "NodeCompleted",
    "NodeFailed",
    "NodeRetrying",
    "NodeSkipped",
    "NodeStarted",
    "RunCompleted",
    "RunEvent",
    "RunKind",
    "RunStarted",
    "StepCompleted",
    "StepStarted",
    "parse_event",
]

RunKind = Literal["chain", "dataset", "flow"]
LogLevel = Literal["debug", "info", "warning", "error"]
"""How much an event matters in a run's log: a chunk is debug, a retry, skip or cancel a
warning, a failure an error, the rest info."""

E = TypeVar("E", bound="Event")
_set = object.__setattr__
_new = object.__new__
# Each event class's defaults, resolved once, so `fast` is a dict merge and four setattrs.
_DEFAULTS: dict[type[Any], dict[str, Any]] = {}


class Event(BaseModel):
    """What every event carries: its type, its run, and (for node events) its node."""

    model_config = ConfigDict(frozen=True)

    type: str
    run_id: str
    node_id: str | None = None

    LEVEL: ClassVar[LogLevel] = "info"

    @property
    def level(self) -> LogLevel:
        """This event's level in the run's log (see `LogLevel`)."""
        return self.LEVEL

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _DEFAULTS[cls] = {
            name: field.get_default(call_default_factory=True)
            for name, field in cls.model_fields.items()
            if not field.is_required()
        }

    @classmethod
    def fast(cls: builtins.type[E], **values: Any) -> E:
        """Build an event from trusted values without validation (the runner's hot path).

        Mutable defaults are shared between events built this way: events are frozen.
        """
        event: E = _new(cls)
        data = _DEFAULTS[cls].copy()
        data.update(values)
        _set(event, "__dict__", data)
        _set(event, "__pydantic_fields_set__", set(values))
        _set(event, "__pydantic_extra__", None)
        _set(event, "__pydantic_private__", None)
        return event


class RunStarted(Event):
    """A run began: its kind, its nodes, and the run it derives from (a re-run's parent)."""

    type: Literal["run_started"] = "run_started"
    kind: RunKind = "chain"
    node_ids: tuple[str, ...] = ()
    parent_run_id: str | None = None
    rerun_of: tuple[str, ...] = ()
    row: int | None = None
    at: float = 0.0


class NodeStarted(Event):
    """A node's executor was called with these inputs."""

    type: Literal["node_started"] = "node_started"
    node_id: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    at: float = 0.0


class Chunk(Event):
    """A piece of a streaming node's text, `index` counting from 0 within the node."""

    LEVEL: ClassVar[LogLevel] = "debug"
    type: Literal["chunk"] = "chunk"
    node_id: str
    text: str
    index: int = 0


class NodeRetrying(Event):
    """A node's attempt failed and it will be tried again after `delay` seconds."""

    LEVEL: ClassVar[LogLevel] = "warning"
    type: Literal["node_retrying"] = "node_retrying"
    node_id: str
    attempt: int
    error: ErrorInfo
    delay: float = 0.0


class NodeCompleted(Event):
    """A node succeeded; `cached` when its output was reused from an earlier run."""

    type: Literal["node_completed"] = "node_completed"
    node_id: str
    output: Any = None
    metrics: ExecutionMetrics | None = None
    trace: TraceInfo | None = None
    # What the node sent (rendered messages and settings, an HTTP body), when it said.
    request: dict[str, Any] | None = None
    latency_ms: float | None = None
    attempts: int = 1
    cached: bool = False
    source_run_id: str | None = None
    at: float = 0.0


class NodeFailed(Event):
    """A node failed for good (after its retries)."""

    LEVEL: ClassVar[LogLevel] = "error"
    type: Literal["node_failed"] = "node_failed"
    node_id: str
    error: ErrorInfo
    output: Any = None  # what the node produced before failing (an invalid reply's text)
    request: dict[str, Any] | None = None
    metrics: ExecutionMetrics | None = None
    latency_ms: float | None = None
    attempts: int = 1
    at: float = 0.0


class NodeSkipped(Event):
    """A node did not run because `because` (an upstream node) failed or was cancelled."""

    LEVEL: ClassVar[LogLevel] = "warning"
    type: Literal["node_skipped"] = "node_skipped"
    node_id: str
    because: str | None = None
    reason: str = ""
    at: float = 0.0


class NodeCancelled(Event):
    """A node was cancelled: while running (`started`) or before it could start."""

    LEVEL: ClassVar[LogLevel] = "warning"
    type: Literal["node_cancelled"] = "node_cancelled"
    node_id: str
    started: bool = False
    at: float = 0.0


class StepStarted(Event):
    """The first action of a flow step started (`node_id` is None; `step_id` names it)."""

    type: Literal["step_started"] = "step_started"
    step_id: str
    at: float = 0.0


class StepCompleted(Event):
    """Every action of a flow step reached a terminal status."""

    type: Literal["step_completed"] = "step_completed"
    step_id: str
    status: ExecutionStatus
    at: float = 0.0

    @property
    def level(self) -> LogLevel:
        """error when the step failed, warning when cancelled or skipped, else info."""
        return _status_level(self.status)


class RunCompleted(Event):
    """A run ended: success, error (a node failed) or cancelled."""

    type: Literal["run_completed"] = "run_completed"
    status: ExecutionStatus
    error: ErrorInfo | None = None
    latency_ms: float | None = None
    at: float = 0.0

    @property
    def level(self) -> LogLevel:
        """error when the run failed, warning when cancelled, else info."""
        return _status_level(self.status)


def _status_level(status: ExecutionStatus) -> LogLevel:
    if status is ExecutionStatus.ERROR:
        return "error"
    if status in (ExecutionStatus.CANCELLED, ExecutionStatus.SKIPPED):
        return "warning"
    return "info"


RunEvent = Annotated[
    RunStarted
    | NodeStarted
    | Chunk
    | NodeRetrying
    | NodeCompleted
    | NodeFailed
    | NodeSkipped
    | NodeCancelled
    | StepStarted
    | StepCompleted
    | RunCompleted,
    Field(discriminator="type"),
]

_ADAPTER: TypeAdapter[RunEvent] = TypeAdapter(RunEvent)


def parse_event(data: str | bytes | dict[str, Any]) -> RunEvent:
    """An event from its JSON text or its dict form (`event.model_dump()`)."""
    if isinstance(data, str | bytes):
        return _ADAPTER.validate_json(data)
    return _ADAPTER.validate_python(data)
