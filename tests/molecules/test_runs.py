"""Runs kept by id (RunRegistry), and a run that runs part of itself again in place."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from molecules import RunRegistry, Store, reopen_run
from molecules.run import fold_run
from runnable.runner import (
    Event,
    NodeCompleted,
    NodeFailed,
    NodeSkipped,
    RunCompleted,
    RunStarted,
    StepCompleted,
    StepStarted,
)
from runnable.types import ErrorInfo, ExecutionStatus

OK = ExecutionStatus.SUCCESS
FIRST = [
    RunStarted(run_id="r", kind="flow", node_ids=("a", "b")),
    StepStarted(run_id="r", step_id="s0"),
    NodeCompleted(run_id="r", node_id="a", output=1),
    StepCompleted(run_id="r", step_id="s0", status=OK),
    StepStarted(run_id="r", step_id="s1"),
    NodeCompleted(run_id="r", node_id="b", output=2),
    StepCompleted(run_id="r", step_id="s1", status=OK),
    RunCompleted(run_id="r", status=OK),
]
AGAIN = RunStarted(run_id="r", kind="flow", node_ids=("a", "b"), rerun_of=("b",))


def test_reopening_resets_the_nodes_run_again_and_their_steps_only() -> None:
    done = fold_run(FIRST)
    reopened = reopen_run(done, AGAIN, {"a": "s0", "b": "s1"})
    assert reopened.status is ExecutionStatus.RUNNING
    assert reopened.node("a").output == 1 and reopened.node("a").status is OK
    assert reopened.node("b").status is ExecutionStatus.PENDING
    assert dict(reopened.steps) == {"s0": OK}
    assert done.node("b").output == 2  # the old state is untouched


def test_a_reopened_run_folds_its_new_events_to_the_end() -> None:
    reopened = reopen_run(fold_run(FIRST), AGAIN, {"a": "s0", "b": "s1"})
    after = fold_run(
        [NodeCompleted(run_id="r", node_id="b", output=20), RunCompleted(run_id="r", status=OK)],
        reopened,
    )
    assert after.status is OK and after.node("b").output == 20 and after.node_ids == ("a", "b")


def test_the_registry_keeps_runs_by_id_and_by_ref() -> None:
    runs, store = RunRegistry(), Store()
    listen = runs.listener(store, "r", ref="flow:f1")
    for event in FIRST:
        listen(event)
    listen(AGAIN)
    listen(NodeCompleted(run_id="r", node_id="b", output=3))
    assert store.get(runs("r").output("b")) == 3 and store.get(runs("r").output("a")) == 1
    assert store.get(runs.runs_for("flow:f1")) == ("r",) and runs.ref_of("r") == "flow:f1"
    assert runs("r") is runs("r") and store.get(runs.runs_for("flow:other")) == ()


NODE_IDS = ("a", "b", "c", "d")
ENDS = st.sampled_from(["completed", "failed", "skipped"])


def _history(ends: dict[str, str]) -> list[Event]:
    events: list[Event] = [RunStarted(run_id="r", kind="flow", node_ids=NODE_IDS)]
    for node, end in ends.items():
        if end == "completed":
            events.append(NodeCompleted(run_id="r", node_id=node, output=node.upper()))
        elif end == "failed":
            events.append(NodeFailed(run_id="r", node_id=node, error=ErrorInfo(message=node)))
        else:
            events.append(NodeSkipped(run_id="r", node_id=node))
    events.append(RunCompleted(run_id="r", status=ExecutionStatus.ERROR))
    return events


@given(
    ends=st.fixed_dictionaries({node: ENDS for node in NODE_IDS}),
    again=st.sets(st.sampled_from(NODE_IDS), min_size=1),
)
def test_reopening_keeps_every_other_node_and_makes_the_chosen_ones_pending(
    ends: dict[str, str], again: set[str]
) -> None:
    done = fold_run(_history(ends))
    event = RunStarted(run_id="r", kind="flow", node_ids=NODE_IDS, rerun_of=tuple(sorted(again)))
    reopened = reopen_run(done, event)
    assert reopened.status is ExecutionStatus.RUNNING and reopened.node_ids == NODE_IDS
    for node in NODE_IDS:
        if node in again:
            assert reopened.node(node).status is ExecutionStatus.PENDING
        else:
            assert reopened.node(node) == done.node(node)
    # Ending the re-run nodes as before gives the first run's nodes back.
    replayed = fold_run(_history({n: ends[n] for n in sorted(again)})[1:], reopened)
    assert all(replayed.node(n).status is done.node(n).status for n in NODE_IDS)
