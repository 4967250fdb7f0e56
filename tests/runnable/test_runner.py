"""The graph runner: scheduling, fan-in, events, failures, streaming and retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from runnable.chain import Chain, Node
from runnable.chat.completion import ChatCompletion, ChatDelta, ChatDone, TokenUsage
from runnable.errors import ChainCycleError, InputValidationError
from runnable.retry import RetryPolicy
from runnable.runner import (
    Chunk,
    Event,
    NodeCompleted,
    NodeContext,
    NodeFailed,
    NodeRetrying,
    NodeSkipped,
    NodeStarted,
    RunCompleted,
    RunOptionsError,
    RunStarted,
    parse_event,
    run_graph,
)
from runnable.types import ErrorInfo, ExecutionMetrics, ExecutionResult, ExecutionStatus, TraceInfo

NO_RETRY_DELAY = RetryPolicy(max_retries=2, backoff_base=0, jitter=0)


async def echo(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
    return {node.id: dict(inputs)}


async def collect(run: Any) -> list[Event]:
    return [event async for event in run]


def of_type(events: list[Event], kind: type[Event]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


async def test_a_node_starts_when_its_parents_finish_not_when_its_level_does() -> None:
    # a -> c and b -> d: b can only finish once c has run, which a level-by-level runner
    # (c waits for the whole level of b) would never allow.
    c_ran = asyncio.Event()

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> str:
        if node.id == "b":
            await asyncio.wait_for(c_ran.wait(), 2)
        if node.id == "c":
            c_ran.set()
        return node.id

    chain = Chain(["a", "b", "c", "d"], [("a", "c"), ("b", "d")])
    run = await run_graph(chain, execute).wait()

    assert run.status is ExecutionStatus.SUCCESS
    assert run.outputs == {"a": "a", "b": "b", "c": "c", "d": "d"}


async def test_a_node_reads_the_outputs_of_every_parent() -> None:
    chain = Chain(["a", "b", "c"], [("a", "c"), ("b", "c")])

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        return {"a": {"x": 1}, "b": {"y": 2}}.get(node.id, inputs)

    run = await run_graph(chain, execute, testcase={"q": "?"}).wait()

    assert run.outputs["c"] == {"q": "?", "x": 1, "y": 2}


async def test_a_parent_output_that_is_no_mapping_is_passed_under_its_id() -> None:
    chain = Chain(["summary", "tweet"], [("summary", "tweet")])

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        return "short text" if node.id == "summary" else inputs

    run = await run_graph(chain, execute).wait()

    assert run.outputs["tweet"] == {"summary": "short text"}


async def test_no_more_nodes_run_at_once_than_max_concurrency() -> None:
    running = 0
    peak = 0

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.005)
        running -= 1

    chain = Chain([f"n{i}" for i in range(12)], [])
    run = await run_graph(chain, execute, max_concurrency=3).wait()

    assert run.status is ExecutionStatus.SUCCESS
    assert peak == 3


async def test_independent_nodes_run_concurrently() -> None:
    both_running = asyncio.Barrier(2)

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> str:
        await asyncio.wait_for(both_running.wait(), 2)
        return node.id

    run = await run_graph(Chain(["a", "b"]), execute, max_concurrency=2).wait()

    assert run.status is ExecutionStatus.SUCCESS


async def test_events_come_in_order_per_node_and_carry_the_run_id() -> None:
    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        if node.id == "b":
            return stream_words("x", "y")
        return node.id

    chain = Chain(["a", "b", "c"], [("a", "b"), ("a", "c")])
    run = run_graph(chain, execute, run_id="run-1")
    events = await collect(run)

    assert isinstance(events[0], RunStarted) and events[0].node_ids == ("a", "b", "c")
    assert isinstance(events[-1], RunCompleted) and events[-1].status == "success"
    assert {e.run_id for e in events} == {"run-1"}
    per_node = {
        node_id: [e.type for e in events if e.node_id == node_id] for node_id in ("a", "b", "c")
    }
    assert per_node["a"] == ["node_started", "node_completed"]
    assert per_node["b"] == ["node_started", "chunk", "chunk", "node_completed"]
    assert per_node["c"] == ["node_started", "node_completed"]


async def test_a_failed_node_skips_its_dependents_and_spares_other_branches() -> None:
    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> str:
        if node.id == "b":
            raise RuntimeError("model exploded")
        return node.id

    # a -> b -> c -> d, and a -> e
    chain = Chain(["a", "b", "c", "d", "e"], [("a", "b"), ("b", "c"), ("c", "d"), ("a", "e")])
    run = run_graph(chain, execute)
    events = await collect(run)

    statuses = {k: r.status for k, r in run.results.items()}
    assert statuses == {
        "a": ExecutionStatus.SUCCESS,
        "b": ExecutionStatus.ERROR,
        "c": ExecutionStatus.SKIPPED,
        "d": ExecutionStatus.SKIPPED,
        "e": ExecutionStatus.SUCCESS,
    }
    failed = of_type(events, NodeFailed)[0]
    assert failed.error.message == "model exploded" and failed.error.type == "RuntimeError"
    assert {e.because for e in of_type(events, NodeSkipped)} == {"b"}
    completed = of_type(events, RunCompleted)[0]
    assert completed.status == "error"
    assert completed.error is not None and "'b'" in completed.error.message
    assert run.status is ExecutionStatus.ERROR


async def test_a_skipped_node_never_starts_even_when_another_parent_succeeds() -> None:
    calls: list[str] = []

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> str:
        calls.append(node.id)
        if node.id == "bad":
            raise RuntimeError("no")
        await asyncio.sleep(0.01 if node.id == "slow" else 0)
        return node.id

    chain = Chain(["bad", "slow", "join"], [("bad", "join"), ("slow", "join")])
    run = await run_graph(chain, execute).wait()

    assert "join" not in calls
    assert run.node_status("join") is ExecutionStatus.SKIPPED


async def test_a_late_chunk_after_the_node_finished_is_dropped() -> None:
    contexts: list[NodeContext] = []

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> str:
        contexts.append(ctx)
        return "done"

    seen: list[Event] = []
    run = await run_graph(Chain(["a"]), execute, on_event=seen.append).wait()
    count = len(seen)
    contexts[0].chunk("too late")

    assert len(seen) == count
    assert run.results["a"].status is ExecutionStatus.SUCCESS


async def test_a_plain_function_executor_works_too() -> None:
    def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> int:
        return len(node.id)

    run = await run_graph(Chain(["abc"]), execute).wait()

    assert run.outputs == {"abc": 3}


async def test_an_execution_result_gives_status_output_metrics_and_trace() -> None:
    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> ExecutionResult:
        if node.id == "bad":
            return ExecutionResult(
                status=ExecutionStatus.ERROR, error=ErrorInfo(message="HTTP 500", status_code=500)
            )
        return ExecutionResult(
            status=ExecutionStatus.SUCCESS,
            output={"answer": 42},
            metrics=ExecutionMetrics(tokens_in=3, tokens_out=4, cost=0.5),
            trace=TraceInfo(trace_id="t-1"),
        )

    run = await run_graph(Chain(["good", "bad"]), execute).wait()

    good, bad = run.results["good"], run.results["bad"]
    assert good.output == {"answer": 42}
    assert good.metrics is not None and good.metrics.tokens_out == 4
    assert good.metrics.latency_ms is not None
    assert good.trace == TraceInfo(trace_id="t-1")
    assert bad.status is ExecutionStatus.ERROR
    assert bad.error is not None and bad.error.message == "HTTP 500"


async def stream_words(*words: str) -> AsyncIterator[str]:
    for word in words:
        await asyncio.sleep(0)
        yield word


async def test_a_streaming_node_emits_numbered_chunks_and_outputs_the_joined_text() -> None:
    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        return stream_words("Hel", "lo", " world")

    run = run_graph(Chain(["llm"]), execute)
    events = await collect(run)

    chunks = of_type(events, Chunk)
    assert [(c.text, c.index) for c in chunks] == [("Hel", 0), ("lo", 1), (" world", 2)]
    result = run.results["llm"]
    assert result.output == "Hello world"
    assert result.metrics is not None and result.metrics.ttft_ms is not None


async def test_chat_provider_stream_events_are_understood() -> None:
    completion = ChatCompletion(text="Hi there", usage=TokenUsage(tokens_in=5, tokens_out=2))

    async def provider_stream() -> AsyncIterator[Any]:
        yield ChatDelta(text="Hi")
        yield ChatDelta(text=" there")
        yield ChatDone(completion=completion)

    def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        return provider_stream()

    run = run_graph(Chain(["llm"]), execute)
    events = await collect(run)

    assert [c.text for c in of_type(events, Chunk)] == ["Hi", " there"]
    result = run.results["llm"]
    assert result.output == "Hi there"
    assert result.metrics is not None and result.metrics.tokens_in == 5


async def test_a_callback_streaming_executor_reports_chunks_through_the_context() -> None:
    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> str:
        for part in ("a", "b"):
            ctx.chunk(part)
        return "ab"

    run = run_graph(Chain(["n"]), execute)
    events = await collect(run)

    assert [c.text for c in of_type(events, Chunk)] == ["a", "b"]
    assert run.outputs == {"n": "ab"}


async def test_a_flaky_node_is_retried_by_its_policy() -> None:
    attempts = 0

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ConnectionError(f"flaky {attempts}")
        return f"ok after {ctx.attempt}"

    run = run_graph(Chain(["a"]), execute, retry=NO_RETRY_DELAY)
    events = await collect(run)

    assert run.outputs == {"a": "ok after 3"}
    assert [(e.attempt, e.error.message) for e in of_type(events, NodeRetrying)] == [
        (1, "flaky 1"),
        (2, "flaky 2"),
    ]
    assert run.results["a"].attempts == 3


async def test_retries_stop_at_the_policy_limit() -> None:
    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> str:
        raise ConnectionError("down")

    run = await run_graph(Chain(["a"]), execute, retry=NO_RETRY_DELAY).wait()

    assert run.results["a"].status is ExecutionStatus.ERROR
    assert run.results["a"].attempts == 3


async def test_a_retry_policy_can_be_given_per_node() -> None:
    calls: dict[str, int] = {"a": 0, "b": 0}

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> str:
        calls[node.id] += 1
        raise ConnectionError("down")

    await run_graph(Chain(["a", "b"]), execute, retry={"a": NO_RETRY_DELAY}).wait()

    assert calls == {"a": 3, "b": 1}


async def test_bad_input_errors_are_not_retried() -> None:
    calls = 0

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> str:
        nonlocal calls
        calls += 1
        raise InputValidationError({"country": ["is required but missing"]})

    run = await run_graph(Chain(["a"]), execute, retry=NO_RETRY_DELAY).wait()

    assert calls == 1
    assert run.results["a"].status is ExecutionStatus.ERROR


async def test_a_stream_that_already_sent_chunks_is_not_retried() -> None:
    calls = 0

    async def broken_stream() -> AsyncIterator[str]:
        yield "partial"
        raise ConnectionError("stream broke")

    def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        nonlocal calls
        calls += 1
        return broken_stream()

    run = await run_graph(Chain(["llm"]), execute, retry=NO_RETRY_DELAY).wait()

    assert calls == 1
    assert run.results["llm"].error == ErrorInfo(message="stream broke", type="ConnectionError")


async def test_a_cycle_is_refused_before_any_call() -> None:
    calls = 0

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> None:
        nonlocal calls
        calls += 1

    with pytest.raises(ChainCycleError, match="a -> b -> a"):
        run_graph(Chain(["a", "b"], [("a", "b"), ("b", "a")]), execute)
    assert calls == 0


async def test_max_concurrency_below_one_is_refused() -> None:
    with pytest.raises(RunOptionsError, match="max_concurrency must be at least 1, got 0"):
        run_graph(Chain(["a"]), echo, max_concurrency=0)


async def test_an_empty_chain_completes_at_once() -> None:
    events = await collect(run_graph(Chain([]), echo))

    assert [e.type for e in events] == ["run_started", "run_completed"]
    assert isinstance(events[-1], RunCompleted) and events[-1].status == "success"


async def test_every_event_round_trips_through_json() -> None:
    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        if node.id == "bad":
            raise RuntimeError("x")
        if node.id == "llm":
            return stream_words("a")
        return {"value": 1}

    chain = Chain(["ok", "llm", "bad", "after"], [("bad", "after")])
    events = await collect(run_graph(chain, execute, retry={"bad": RetryPolicy(0)}))

    assert {e.type for e in events} >= {
        "run_started",
        "node_started",
        "chunk",
        "node_completed",
        "node_failed",
        "node_skipped",
        "run_completed",
    }
    for event in events:
        assert parse_event(event.model_dump_json()) == event
        assert parse_event(event.model_dump()) == event


async def test_fast_built_events_equal_validated_ones() -> None:
    fast = NodeStarted.fast(run_id="r", node_id="n", inputs={"a": 1}, at=2.0)

    assert fast == NodeStarted(run_id="r", node_id="n", inputs={"a": 1}, at=2.0)
    assert NodeCompleted.fast(run_id="r", node_id="n") == NodeCompleted(run_id="r", node_id="n")


async def test_an_observer_that_raises_does_not_stop_the_run() -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("observer bug")

    run = await run_graph(Chain(["a", "b"], [("a", "b")]), echo, on_event=broken).wait()

    assert run.status is ExecutionStatus.SUCCESS


async def test_the_context_tells_the_run_the_testcase_and_the_upstream_outputs() -> None:
    seen: dict[str, Any] = {}

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> str:
        seen[node.id] = (ctx.run_id, ctx.testcase, ctx.upstream, ctx.attempt)
        return node.id.upper()

    chain = Chain(["a", "b", "c"], [("a", "c"), ("b", "c")])
    await run_graph(chain, execute, testcase={"q": 1}, run_id="r").wait()

    assert seen["c"] == ("r", {"q": 1}, {"a": "A", "b": "B"}, 1)


async def test_leaving_an_async_with_block_early_cancels_the_run() -> None:
    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        await asyncio.sleep(30)

    async with run_graph(Chain(["slow"]), execute) as run:
        await asyncio.sleep(0.01)

    assert run.done and run.status is ExecutionStatus.CANCELLED


async def test_a_run_can_be_awaited_directly() -> None:
    run = await run_graph(Chain(["a"]), echo)

    assert run.outputs == {"a": {"a": {}}}


async def test_by_default_a_bug_or_a_refused_request_is_not_retried() -> None:
    from runnable.errors import HttpRunnableError
    from runnable.runner import NodeExecutionError, is_retryable_error

    refused = HttpRunnableError("no", url="u", reason="http", status_code=400)
    overloaded = HttpRunnableError("busy", url="u", reason="http", status_code=503)

    assert not is_retryable_error(ValueError("bad"))
    assert not is_retryable_error(KeyError("k"))
    assert not is_retryable_error(refused)
    assert is_retryable_error(overloaded)
    assert is_retryable_error(ConnectionError("reset"))
    assert is_retryable_error(NodeExecutionError(ErrorInfo(message="x", status_code=502)))
    assert not is_retryable_error(NodeExecutionError(ErrorInfo(message="x", status_code=404)))
