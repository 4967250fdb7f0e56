"""The run-tracking tables, `ai_runs` and `ai_tasks`."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Integer, MetaData, String, Table, Text

from runnable.sources.sqltypes import JsonText, UtcDateTime

TRACKING_METADATA = MetaData()
"""Metadata of the run-tracking tables (for migrations: `TRACKING_METADATA.create_all`)."""

ai_runs = Table(
    "ai_runs",
    TRACKING_METADATA,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=True),
    Column("runnable_ref", String, nullable=True),
    Column("status", String(16), nullable=False),
    Column("inputs", JsonText, nullable=True),
    Column("messages", JsonText, nullable=True),
    Column("variables", JsonText, nullable=True),  # {name: {"value": ..., "source": ...}}
    Column("settings", JsonText, nullable=True),
    Column("stats", JsonText, nullable=True),
    Column("error", Text, nullable=True),
    # A loose reference: a child run may be written before or without its parent's store.
    Column("parent_run_id", String, nullable=True),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
)

ai_tasks = Table(
    "ai_tasks",
    TRACKING_METADATA,
    Column("id", String, primary_key=True),
    Column(
        "run_id", String, ForeignKey("ai_runs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("node_id", String, nullable=True),
    Column("name", String, nullable=True),
    Column("runnable_ref", String, nullable=True),
    Column("status", String(16), nullable=False),
    Column("inputs", JsonText, nullable=True),
    Column("variables", JsonText, nullable=True),
    Column("request", JsonText, nullable=True),
    Column("response", JsonText, nullable=True),
    Column("partial_text", Text, nullable=False, default=""),
    Column("error", Text, nullable=True),
    Column("ttft_ms", Float, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("tokens_in", Integer, nullable=True),
    Column("tokens_out", Integer, nullable=True),
    Column("cost", Float, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
)
