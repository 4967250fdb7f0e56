"""Flows as a kind of the bridge: run by ref, steps and actions by index, re-runs in place.

Prompts run against the local OpenAI-compatible server (unscripted, it echoes the last
user message); runs are recorded in a real run store (SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bridge import RunnableBridge, create_default_bridge
from bridge.errors import RunnableNotFoundError
from molecules import Store
from runnable.chat.provider import ChatProvider
from runnable.retry import RetryPolicy
from runnable.runner import Event, FlowError, RerunError
from runnable.sources import InMemorySource
from runnable.testing.openai_chat import fail, reply
from runnable.tracking import RunStatus, RunStore
from runnable.types import ExecutionStatus
from tests.servers.fixtures import ChatServer

PROMPTS = {
    "greet": {
        "name": "greet",
        "messages": [{"role": "user", "content": "Greet {{name}}"}],
        "settings": {"model": "gpt-4o-mini"},
    },
    "thank": {
        "name": "thank",
        "messages": [{"role": "user", "content": "Thank {{name}}"}],
        "settings": {"model": "gpt-4o-mini"},
    },
}
EVALUATORS = {"has-ada": {"evaluator_key": "regex", "settings": {"pattern": "Ada"}}}
FLOWS = {
    "review": {
        "name": "review",
        "steps": [
            ["prompt:greet", "prompt:thank"],
            [{"ref": "evaluator_revision:has-ada", "mappings": {"output": "s0a0"}}],
        ],
    },
    "solo": {"name": "solo", "steps": [["prompt:greet"]]},
    "checked": {
        "name": "checked",
        "steps": [
            ["prompt:greet"],
            [{"ref": "evaluator_revision:has-ada", "mappings": {"output": "s0a0"}}],
        ],
    },
}


@pytest.fixture
async def provider(chat_server: ChatServer) -> AsyncIterator[ChatProvider]:
    async with ChatProvider(
        chat_server.base_url, "sk-flows", retry=RetryPolicy(max_retries=0), timeout=5.0
    ) as made:
        yield made


def make_bridge(provider: ChatProvider, run_store: RunStore | None = None) -> RunnableBridge:
    return create_default_bridge(
        {
            "prompt": InMemorySource(PROMPTS),
            "evaluator_revision": InMemorySource(EVALUATORS),
            "flow": InMemorySource(FLOWS),
        },
        provider=provider,
        run_store=run_store,
    )


async def test_a_flow_is_a_kind_of_the_default_bridge_with_its_source(
    provider: ChatProvider,
) -> None:
    bridge = make_bridge(provider)
    store = Store()
    data = await bridge.load("flow:review", store=store)
    assert "flow" in bridge.kinds and data.kind == "flow"
    steps = data.configuration["steps"]
    assert steps == [["prompt:greet", "prompt:thank"], ["evaluator_revision:has-ada"]]
    flow = store.get(bridge.runnable("flow").selectors.flow("review"))
    assert [a.id for s in flow.steps for a in s.actions] == ["s0a0", "s0a1", "s1a0"]


async def test_run_flow_runs_every_step_in_order(provider: ChatProvider) -> None:
    bridge = make_bridge(provider)
    store = Store()
    run = await bridge.run_flow("flow:review", store=store, inputs={"name": "Ada"})
    await run
    assert run.status is ExecutionStatus.SUCCESS
    assert run.outputs["s0a0"] == "echo: Greet Ada" and run.outputs["s0a1"] == "echo: Thank Ada"
    assert run.outputs["s1a0"]["score"] == 1.0
    state = store.get(bridge.runs(run.run_id).state)
    assert state.status is ExecutionStatus.SUCCESS and dict(state.steps) == {
        "s0": ExecutionStatus.SUCCESS,
        "s1": ExecutionStatus.SUCCESS,
    }


async def test_a_flow_run_is_recorded_with_a_task_per_action(
    provider: ChatProvider, run_store: RunStore
) -> None:
    bridge = make_bridge(provider, run_store)
    run = await bridge.run_flow("flow:review", store=Store(), inputs={"name": "Ada"})
    await run
    await bridge.recorder.drain()  # type: ignore[union-attr]
    record = await run_store.get_run(run.run_id)
    assert record is not None and record.status is RunStatus.SUCCESS
    assert record.runnable_ref == "flow:review"
    tasks = {t.node_id: t for t in await run_store.list_tasks(run.run_id)}
    assert set(tasks) == {"s0a0", "s0a1", "s1a0"}
    assert tasks["s0a0"].runnable_ref == "prompt:greet"
    # The action ran through the one execution path: streamed, the request recorded.
    assert tasks["s0a0"].tokens_in and tasks["s0a0"].request["messages"]


async def test_run_action_inside_an_earlier_run_overwrites_that_run(
    provider: ChatProvider, chat_server: ChatServer, run_store: RunStore
) -> None:
    bridge = make_bridge(provider, run_store)
    store = Store()
    first = await bridge.run_flow("flow:review", store=store, inputs={"name": "Ada"})
    await first
    chat_server.state.script(reply("Hello again, Ada"))
    again = await bridge.run_action("flow:review", 0, 0, run=first, store=store)
    await again
    await bridge.recorder.drain()  # type: ignore[union-attr]

    assert again.run_id == first.run_id
    # The run's inputs are used again: the prompt was rendered for Ada.
    assert chat_server.state.requests[-1].body["messages"][-1]["content"] == "Greet Ada"
    kept = bridge.runs(first.run_id)
    assert store.get(kept.output("s0a0")) == "Hello again, Ada"
    assert store.get(kept.output("s0a1")) == "echo: Thank Ada"  # not re-run: kept
    assert store.get(kept.status) is ExecutionStatus.SUCCESS
    assert await run_store.count_runs() == 1
    task = await run_store.get_task(f"{first.run_id}:s0a0")
    assert task is not None and task.status is RunStatus.SUCCESS
    assert task.response == "Hello again, Ada"
    record = await run_store.get_run(first.run_id)
    assert record is not None and record.status is RunStatus.SUCCESS


async def test_run_step_inside_a_run_by_id_reads_the_earlier_steps_from_it(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    bridge = make_bridge(provider)
    store = Store()
    first = await bridge.run_flow("flow:review", store=store, inputs={"name": "Ada"})
    await first
    chat_server.state.script(reply("Hi Bob"))
    await (await bridge.run_action("flow:review", 0, 0, first.run_id, store=store))
    again = await bridge.run_step("flow:review", 1, first.run_id, store=store)
    await again
    # The evaluator read the re-run greeting, which no longer names Ada.
    assert again.outputs["s1a0"]["score"] == 0.0
    kept = store.get(bridge.runs(first.run_id).state)
    assert kept.steps["s1"] is ExecutionStatus.SUCCESS and len(kept.node_ids) == 3


async def test_run_step_without_a_run_starts_a_fresh_run(provider: ChatProvider) -> None:
    bridge = make_bridge(provider)
    store = Store()
    first = await bridge.run_flow("flow:solo", store=store, inputs={"name": "Ada"})
    await first
    fresh = await bridge.run_step("flow:solo", 0, store=store, inputs={"name": "Bo"})
    await fresh
    assert fresh.run_id != first.run_id and fresh.outputs["s0a0"] == "echo: Greet Bo"
    assert store.get(bridge.runs_for("flow:solo")) == (first.run_id, fresh.run_id)


async def test_a_fresh_step_that_reads_an_earlier_step_says_what_is_missing(
    provider: ChatProvider,
) -> None:
    bridge = make_bridge(provider)
    store = Store()
    with pytest.raises(RerunError, match="s0a0"):
        await bridge.run_step("flow:review", 1, store=store)
    assert store.get(bridge.runs_for("flow:review")) == ()  # nothing kept of a refused run


async def test_step_and_action_indexes_out_of_range_name_the_flow_size(
    provider: ChatProvider, run_store: RunStore
) -> None:
    bridge = make_bridge(provider, run_store)
    with pytest.raises(FlowError, match="2 step"):
        await bridge.run_step("flow:review", 5, store=Store())
    with pytest.raises(FlowError, match="1 action"):
        await bridge.run_action("flow:review", 1, 3, store=Store())
    assert await run_store.count_runs() == 0


async def test_a_run_of_another_flow_is_refused(provider: ChatProvider) -> None:
    bridge = make_bridge(provider)
    store = Store()
    solo = await bridge.run_flow("flow:solo", store=store, inputs={"name": "Ada"})
    await solo
    with pytest.raises(FlowError, match="flow:solo"):
        await bridge.run_action("flow:review", 0, 0, run=solo, store=store)
    with pytest.raises(FlowError, match="not a run"):
        await bridge.run_action("flow:review", 0, 0, run="no-such-run", store=store)


async def test_a_ref_of_another_kind_is_not_a_flow(provider: ChatProvider) -> None:
    with pytest.raises(FlowError, match="not a flow"):
        await make_bridge(provider).run_flow("prompt:greet", store=Store())


async def test_a_flow_draft_runs_as_edited(provider: ChatProvider) -> None:
    bridge = make_bridge(provider)
    store = Store()
    await bridge.load("flow:solo", store=store)
    store.set(bridge.type("flow").molecule.update, "solo", {"steps": [["prompt:thank"]]})
    run = await bridge.run_flow("flow:solo", store=store, inputs={"name": "Ada"})
    await run
    assert run.outputs == {"s0a0": "echo: Thank Ada"}


async def test_log_events_of_a_run_that_goes_well_are_debug_and_info(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Hi ", "Ada"))
    events: list[Event] = []
    run = await make_bridge(provider).run_flow(
        "flow:checked", store=Store(), inputs={"name": "Ada"}, on_event=events.append
    )
    await run
    levels = {(e.type, e.node_id): e.level for e in events}
    assert levels[("chunk", "s0a0")] == "debug"
    assert levels[("node_started", "s0a0")] == levels[("node_completed", "s1a0")] == "info"
    assert levels[("run_completed", None)] == "info"


async def test_log_events_of_a_failure_are_errors_and_warnings(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(fail(400, "bad request"))
    events: list[Event] = []
    run = await make_bridge(provider).run_flow(
        "flow:checked", store=Store(), inputs={"name": "Ada"}, on_event=events.append
    )
    await run
    levels = {(e.type, e.node_id or getattr(e, "step_id", None)): e.level for e in events}
    assert levels[("node_failed", "s0a0")] == "error"
    assert levels[("node_skipped", "s1a0")] == "warning"
    assert levels[("step_completed", "s0")] == "error"
    assert levels[("run_completed", None)] == "error"


async def test_a_flow_whose_action_ref_has_no_kind_is_refused_saying_so(
    provider: ChatProvider,
) -> None:
    bridge = create_default_bridge(
        {"flow": InMemorySource({"bad": {"steps": [["greet"]]}})}, provider=provider
    )
    with pytest.raises(RunnableNotFoundError, match=r"needs its kind \('kind:id'\), got 'greet'"):
        await bridge.run_flow("flow:bad", store=Store())
