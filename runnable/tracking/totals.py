"""What a recorded run adds up as its events are written: a run's tasks, tokens and cost,
and a dataset's rows, usage and mean score per evaluator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["DatasetTotals", "RunTotals", "score_of"]


def score_of(output: Any) -> float | None:
    """An evaluator's numeric score: a number, or a mapping's numeric `score`."""
    if type(output) is dict or isinstance(output, Mapping):
        output = output.get("score")
    if isinstance(output, int | float) and not isinstance(output, bool):
        return float(output)
    return None


@attrs.define
class DatasetTotals:
    """What a dataset's parent run adds up from its rows as they finish."""

    rows: int = 0
    succeeded: int = 0
    failed: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    scores: dict[str, list[float]] = attrs.field(factory=dict)

    def stats(self) -> dict[str, Any]:
        """The parent run's stats: counts, usage, and the mean score per evaluator node."""
        return {
            "rows": self.rows,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost": self.cost,
            "scores": {node: sum(v) / len(v) for node, v in self.scores.items() if v},
        }


@attrs.define
class RunTotals:
    """A run's tasks, tokens and cost, counted from its events as they are written."""

    tasks: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0

    def stats(self) -> dict[str, Any]:
        """The totals a run store would count from the run's tasks (so it need not)."""
        # Spelled out: `attrs.asdict` walks the fields generically, once per recorded run.
        return {
            "tasks": self.tasks,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost": self.cost,
        }
