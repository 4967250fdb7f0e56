"""Flows: steps in order, actions of a step in parallel, thin layers over the runner."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from runnable.chain import Node
from runnable.runner import (
    Chunk,
    Event,
    FlowError,
    NodeCancelled,
    NodeCompleted,
    NodeContext,
    NodeFailed,
    NodeRetrying,
    NodeSkipped,
    NodeStarted,
    RunCompleted,
    StepCompleted,
    StepStarted,
    parse_event,
)
from runnable.runner.flow import Action, Flow, Step, cancel, run_action, run_flow, run_step
from runnable.types import ErrorInfo, ExecutionStatus

FLOW = Flow(
    id="review",
    steps=[
        Step(id="gather", actions=[Action(id="fetch"), Action(id="search")]),
        Step(id="write", actions=[Action(id="draft")]),
        Step(id="check", actions=[Action(id="score"), Action(id="lint")]),
    ],
)


class Calls:
    """Counts calls per action and returns `{action: its inputs}`."""

    def __init__(self, fail: str | None = None) -> None:
        self.fail = fail
        self.calls: Counter[str] = Counter()

    async def __call__(self, node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        self.calls[node.id] += 1
        await asyncio.sleep(0)
        if node.id == self.fail:
            raise RuntimeError(f"{node.id} failed")
        return {node.id: sorted(inputs)}


async def test_actions_of_a_step_run_in_parallel() -> None:
    together = asyncio.Barrier(2)

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> str:
        if node.id in ("fetch", "search"):
            await asyncio.wait_for(together.wait(), 2)
        return node.id

    run = await run_flow(FLOW, execute).wait()

    assert run.status is ExecutionStatus.SUCCESS


async def test_a_step_waits_for_every_action_of_the_step_before() -> None:
    events: list[Event] = []

    await run_flow(FLOW, Calls(), on_event=events.append).wait()

    position = {(e.type, e.node_id): i for i, e in enumerate(events)}
    for earlier, later in (("fetch", "draft"), ("search", "draft"), ("draft", "score")):
        assert position[("node_completed", earlier)] < position[("node_started", later)]


async def test_an_action_receives_the_flow_inputs_and_the_step_before() -> None:
    run = await run_flow(FLOW, Calls(), inputs={"topic": "owls"}).wait()

    assert run.outputs["draft"] == {"draft": ["fetch", "search", "topic"]}


async def test_steps_are_framed_by_step_events_in_order() -> None:
    events: list[Event] = []

    await run_flow(FLOW, Calls(), on_event=events.append).wait()

    frames = [(e.type, e.step_id) for e in events if isinstance(e, StepStarted | StepCompleted)]
    assert frames == [
        ("step_started", "gather"),
        ("step_completed", "gather"),
        ("step_started", "write"),
        ("step_completed", "write"),
        ("step_started", "check"),
        ("step_completed", "check"),
    ]
    first_draft = next(i for i, e in enumerate(events) if e.node_id == "draft")
    write_started = next(
        i for i, e in enumerate(events) if isinstance(e, StepStarted) and e.step_id == "write"
    )
    assert write_started == first_draft - 1


async def test_a_failed_action_skips_every_later_step() -> None:
    execute = Calls(fail="search")
    events: list[Event] = []

    run = await run_flow(FLOW, execute, on_event=events.append).wait()

    assert run.status is ExecutionStatus.ERROR
    assert set(execute.calls) == {"fetch", "search"}
    completed = {e.step_id: e.status for e in events if isinstance(e, StepCompleted)}
    assert completed == {
        "gather": ExecutionStatus.ERROR,
        "write": ExecutionStatus.SKIPPED,
        "check": ExecutionStatus.SKIPPED,
    }
    assert run.step_status("check") is ExecutionStatus.SKIPPED


async def test_mappings_read_the_inputs_and_earlier_actions_and_fixed_inputs_win() -> None:
    flow = Flow(
        steps=[
            Step(id="one", actions=[Action(id="write")]),
            Step(
                id="two",
                actions=[
                    Action(
                        id="review",
                        mappings={"text": "write.outputs.text", "goal": "testcase.goal"},
                        inputs={"strict": True},
                    )
                ],
            ),
        ]
    )
    seen: dict[str, dict[str, Any]] = {}

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        seen[node.id] = inputs
        return {"text": "a draft"}

    await run_flow(flow, execute, inputs={"goal": "clarity", "noise": 1}).wait()

    assert seen["review"] == {"text": "a draft", "goal": "clarity", "strict": True}


async def test_run_step_runs_one_step_from_earlier_results() -> None:
    first = await run_flow(FLOW, Calls()).wait()
    execute = Calls()
    events: list[Event] = []

    again = await run_step(
        FLOW, "write", execute, previous_results=first.results, on_event=events.append
    ).wait()

    assert execute.calls == Counter({"draft": 1})
    assert again.outputs["draft"] == first.outputs["draft"]
    cached = {e.node_id for e in events if isinstance(e, NodeCompleted) and e.cached}
    assert cached == {"fetch", "search"}
    assert again.step_status("check") is ExecutionStatus.PENDING


async def test_run_action_runs_one_action() -> None:
    execute = Calls()

    run = await run_action(FLOW, "search", execute, inputs={"q": 1}).wait()

    assert execute.calls == Counter({"search": 1})
    assert run.outputs == {"search": {"search": ["q"]}}


async def test_cancel_ends_running_actions_cancelled() -> None:
    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> None:
        await asyncio.sleep(30)

    run = run_flow(FLOW, execute)
    events: list[Event] = []
    async for event in run:
        events.append(event)
        if isinstance(event, NodeStarted) and event.node_id == "search":
            cancel(run)

    assert run.status is ExecutionStatus.CANCELLED
    assert {r.status for r in run.results.values()} == {ExecutionStatus.CANCELLED}
    assert run.step_status("gather") is ExecutionStatus.CANCELLED


async def test_a_flow_log_is_structured_events_that_replay_from_json() -> None:
    events: list[Event] = []

    await run_flow(FLOW, Calls(), on_event=events.append).wait()

    for event in events:
        assert parse_event(event.model_dump_json()) == event


def test_a_repeated_action_id_is_refused() -> None:
    with pytest.raises(FlowError, match="repeats the action id 'a'"):
        Flow(
            steps=[Step(id="s1", actions=[Action(id="a")]), Step(id="s2", actions=[Action(id="a")])]
        )


def test_a_mapping_from_a_later_action_is_refused() -> None:
    with pytest.raises(FlowError, match="'later' is no action of an earlier step"):
        Flow(
            steps=[
                Step(id="s1", actions=[Action(id="a", mappings={"x": "later.outputs"})]),
                Step(id="s2", actions=[Action(id="later")]),
            ]
        )


def test_an_unknown_step_or_action_is_refused() -> None:
    with pytest.raises(FlowError, match="has no step 'nope'"):
        run_step(FLOW, "nope", Calls())
    with pytest.raises(FlowError, match="has no action 'nope'"):
        run_action(FLOW, "nope", Calls())


@pytest.mark.parametrize(
    ("event", "level"),
    [
        (Chunk(run_id="r", node_id="n", text="x"), "debug"),
        (NodeStarted(run_id="r", node_id="n"), "info"),
        (NodeRetrying(run_id="r", node_id="n", attempt=1, error=ErrorInfo(message="e")), "warning"),
        (NodeSkipped(run_id="r", node_id="n"), "warning"),
        (NodeCancelled(run_id="r", node_id="n"), "warning"),
        (NodeFailed(run_id="r", node_id="n", error=ErrorInfo(message="e")), "error"),
        (StepCompleted(run_id="r", step_id="s", status=ExecutionStatus.ERROR), "error"),
        (RunCompleted(run_id="r", status=ExecutionStatus.CANCELLED), "warning"),
        (RunCompleted(run_id="r", status=ExecutionStatus.SUCCESS), "info"),
    ],
)
def test_every_event_has_a_log_level(event: Event, level: str) -> None:
    assert event.level == level
    assert parse_event(event.model_dump_json()).level == level
