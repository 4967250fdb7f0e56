"""Runs kept by id (RunRegistry), and a run that runs part of itself again in place."""

from __future__ import annotations

from molecules import RunRegistry, Store, reopen_run
from molecules.run import fold_run
from runnable.runner import (
    NodeCompleted,
    RunCompleted,
    RunStarted,
    StepCompleted,
    StepStarted,
)
from runnable.types import ExecutionStatus

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
