"""Run and task records: what the run store reads back (pydantic, frozen)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs
from pydantic import AliasChoices, BaseModel, ConfigDict, Field


class RunStatus(StrEnum):
    """Status of a run or a task; the last five are terminal."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    ERROR = "error"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"


TERMINAL_STATUSES: frozenset[RunStatus] = frozenset(
    {
        RunStatus.SUCCESS,
        RunStatus.ERROR,
        RunStatus.CANCELLED,
        RunStatus.INTERRUPTED,
        RunStatus.SKIPPED,
    }
)
"""Statuses that end a run or task; once written they are never overwritten."""


class TrackedVariable(BaseModel):
    """A resolved variable as recorded: its value and the layer it came from."""

    model_config = ConfigDict(frozen=True)

    value: Any = None
    source: str | None = None


class TaskUsage(BaseModel):
    """Token usage, cost and timings of one task; reads OpenAI-style names too."""

    model_config = ConfigDict(frozen=True, from_attributes=True, extra="ignore")

    tokens_in: int | None = Field(
        None, validation_alias=AliasChoices("tokens_in", "prompt_tokens", "input_tokens")
    )
    tokens_out: int | None = Field(
        None, validation_alias=AliasChoices("tokens_out", "completion_tokens", "output_tokens")
    )
    cost: float | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None


class RunRecord(BaseModel):
    """One run: a prompt turn, a conversation or a chain, as stored in `ai_runs`."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str | None = None
    runnable_ref: str | None = None
    status: RunStatus
    inputs: dict[str, Any] = Field(default_factory=dict)
    messages: list[Any] = Field(default_factory=list)
    variables: dict[str, TrackedVariable] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    stats: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    parent_run_id: str | None = None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None

    @property
    def is_terminal(self) -> bool:
        """Tell whether the run has ended."""
        return self.status in TERMINAL_STATUSES


class TaskRecord(BaseModel):
    """One task of a run (a turn or a chain node), as stored in `ai_tasks`."""

    model_config = ConfigDict(frozen=True)

    id: str
    run_id: str
    node_id: str | None = None
    name: str | None = None
    runnable_ref: str | None = None
    status: RunStatus
    inputs: dict[str, Any] = Field(default_factory=dict)
    variables: dict[str, TrackedVariable] = Field(default_factory=dict)
    request: Any = None
    response: Any = None
    partial_text: str = ""
    error: str | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None

    @property
    def is_terminal(self) -> bool:
        """Tell whether the task has ended."""
        return self.status in TERMINAL_STATUSES


@attrs.frozen(slots=True)
class Interrupted:
    """How many runs and tasks `RunStore.mark_interrupted` ended."""

    runs: int
    tasks: int
