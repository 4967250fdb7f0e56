"""Which nodes a partial run (a re-run, one step, one action) executes, and what it reuses."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from runnable.runner.errors import RerunError
from runnable.runner.plan import GraphPlan
from runnable.runner.results import NodeResult
from runnable.types import ExecutionStatus

__all__ = ["select_nodes"]


def select_nodes(
    plan: GraphPlan, previous: Mapping[str, Any] | None, execute_ids: Collection[str] | None
) -> tuple[list[bool], dict[int, NodeResult]]:
    """Per node, whether it runs; and the earlier results that stand in for the others.

    Every node a chosen node reads from must have a successful earlier result
    (`RerunError` names those that do not). Nodes downstream of the chosen ones that are
    not chosen themselves would be stale: they are left out. Other nodes with a
    successful earlier result are reused, so the run shows the whole picture.
    """
    n = len(plan.nodes)
    if execute_ids is None:
        return [True] * n, {}
    chosen = set(plan.indices(execute_ids))
    usable: dict[int, NodeResult] = {}
    for node_id, value in (previous or {}).items():
        if node_id in plan.index:
            if isinstance(value, NodeResult):
                result = value
            else:
                result = NodeResult(node_id, ExecutionStatus.SUCCESS, output=value)
            if result.ok:
                usable[plan.index[node_id]] = result
    needed = plan.ancestors(chosen)
    lacking = [plan.nodes[i].node.id for i in sorted(needed) if i not in usable]
    if lacking:
        raise RerunError(
            "a re-run needs a successful earlier result for every node it reads from; "
            f"missing: {', '.join(lacking)}"
        )
    stale = plan.descendants(chosen) - chosen
    cached = {i: r for i, r in usable.items() if i not in chosen and i not in stale}
    return [i in chosen for i in range(n)], cached
