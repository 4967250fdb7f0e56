"""One execution path: execute, stream, chains, datasets and turns run and record alike.

Against the local OpenAI-compatible server and a real run store (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from bridge import RunnableBridge, create_default_bridge
from molecules import Store
from runnable.chat.provider import ChatProvider
from runnable.errors import DeadlineExceededError, ProviderStatusError
from runnable.http.serving import serve_in_thread
from runnable.retry import RetryPolicy
from runnable.sources import InMemorySource
from runnable.testing.openai_chat import fail, reply
from runnable.tracking import RunStore
from runnable.types import RunnableData
from tests.servers.fixtures import ChatServer

PROMPT = {
    "name": "greeter",
    "messages": [{"role": "user", "content": "Greet {{name}}"}],
    "settings": {"model": "gpt-4o-mini", "temperature": 0},
}
EVALUATOR = {"name": "has-ada", "evaluator_key": "regex", "settings": {"pattern": "Ada"}}


@pytest.fixture
async def provider(chat_server: ChatServer) -> AsyncIterator[ChatProvider]:
    async with ChatProvider(
        chat_server.base_url, "sk-one-path", retry=RetryPolicy(max_retries=0), timeout=5.0
    ) as made:
        yield made


def make_bridge(
    provider: ChatProvider, run_store: RunStore | None = None, **options: Any
) -> RunnableBridge:
    return create_default_bridge(
        {
            "prompt": InMemorySource({"p1": PROMPT}),
            "evaluator_revision": InMemorySource({"e1": EVALUATOR}),
        },
        provider=provider,
        run_store=run_store,
        **options,
    )


async def one_turn(bridge: RunnableBridge, store: Store) -> None:
    """Start a conversation on prompt p1 for Ada and run its first turn to its end."""
    assert bridge.conversations is not None
    iid = await store.set(
        bridge.conversations.actions.start_prompt_instance,
        "prompt:p1",
        {"variables": {"name": "Ada"}},
    )
    await store.set(bridge.conversations.actions.execute_message, iid, "")
    await bridge.conversations.drain()


def usage(result: Any) -> tuple[Any, Any, Any]:
    return result.metrics.tokens_in, result.metrics.tokens_out, result.metrics.cost


async def test_a_prompt_streams_one_chunk_per_delta_with_tokens_cost_and_timings(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Hel", "lo ", "A", "da"))
    stream = make_bridge(provider).stream("prompt:p1", {"name": "Ada"}, store=Store())
    chunks = [chunk async for chunk in stream]
    assert chunks == ["Hel", "lo ", "A", "da"]
    result = stream.result
    assert result is not None and result.output == "Hello Ada"
    assert result.metrics.tokens_in and result.metrics.tokens_out
    assert result.metrics.cost is not None and result.metrics.cost > 0
    assert result.metrics.latency_ms is not None and result.metrics.ttft_ms is not None


async def test_every_path_reports_the_same_tokens_and_cost(
    provider: ChatProvider, chat_server: ChatServer, run_store: RunStore
) -> None:
    bridge = make_bridge(provider, run_store)
    store = Store()
    executed = await bridge.execute("prompt:p1", {"name": "Ada"}, store=store)
    stream = bridge.stream("prompt:p1", {"name": "Ada"}, store=store)
    _ = [chunk async for chunk in stream]
    chain = {"nodes": [{"id": "greet", "ref": "prompt:p1"}]}
    run = await bridge.run_chain(chain, store=store, testcase={"name": "Ada"})
    await run.wait()
    dataset = await bridge.run_dataset(chain, [{"name": "Ada"}], store=store)
    await dataset.wait()
    await one_turn(bridge, store)
    assert bridge.recorder is not None
    await bridge.recorder.drain()
    expected = usage(executed)
    assert stream.result is not None and usage(stream.result) == expected
    chain_result = run.results["greet"]
    assert chain_result.metrics is not None
    assert (chain_result.metrics.tokens_in, chain_result.metrics.tokens_out) == expected[:2]
    assert chain_result.metrics.cost == expected[2]
    tasks = [
        task
        for record in await run_store.list_runs(limit=20)
        for task in await run_store.list_tasks(record.id)
    ]
    assert len(tasks) == 5  # execute, stream, chain node, dataset row, turn
    assert {(t.tokens_in, t.tokens_out, t.cost) for t in tasks} == {expected}


async def test_a_conversation_started_by_id_runs_the_prompts_draft(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    bridge = make_bridge(provider)
    store = Store()
    await bridge.load("prompt:p1", store=store)
    molecule = bridge.runnable("prompt").molecule
    draft = [{"role": "user", "content": "Salute {{name}} from the draft"}]
    store.set(molecule.update, "p1", {"messages": draft})
    await one_turn(bridge, store)
    sent = chat_server.state.requests[-1].body["messages"]
    assert "Salute Ada from the draft" in json.dumps(sent)


async def test_each_path_records_its_runnable_inputs_settings_and_request(
    provider: ChatProvider, chat_server: ChatServer, run_store: RunStore
) -> None:
    bridge = make_bridge(provider, run_store)
    store = Store()
    await bridge.execute("prompt:p1", {"name": "Ada"}, store=store)
    stream = bridge.stream("prompt:p1", {"name": "Ada"}, store=store)
    _ = [chunk async for chunk in stream]
    await one_turn(bridge, store)
    assert bridge.recorder is not None
    await bridge.recorder.drain()
    runs = await run_store.list_runs(runnable_ref="prompt:p1")
    assert len(runs) == 3  # execute, stream, and the conversation
    assert await run_store.count_runs(runnable_ref="prompt:p1") == 3
    for record in runs:
        assert record.inputs == {"name": "Ada"}
        assert record.settings["model"] == "gpt-4o-mini"
        (task,) = await run_store.list_tasks(record.id)
        assert task.runnable_ref == "prompt:p1"
        assert task.request["messages"][-1]["content"] == "Greet Ada"
        assert task.request["settings"]["temperature"] == 0


async def test_a_failed_run_stores_its_error_as_json_with_type_and_status(
    provider: ChatProvider, chat_server: ChatServer, run_store: RunStore
) -> None:
    chat_server.state.script(fail(400, "the model refused"))
    bridge = make_bridge(provider, run_store)
    result = await bridge.execute("prompt:p1", {"name": "Ada"}, store=Store())
    assert result.status == "error"
    assert result.error is not None and result.error.type == "ProviderStatusError"
    assert result.error.status_code == 400
    assert bridge.recorder is not None
    await bridge.recorder.drain()
    (record,) = await run_store.list_runs(status="error")
    (task,) = await run_store.list_tasks(record.id)
    for stored in (record.error, task.error):
        assert stored is not None
        error = json.loads(stored)
        assert error["type"] == "ProviderStatusError" and error["status_code"] == 400
        assert "the model refused" in error["message"]


async def test_a_dataset_parent_sums_its_rows_and_averages_each_evaluators_score(
    provider: ChatProvider, chat_server: ChatServer, run_store: RunStore
) -> None:
    chat_server.state.script(reply("Hi Ada"), reply("Hi Bob"), reply("Hi Ada"))
    bridge = make_bridge(provider, run_store)
    chain = {
        "nodes": [
            {"id": "greet", "ref": "prompt:p1"},
            {"id": "check", "ref": "evaluator_revision:e1"},
        ],
        "connections": [
            {
                "source": "greet",
                "target": "check",
                "input_mappings": [{"target_key": "output", "source_path": "output"}],
            }
        ],
    }
    rows = [{"name": "Ada"}, {"name": "Bob"}, {"name": "Ada"}]
    run = await bridge.run_dataset(chain, rows, store=Store(), max_concurrency=1)
    await run.wait()
    assert bridge.recorder is not None
    await bridge.recorder.drain()
    (parent,) = [r for r in await run_store.list_runs() if r.parent_run_id is None]
    children = await run_store.list_runs(parent_run_id=parent.id)
    assert len(children) == 3
    tasks = [t for child in children for t in await run_store.list_tasks(child.id)]
    stats = parent.stats
    assert (stats["rows"], stats["succeeded"], stats["failed"]) == (3, 3, 0)
    greet = [t for t in tasks if t.node_id == "greet"]
    assert stats["tokens_in"] == sum(t.tokens_in or 0 for t in greet) > 0
    assert stats["cost"] == pytest.approx(sum(t.cost or 0 for t in greet))
    assert stats["scores"]["check"] == pytest.approx(2 / 3)


class Counting:
    """A kind's executor that fails as told and counts its calls."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls = 0

    async def __call__(self, runnable: RunnableData, inputs: Mapping[str, Any]) -> Any:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize(
    ("error", "calls"),
    [
        (ValueError("a bug"), 1),
        (ProviderStatusError("busy", status_code=503, retryable=True), 4),
    ],
)
async def test_a_plain_exception_is_not_retried_and_a_503_is(
    error: BaseException, calls: int
) -> None:
    executor = Counting(error)
    bridge = create_default_bridge(
        {"evaluator_revision": InMemorySource({"e1": EVALUATOR})},
        executors={"evaluator_revision": executor},
    )
    retry = RetryPolicy(max_retries=3, backoff_base=0.0)
    chain = {"nodes": [{"id": "check", "ref": "evaluator_revision:e1"}]}
    run = await bridge.run_chain(chain, store=Store(), testcase={"output": "x"}, retry=retry)
    await run.wait()
    assert executor.calls == calls
    result = run.results["check"]
    assert result.error is not None and result.error.type == type(error).__name__


async def test_each_chain_node_is_loaded_and_prepared_once(
    provider: ChatProvider,
) -> None:
    bridge = make_bridge(provider)
    prepared: list[str] = []
    kind = bridge.type("evaluator_revision")
    import attrs

    async def prepare(store: Store, key: str) -> None:
        prepared.append(key)

    bridge.register("evaluator_revision", attrs.evolve(kind, prepare=prepare))
    chain = {
        "nodes": [
            {"id": "a", "ref": "evaluator_revision:e1"},
            {"id": "b", "ref": "evaluator_revision:e1"},
        ]
    }
    run = await bridge.run_chain(chain, store=Store(), testcase={"output": "Ada"})
    await run.wait()
    assert run.status == "success", run.results
    assert prepared == ["e1", "e1"]  # one per node, none again at execution


class KeepAliveOnly:
    """An SSE endpoint that answers 200 and then sends only comments, forever."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        while True:
            await send({"type": "http.response.body", "body": b": ping\n\n", "more_body": True})
            await asyncio.sleep(0.05)


async def test_a_keep_alive_only_provider_ends_in_error_at_its_deadline(
    run_store: RunStore,
) -> None:
    with serve_in_thread(KeepAliveOnly()) as url:
        async with ChatProvider(f"{url}/v1", "sk-x", timeout=5.0, deadline=0.5) as provider:
            bridge = make_bridge(provider, run_store)
            result = await asyncio.wait_for(
                bridge.execute("prompt:p1", {"name": "Ada"}, store=Store()), 10
            )
    assert result.status == "error"
    assert result.error is not None and result.error.type == DeadlineExceededError.__name__
    assert bridge.recorder is not None
    await bridge.recorder.drain()
    (record,) = await run_store.list_runs()
    assert record.status == "error"


async def test_a_prompt_naming_no_model_records_the_model_the_provider_sent_it_to(
    chat_server: ChatServer, run_store: RunStore
) -> None:
    unnamed = {**PROMPT, "settings": {"temperature": 0}}
    async with ChatProvider(chat_server.base_url, "sk-one-path", model="house-model") as provider:
        bridge = create_default_bridge(
            {"prompt": InMemorySource({"p1": unnamed})}, provider=provider, run_store=run_store
        )
        store = Store()
        await bridge.execute("prompt:p1", {"name": "Ada"}, store=store)
        await one_turn(bridge, store)
        assert bridge.recorder is not None
        await bridge.recorder.drain()
    sent = [request.body["model"] for request in chat_server.state.requests]
    assert sent == ["house-model", "house-model"]
    records = await run_store.list_runs(runnable_ref="prompt:p1")
    assert len(records) == 2
    for record in records:
        (task,) = await run_store.list_tasks(record.id)
        assert task.request["model"] == "house-model"
