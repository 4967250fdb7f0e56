"""The demo: an app and two evaluators as a chain over a dataset, with every run recorded.

Two services start on 127.0.0.1 (the app and an evaluator, plain functions served with
`runnable.http.service`). The app revision is loaded through its OpenAPI document; the chain
runs the app, then a built-in evaluator and the served one, whose inputs are auto-mapped
(`output` from the app, `correct_answer` from the row); each row is a run in a SQLite file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from bridge.defaults import create_default_bridge
from bridge.demo.services import app_service, evaluator_service
from molecules import Store
from runnable.chain import Chain, Connection, Node
from runnable.http.serving import serve_in_thread
from runnable.runner import DatasetResult, RunEvent
from runnable.sources import InMemorySource
from runnable.tracking import RunRecorder, RunStore

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "examples" / "capitals.jsonl"

DEMO_CHAIN = Chain(
    nodes=[
        Node("app", "app_revision:capitals-v1", label="Capitals app"),
        Node("exact", "evaluator_revision:exact", label="Exact match"),
        Node("similarity", "evaluator_revision:similarity", label="Similarity"),
    ],
    connections=[Connection("app", "exact"), Connection("app", "similarity")],
)


@attrs.frozen
class DemoRow:
    """One row of the demo's result table."""

    index: int
    inputs: dict[str, Any]
    status: str
    answer: Any
    exact: float | None
    similarity: float | None
    run_id: str | None


@attrs.frozen
class DemoResult:
    """What the demo did: a row per dataset row, the dataset run, and where runs were kept."""

    rows: tuple[DemoRow, ...]
    dataset: DatasetResult
    runs_path: Path


def load_dataset(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON Lines file (one JSON object per line)."""
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{number}: a row must be a JSON object, got {row!r}")
        rows.append(row)
    if not rows:
        raise ValueError(f"{path}: the dataset has no rows")
    return rows


def _score(output: Any) -> float | None:
    if isinstance(output, dict) and isinstance(output.get("score"), int | float):
        return float(output["score"])
    return None


async def run_demo(
    dataset: Path = DEFAULT_DATASET,
    runs_path: Path = Path("runs.sqlite"),
    *,
    row_concurrency: int = 4,
    on_event: Callable[[RunEvent], Any] | None = None,
) -> DemoResult:
    """Serve the demo services, run the chain over `dataset`, record runs in `runs_path`."""
    rows = load_dataset(dataset)
    with (
        serve_in_thread(app_service()) as app_url,
        serve_in_thread(evaluator_service()) as evaluators_url,
    ):
        bridge = create_default_bridge(
            {
                "app_revision": InMemorySource(
                    {"capitals-v1": {"name": "capitals", "uri": app_url}}
                ),
                "evaluator_revision": InMemorySource(
                    {
                        "exact": {"name": "exact match", "evaluator_key": "exact_match"},
                        "similarity": {
                            "name": "similarity",
                            "uri": f"{evaluators_url}/similarity",
                        },
                    }
                ),
            }
        )
        # The demo owns its file: runs a killed demo left open are marked interrupted.
        run_store = await RunStore.open(runs_path, recover=True)
        recorder = RunRecorder(run_store, name="capitals demo")
        try:
            run = await bridge.run_dataset(
                DEMO_CHAIN,
                rows,
                store=Store(),
                recorder=recorder,
                on_event=on_event,
                row_concurrency=row_concurrency,
            )
            result = await run.wait()
        finally:
            await recorder.aclose()
            await run_store.close()
    return DemoResult(_table(rows, result), result, runs_path)


def _table(rows: Sequence[dict[str, Any]], result: DatasetResult) -> tuple[DemoRow, ...]:
    table = []
    for index, row in enumerate(rows):
        outcome = result.rows[index] if index < len(result.rows) else None
        outputs = {k: r.output for k, r in outcome.results.items()} if outcome else {}
        table.append(
            DemoRow(
                index=index,
                inputs=dict(row),
                status=outcome.status.value if outcome else "missing",
                answer=outputs.get("app"),
                exact=_score(outputs.get("exact")),
                similarity=_score(outputs.get("similarity")),
                run_id=outcome.run_id if outcome else None,
            )
        )
    return tuple(table)
