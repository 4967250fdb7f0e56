"""Run tracking: runs and their tasks in SQLite or PostgreSQL."""

from runnable.redaction import REDACTED, SECRET_KEYS, redact_secrets
from runnable.tracking.errors import (
    InvalidTrackingValue,
    InvalidTrackingValueError,
    RunNotFound,
    RunNotFoundError,
    TaskNotFound,
    TaskNotFoundError,
    TrackingBackendError,
    TrackingError,
)
from runnable.tracking.models import (
    TERMINAL_STATUSES,
    Interrupted,
    RunRecord,
    RunStatus,
    TaskRecord,
    TaskUsage,
    TrackedVariable,
)
from runnable.tracking.partial_text import PartialFlusher, PartialTextWriter
from runnable.tracking.recorder import RunRecorder, task_id_for
from runnable.tracking.store import DEFAULT_PATH, RunStore
from runnable.tracking.tables import TRACKING_METADATA, ai_runs, ai_tasks

__all__ = [
    "DEFAULT_PATH",
    "REDACTED",
    "SECRET_KEYS",
    "TERMINAL_STATUSES",
    "TRACKING_METADATA",
    "Interrupted",
    "InvalidTrackingValue",
    "InvalidTrackingValueError",
    "PartialFlusher",
    "PartialTextWriter",
    "RunNotFound",
    "RunNotFoundError",
    "RunRecord",
    "RunRecorder",
    "RunStatus",
    "RunStore",
    "TaskNotFound",
    "TaskNotFoundError",
    "TaskRecord",
    "TaskUsage",
    "TrackedVariable",
    "TrackingBackendError",
    "TrackingError",
    "ai_runs",
    "ai_tasks",
    "redact_secrets",
    "task_id_for",
]
