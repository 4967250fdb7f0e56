"""Errors of the graph runner, extending the package family in `runnable.errors`.

```
RunnableError
└── ChainError
    └── RunnerError                  a run that cannot start or a node that cannot run
        ├── RunOptionsError          a run asked for with options that cannot work
        ├── ChainInputError          inputs that are ambiguous or missing (names each one)
        ├── RerunError               a re-run whose upstream results are not usable
        ├── NodeExecutionError       an executor reported a failed `ExecutionResult`
        └── FlowError                a flow that is malformed or names an unknown step/action
```
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from runnable.errors import ChainError
from runnable.outcome import ExecutionFailedError
from runnable.types import error_info

__all__ = [
    "ChainInputError",
    "FlowError",
    "InputProblem",
    "NodeExecutionError",
    "RerunError",
    "RunOptionsError",
    "RunnerError",
    "error_info",
]


class RunnerError(ChainError):
    """A run that cannot start, or a node that cannot run."""


class RunOptionsError(RunnerError, ValueError):
    """Options that cannot work (a concurrency below 1, a testcase that is no mapping...)."""


@attrs.frozen(slots=True)
class InputProblem:
    """One input of one node that cannot be supplied: why, and which sources fit."""

    node_id: str
    key: str
    reason: str  # "ambiguous" | "missing"
    candidates: tuple[str, ...] = ()
    detail: str = ""

    def describe(self) -> str:
        """The problem in words, naming the node and the input."""
        text = f"input {self.key!r} of node {self.node_id!r} is {self.reason}"
        if self.candidates:
            text += f" (candidates: {', '.join(self.candidates)})"
        if self.detail:
            text += f": {self.detail}"
        return text


class ChainInputError(RunnerError, ValueError):
    """Inputs that are ambiguous or missing; `problems` names every node and input."""

    def __init__(self, problems: Sequence[InputProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.describe() for p in self.problems))


class RerunError(RunnerError, ValueError):
    """A re-run that lacks a successful earlier result for a node it reads from."""


# An executor returned an `ExecutionResult` with status error; `error` carries it.
NodeExecutionError = ExecutionFailedError


class FlowError(RunnerError):
    """A flow that is malformed, or a step or action that the flow does not have."""
