"""The run molecule: runner events folded into atoms; the state is the fold of the events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import reduce
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from molecules import Store
from molecules.run import RunState, TextLog, fold_run, reduce_run, run_molecule
from runnable.chain import Chain, Node
from runnable.chat.completion import ChatCompletion, ChatDelta, ChatDone, TokenUsage
from runnable.runner import (
    Chunk,
    Event,
    NodeCancelled,
    NodeCompleted,
    NodeContext,
    NodeFailed,
    NodeRetrying,
    NodeSkipped,
    NodeStarted,
    RunCompleted,
    RunStarted,
    StepCompleted,
    StepStarted,
    parse_event,
    run_graph,
)
from runnable.runner.dataset import run_dataset
from runnable.types import ErrorInfo, ExecutionMetrics, ExecutionStatus

NODES = ("a", "b", "c")
RUNS = ("r1", "r2")
TERMINAL = {
    ExecutionStatus.SUCCESS,
    ExecutionStatus.ERROR,
    ExecutionStatus.SKIPPED,
    ExecutionStatus.CANCELLED,
}

run_ids = st.sampled_from(RUNS)
node_ids = st.sampled_from(NODES)
statuses = st.sampled_from(
    [ExecutionStatus.SUCCESS, ExecutionStatus.ERROR, ExecutionStatus.CANCELLED]
)
metrics = st.none() | st.builds(
    ExecutionMetrics,
    tokens_in=st.none() | st.integers(0, 50),
    tokens_out=st.none() | st.integers(0, 50),
    cost=st.none() | st.floats(0, 1),
)
events = st.one_of(
    st.builds(RunStarted, run_id=run_ids, node_ids=st.just(NODES)),
    st.builds(NodeStarted, run_id=run_ids, node_id=node_ids, inputs=st.just({"q": 1})),
    st.builds(
        Chunk, run_id=run_ids, node_id=node_ids, text=st.text(max_size=3), index=st.integers(0, 9)
    ),
    st.builds(
        NodeRetrying,
        run_id=run_ids,
        node_id=node_ids,
        attempt=st.integers(1, 3),
        error=st.just(ErrorInfo(message="flaky")),
    ),
    st.builds(
        NodeCompleted,
        run_id=run_ids,
        node_id=node_ids,
        output=st.integers(),
        metrics=metrics,
        cached=st.booleans(),
    ),
    st.builds(NodeFailed, run_id=run_ids, node_id=node_ids, error=st.just(ErrorInfo(message="x"))),
    st.builds(NodeSkipped, run_id=run_ids, node_id=node_ids, because=node_ids),
    st.builds(NodeCancelled, run_id=run_ids, node_id=node_ids, started=st.booleans()),
    st.builds(StepStarted, run_id=run_ids, step_id=st.sampled_from(["s1", "s2"])),
    st.builds(
        StepCompleted, run_id=run_ids, step_id=st.sampled_from(["s1", "s2"]), status=statuses
    ),
    st.builds(RunCompleted, run_id=run_ids, status=statuses),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(events, max_size=40))
def test_the_molecule_state_is_the_fold_of_the_events_at_every_prefix(
    history: list[Event],
) -> None:
    store = Store()
    m = run_molecule()
    # Mounted slices must stay equal to the folded state's slices, too.
    for node_id in NODES:
        store.sub(m.node_status(node_id), lambda: None)
        store.sub(m.stream(node_id), lambda: None)
        store.sub(m.output(node_id), lambda: None)
    store.sub(m.status, lambda: None)

    for k, event in enumerate(history, start=1):
        store.set(m.apply, event)
        folded = reduce(reduce_run, history[:k], RunState())
        assert store.get(m.state) == folded
        assert store.get(m.status) is folded.status
        for node_id in NODES:
            node = folded.node(node_id)
            assert store.get(m.node_status(node_id)) is node.status
            assert store.get(m.output(node_id)) == node.output
            assert store.get(m.text(node_id)) == str(node.text)


@settings(max_examples=150, deadline=None)
@given(st.lists(events, max_size=40))
def test_a_terminal_status_is_never_overwritten(history: list[Event]) -> None:
    state = RunState()
    for event in history:
        after = reduce_run(state, event)
        if state.status in TERMINAL:
            assert after is state
        for node_id, node in state.nodes.items():
            if node.status in TERMINAL:
                assert after.nodes[node_id] is node
        for step_id, status in state.steps.items():
            if status in TERMINAL:
                assert after.steps[step_id] is status
        state = after


@settings(max_examples=100, deadline=None)
@given(st.lists(events, max_size=30))
def test_events_of_another_run_change_nothing(history: list[Event]) -> None:
    state = fold_run(history, RunState(run_id="r1"))
    only_r1 = fold_run([e for e in history if e.run_id == "r1"], RunState(run_id="r1"))

    assert state == only_r1


# The runner never streams an empty chunk; the text log skips empty pieces.
@given(st.lists(st.text(min_size=1, max_size=4), max_size=20), st.integers(0, 20))
def test_a_text_log_never_changes_once_made(chunks: list[str], branch_at: int) -> None:
    logs = [TextLog()]
    for chunk in chunks:
        logs.append(logs[-1].append(chunk))
    branch = logs[min(branch_at, len(chunks))].append("X")

    for n, log in enumerate(logs):
        assert str(log) == "".join(chunks[:n]) and log.count == n
    assert str(branch) == "".join(chunks[: min(branch_at, len(chunks))]) + "X"


async def stream(*parts: str) -> AsyncIterator[Any]:
    for part in parts:
        await asyncio.sleep(0)
        yield ChatDelta(text=part)
    usage = TokenUsage(tokens_in=3, tokens_out=len(parts))
    yield ChatDone(completion=ChatCompletion(text="".join(parts), usage=usage, cost=0.25))


async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
    if node.id == "llm":
        return stream("Hel", "lo")
    if node.id == "bad":
        raise RuntimeError("nope")
    return {"from": node.id}


CHAIN = Chain(["prep", "llm", "bad", "after"], [("prep", "llm"), ("bad", "after")])


async def test_a_live_run_is_followed_in_atoms() -> None:
    store = Store()
    m = run_molecule()
    texts: list[str] = []
    store.sub(m.stream("llm"), lambda: texts.append(str(store.get(m.stream("llm")))))

    run = await run_graph(CHAIN, execute, on_event=m.listener(store)).wait()

    assert store.get(m.status) is ExecutionStatus.ERROR
    assert store.get(m.node_status("llm")) is ExecutionStatus.SUCCESS
    assert store.get(m.node_status("bad")) is ExecutionStatus.ERROR
    assert store.get(m.node_status("after")) is ExecutionStatus.SKIPPED
    assert store.get(m.output("prep")) == {"from": "prep"}
    assert store.get(m.text("llm")) == "Hello"
    assert texts == ["Hel", "Hello"]
    metrics = store.get(m.metrics)
    assert (metrics.tokens_in, metrics.tokens_out, metrics.cost) == (3, 2, 0.25)
    assert metrics.latency_ms is not None
    assert store.get(m.state).run_id == run.run_id


async def test_a_replay_from_stored_json_equals_the_live_state() -> None:
    store = Store()
    m = run_molecule()
    stored: list[str] = []

    def keep(event: Event) -> None:
        stored.append(event.model_dump_json())
        store.set(m.apply, event)

    await run_graph(CHAIN, execute, on_event=keep).wait()

    replayed = fold_run(parse_event(text) for text in stored)
    assert replayed == store.get(m.state)


async def test_consume_folds_an_iterated_run() -> None:
    store = Store()
    m = run_molecule()

    state = await m.consume(store, run_graph(CHAIN, execute))

    assert state.status is ExecutionStatus.ERROR
    assert store.get(m.node("llm")).streamed_text == "Hello"


async def test_a_molecule_follows_one_row_of_a_dataset() -> None:
    store = Store()
    rows = [{"x": 1}, {"x": 2}]
    molecules: dict[int, Any] = {}
    all_events: list[Event] = []

    await run_dataset(Chain(["prep"]), rows, execute, on_event=all_events.append).wait()
    for event in all_events:
        if isinstance(event, RunStarted) and event.row is not None:
            molecules[event.row] = run_molecule(event.run_id)
    for m in molecules.values():
        store.set(m.apply_all, all_events)

    assert sorted(molecules) == [0, 1]
    for m in molecules.values():
        assert store.get(m.state).status is ExecutionStatus.SUCCESS
    first, second = (store.get(molecules[i].state) for i in (0, 1))
    assert first.node("prep").inputs == {"x": 1} and second.node("prep").inputs == {"x": 2}


async def test_an_unchanged_slice_does_not_notify() -> None:
    store = Store()
    m = run_molecule()
    calls: list[str] = []
    store.sub(m.node_status("prep"), lambda: calls.append("prep"))

    await run_graph(Chain(["prep", "llm"]), execute, on_event=m.listener(store)).wait()

    # pending -> running -> success: two changes, whatever "llm" streamed meanwhile.
    assert calls == ["prep", "prep"]
