"""Re-running part of a chain: upstream outputs come from the earlier run, not new calls."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from runnable.chain import Chain, Node
from runnable.runner import (
    NodeCompleted,
    NodeContext,
    NodeResult,
    RerunError,
    RunStarted,
    run_graph,
)
from runnable.types import ExecutionStatus

# a -> b -> c, a -> d (d is unrelated to b)
CHAIN = Chain(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("a", "d")])


class Counting:
    """Counts calls per node; each output adds `{node: times it ran}` to the node's inputs."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    async def __call__(self, node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        self.calls[node.id] += 1
        return {**inputs, node.id: self.calls[node.id]}


async def test_rerunning_a_node_calls_it_and_its_dependents_only() -> None:
    execute = Counting()
    first = await run_graph(CHAIN, execute).wait()
    before = Counter(execute.calls)

    second = await first.rerun("b").wait()

    assert execute.calls - before == Counter({"b": 1, "c": 1})
    assert second.status is ExecutionStatus.SUCCESS
    assert second.outputs["c"] == {"a": 1, "b": 2, "c": 2}


async def test_a_rerun_is_a_new_run_linked_to_its_parent() -> None:
    first = await run_graph(CHAIN, Counting()).wait()
    events: list[Any] = []

    second = await first.rerun("b", on_event=events.append).wait()

    started = events[0]
    assert isinstance(started, RunStarted)
    assert second.run_id != first.run_id
    assert started.parent_run_id == first.run_id
    assert started.rerun_of == ("b", "c")


async def test_reused_outputs_appear_as_cached_completions_from_the_earlier_run() -> None:
    first = await run_graph(CHAIN, Counting()).wait()
    events: list[Any] = []

    second = await first.rerun("b", on_event=events.append).wait()

    cached = {e.node_id: e for e in events if isinstance(e, NodeCompleted) and e.cached}
    assert set(cached) == {"a", "d"}
    assert cached["a"].source_run_id == first.run_id
    assert second.results["a"].cached and second.results["a"].run_id == first.run_id
    assert not second.results["b"].cached


async def test_a_rerun_from_plain_outputs_needs_every_upstream_node() -> None:
    execute = Counting()

    with pytest.raises(RerunError, match="missing: a"):
        run_graph(CHAIN, execute, rerun_from="c", previous_results={"b": {"a": 1, "b": 1}})
    assert not execute.calls


async def test_a_failed_upstream_result_cannot_be_reused() -> None:
    previous = {
        "a": NodeResult("a", ExecutionStatus.ERROR),
        "b": NodeResult("b", ExecutionStatus.SUCCESS, output={"b": 1}),
    }

    with pytest.raises(RerunError, match="missing: a"):
        run_graph(CHAIN, Counting(), rerun_from="b", previous_results=previous)


async def test_rerunning_an_unknown_node_is_refused() -> None:
    with pytest.raises(RerunError, match="node 'zzz' is not in the chain"):
        run_graph(CHAIN, Counting(), rerun_from="zzz", previous_results={})


async def test_only_runs_exactly_the_named_nodes_and_leaves_out_stale_dependents() -> None:
    execute = Counting()
    first = await run_graph(CHAIN, execute).wait()
    execute.calls.clear()
    events: list[Any] = []

    second = await run_graph(
        CHAIN, execute, only=["b"], previous_results=first.results, on_event=events.append
    ).wait()

    assert execute.calls == Counter({"b": 1})
    # c reads b, so its earlier output is stale: it is not part of this run.
    assert events[0].node_ids == ("a", "b", "d")
    assert "c" not in second.results
