"""The runner against real services: served functions over HTTP, an OpenAI-compatible stream.

Cancelling must reach the other end: the server sees the client go away within 200 ms.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from runnable.chain import Chain, Connection, InputMapping, Node
from runnable.chat.provider import ChatProvider
from runnable.http.invocation import invoke_http_runnable
from runnable.http.service import create_service
from runnable.runner import Chunk, Event, NodeCancelled, NodeContext, NodeFailed, run_graph
from runnable.testing.openai_chat import reply
from runnable.types import ExecutionStatus
from tests.servers.fixtures import AppServer, ChatServer

CANCEL_BUDGET_S = 0.2


def summarize(text: str, words: int = 3) -> str:
    """The first few words."""
    return " ".join(text.split()[:words])


def shout(text: str) -> str:
    """Upper case."""
    return text.upper()


def join(first: str, second: str) -> dict[str, str]:
    """Both texts."""
    return {"both": f"{first} | {second}"}


def http_executor(urls: dict[str, str], client: httpx.AsyncClient) -> Callable[..., Any]:
    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        result = await invoke_http_runnable(urls[node.id], inputs, client=client)
        return result.output

    return execute


async def test_a_chain_of_served_functions_runs_over_http(
    serve_app: Callable[[Any], str],
) -> None:
    base = serve_app(create_service(summarize, shout, join))
    urls = {name: f"{base}/{name}/run" for name in ("summarize", "shout", "join")}
    chain = Chain(
        ["summarize", "shout", "join"],
        [
            Connection("summarize", "shout", [InputMapping("text", "outputs")]),
            Connection("summarize", "join", [InputMapping("first", "outputs")]),
            Connection("shout", "join", [InputMapping("second", "outputs")]),
        ],
    )
    async with httpx.AsyncClient() as client:
        run = run_graph(
            chain,
            http_executor(urls, client),
            testcase={"text": "the quick brown fox jumps"},
            node_inputs={"summarize": {"words": 2}},
        )
        await run.wait()

    assert run.status is ExecutionStatus.SUCCESS
    assert run.outputs["join"] == {"both": "the quick | THE QUICK"}


async def test_a_served_function_error_fails_its_node_with_the_service_message(
    serve_app: Callable[[Any], str],
) -> None:
    base = serve_app(create_service(shout))
    chain = Chain(["shout"])
    async with httpx.AsyncClient() as client:
        run = await run_graph(
            chain, http_executor({"shout": f"{base}/run"}, client), testcase={"wrong": 1}
        ).wait()

    error = run.results["shout"].error
    assert error is not None and error.status_code == 422
    assert "text" in error.message


async def seconds_until(event: Any, budget: float) -> float:
    """Seconds until a threading.Event is set (waiting up to `budget` * 5)."""
    started = time.perf_counter()
    await asyncio.to_thread(event.wait, budget * 5)
    return time.perf_counter() - started


async def test_cancel_closes_an_in_flight_http_request_within_200_ms(
    app_server: AppServer,
) -> None:
    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        result = await invoke_http_runnable(f"{app_server.url}/slow", inputs)
        return result.output

    chain = Chain(["slow", "after"], [("slow", "after")])
    events: list[Event] = []
    run = run_graph(chain, execute, on_event=events.append).start()
    await asyncio.sleep(0.3)  # the request is in the server's hands

    run.cancel()
    elapsed = await seconds_until(app_server.state.disconnected, CANCEL_BUDGET_S)
    await run.wait()

    assert elapsed < CANCEL_BUDGET_S
    assert run.status is ExecutionStatus.CANCELLED
    cancelled = {e.node_id: e.started for e in events if isinstance(e, NodeCancelled)}
    assert cancelled == {"slow": True, "after": False}
    assert not [e for e in events if isinstance(e, NodeFailed)]


async def test_cancel_closes_a_provider_stream_within_200_ms(chat_server: ChatServer) -> None:
    chat_server.state.script(reply(*[f"w{i} " for i in range(200)], chunk_delay=0.05))
    provider = ChatProvider(chat_server.base_url, model="test-model")

    def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        return provider.stream([{"role": "user", "content": "talk"}])

    run = run_graph(Chain(["llm"]), execute)
    seen: list[Event] = []
    elapsed = None
    async for event in run:
        seen.append(event)
        if isinstance(event, Chunk) and elapsed is None:
            run.cancel()
            elapsed = await seconds_until(chat_server.state.disconnected, CANCEL_BUDGET_S)
    await provider.aclose()

    assert elapsed is not None and elapsed < CANCEL_BUDGET_S
    assert run.results["llm"].status is ExecutionStatus.CANCELLED
    assert chat_server.state.finished_streams == 0
    assert seen[-1].type == "run_completed"
    assert [e.type for e in seen if e.node_id == "llm"][-1] == "node_cancelled"


async def test_cancelling_before_the_start_calls_nothing() -> None:
    calls = 0

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> None:
        nonlocal calls
        calls += 1

    run = run_graph(Chain(["a", "b"], [("a", "b")]), execute)
    run.cancel()
    await run.wait()

    assert calls == 0
    assert {r.status for r in run.results.values()} == {ExecutionStatus.CANCELLED}


async def test_cancelling_the_task_that_awaits_a_run_cancels_the_run() -> None:
    started = asyncio.Event()

    async def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> None:
        started.set()
        await asyncio.sleep(30)

    run = run_graph(Chain(["a"]), execute)
    waiter = asyncio.ensure_future(run.wait())
    await started.wait()
    waiter.cancel()
    await asyncio.sleep(0.01)

    assert run.done
    assert run.results["a"].status is ExecutionStatus.CANCELLED
