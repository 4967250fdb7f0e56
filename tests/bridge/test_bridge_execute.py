"""bridge.execute and bridge.stream: validation first, then the kind's executor."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import pytest

from bridge import (
    ExecutorNotAvailableError,
    InvalidInputsError,
    RunnableBridge,
    RunnableData,
    RunnableExecutionError,
    RunnableNotFoundError,
    RunnablePort,
    RunnableType,
    create_default_bridge,
    create_runnable_bridge,
)
from molecules import AppRevisionData, PromptData, Store, create_molecule
from runnable.http.serving import serve_in_thread
from runnable.sources import InMemorySource
from runnable.types import ExecutionStatus
from tests.molecules.entities.services import Counting, greeter_service, tools_service


@pytest.fixture(scope="module")
def greeter() -> Iterator[tuple[str, Counting]]:
    app = greeter_service()
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture
def dead_url() -> str:
    """A 127.0.0.1 URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def tools_url() -> Iterator[str]:
    with serve_in_thread(tools_service()) as url:
        yield url


def echo_kind(execute: Any, calls: list[Any] | None = None) -> RunnableType:
    """A custom kind: entities {"id", "keys": [...]} whose ports are their keys."""
    entities: dict[str, dict[str, Any]] = {"e1": {"keys": ["question"]}, "e2": {"keys": []}}

    def fetch(key: str) -> dict[str, Any] | None:
        found = entities.get(key)
        return None if found is None else {"id": key, **found}

    def ports(entity: Mapping[str, Any]) -> list[RunnablePort]:
        return [RunnablePort(key=k, required=True) for k in entity["keys"]]

    def recorded(runnable: RunnableData, inputs: Mapping[str, Any]) -> Any:
        if calls is not None:
            calls.append(dict(inputs))
        return execute(runnable, inputs)

    return RunnableType(
        create_molecule("echo", fetch),
        lambda entity: RunnableData(id=entity["id"], kind="echo", configuration={"k": 1}),
        ports,
        lambda entity: [RunnablePort(key="output")],
        execute=recorded if calls is not None else execute,
    )


def echo_bridge(execute: Any, calls: list[Any] | None = None) -> RunnableBridge:
    return create_runnable_bridge({"echo": echo_kind(execute, calls)})


async def test_a_plain_executor_gives_a_timed_success_result() -> None:
    bridge = echo_bridge(lambda runnable, inputs: f"{runnable.id}: {inputs['question']}")
    result = await bridge.execute("echo:e1", {"question": "why?"}, store=Store())
    assert result.status == ExecutionStatus.SUCCESS
    assert result.output == "e1: why?"
    assert result.started_at is not None and result.completed_at is not None
    assert result.started_at <= result.completed_at
    assert result.metrics.latency_ms is not None and result.metrics.latency_ms >= 0


async def test_an_async_executor_is_awaited_and_sees_the_runnable_data() -> None:
    async def execute(runnable: RunnableData, inputs: Mapping[str, Any]) -> Any:
        await asyncio.sleep(0)
        return {"config": runnable.configuration, "inputs": dict(inputs)}

    result = await echo_bridge(execute).execute("echo:e1", {"question": "q"})
    assert result.output == {"config": {"k": 1}, "inputs": {"question": "q"}}


async def chunks(runnable: RunnableData, inputs: Mapping[str, Any]) -> AsyncIterator[str]:
    for word in ("Hel", "lo", "!"):
        await asyncio.sleep(0)
        yield word


async def test_a_streaming_executor_streams_its_chunks() -> None:
    bridge = echo_bridge(chunks)
    seen = [chunk async for chunk in bridge.stream("echo:e1", {"question": "q"})]
    assert seen == ["Hel", "lo", "!"]


async def test_execute_of_a_streaming_executor_joins_the_chunks() -> None:
    result = await echo_bridge(chunks).execute("echo:e1", {"question": "q"})
    assert result.output == "Hello!"
    assert result.metrics.ttft_ms is not None


async def test_bad_inputs_are_refused_naming_each_and_nothing_is_called() -> None:
    calls: list[Any] = []
    bridge = echo_bridge(lambda runnable, inputs: "ran", calls)
    with pytest.raises(InvalidInputsError) as caught:
        await bridge.execute("echo:e1", {"other": 1})
    assert caught.value.errors == {"question": ["is required but missing"]}
    assert "echo:e1" in str(caught.value) and "question" in str(caught.value)
    with pytest.raises(InvalidInputsError):
        async for _ in bridge.stream("echo:e1", {}):
            pass
    assert calls == []


async def test_an_executor_that_raises_gives_an_error_result() -> None:
    def execute(runnable: RunnableData, inputs: Mapping[str, Any]) -> Any:
        raise RuntimeError("model overloaded")

    result = await echo_bridge(execute).execute("echo:e2", {})
    assert result.status == ExecutionStatus.ERROR
    assert result.error is not None
    assert (result.error.message, result.error.type) == ("model overloaded", "RuntimeError")


async def test_a_kind_registered_at_run_time_can_run() -> None:
    bridge = create_default_bridge()
    bridge.register("echo", echo_kind(lambda runnable, inputs: "registered"))
    assert "echo" in bridge.kinds
    assert (await bridge.execute("echo:e2", {})).output == "registered"


async def test_running_a_missing_runnable_says_why() -> None:
    bridge = echo_bridge(lambda runnable, inputs: "x")
    with pytest.raises(
        RunnableNotFoundError, match=r"cannot load runnable echo:ghost: .*not found"
    ):
        await bridge.execute("echo:ghost", {})


async def test_a_bare_id_runs_on_the_one_kind_that_knows_it() -> None:
    bridge = echo_bridge(lambda runnable, inputs: runnable.kind)
    assert (await bridge.execute("e2", {})).output == "echo"


async def test_prompts_cannot_run_yet_and_say_so_naming_the_kind() -> None:
    prompt = {"messages": [{"role": "user", "content": "Hi {{name}}"}]}
    bridge = create_default_bridge({"prompt": InMemorySource({"p1": prompt})})
    with pytest.raises(InvalidInputsError):
        await bridge.execute("prompt:p1", {})
    with pytest.raises(NotImplementedError, match="kind 'prompt'") as caught:
        await bridge.execute("prompt:p1", {"name": "Ada"})
    assert isinstance(caught.value, ExecutorNotAvailableError)


async def test_a_prompt_runs_with_an_executor_plugged_in() -> None:
    def fake_chat(runnable: RunnableData, inputs: Mapping[str, Any]) -> str:
        template = runnable.configuration["messages"][0]["content"]
        return str(template.replace("{{name}}", inputs["name"]))

    prompt = {"messages": [{"role": "user", "content": "Hi {{name}}"}]}
    bridge = create_default_bridge(
        {"prompt": InMemorySource({"p1": prompt})}, executors={"prompt": fake_chat}
    )
    assert (await bridge.execute("prompt:p1", {"name": "Ada"})).output == "Hi Ada"


async def test_a_prompt_held_in_hand_runs_without_a_source_or_a_store() -> None:
    bridge = create_default_bridge(executors={"prompt": lambda runnable, inputs: runnable.name})
    prompt = PromptData(id="unsaved", name="typed in a UI", messages=[])
    result = await bridge.execute(prompt, {})
    assert result.output == "typed in a UI"


async def test_an_app_revision_runs_over_http_with_its_config(
    greeter: tuple[str, Counting],
) -> None:
    url, app = greeter
    revisions = {"r1": {"uri": url, "ag_config": {"greeting": "Bonjour"}}}
    bridge = create_default_bridge({"app_revision": InMemorySource(revisions)})
    store = Store()
    result = await bridge.execute("app_revision:r1", {"name": "Ada"}, store=store)
    assert result.status == ExecutionStatus.SUCCESS, result.error
    assert result.output == "Bonjour, Ada from France!"
    assert result.trace is not None and result.trace.trace_id
    assert app.paths[-1] == "/test"
    store.set(bridge.runnable("app_revision").selectors.execution_mode("r1"), "deployed")
    deployed = await bridge.execute("app_revision:r1", {"name": "Ada"}, store=store)
    assert deployed.output == "Hello, Ada from France!"  # /run uses the app's own config
    assert app.paths[-1] == "/run"


async def test_an_app_revisions_inputs_are_checked_against_its_openapi_ports(
    greeter: tuple[str, Counting],
) -> None:
    url, app = greeter
    bridge = create_default_bridge({"app_revision": InMemorySource({"r1": {"uri": url}})})
    posts_before = app.paths.count("/test")
    with pytest.raises(InvalidInputsError, match="name"):
        await bridge.execute("app_revision:r1", {"country": "Peru"})
    assert app.paths.count("/test") == posts_before


async def test_an_app_revision_held_in_hand_runs_and_leaves_the_callers_store_alone(
    greeter: tuple[str, Counting],
) -> None:
    url, _ = greeter
    bridge = create_default_bridge()
    store = Store()
    revision = AppRevisionData(id="draft", uri=url, ag_config={"greeting": "Hey"})
    result = await bridge.execute(revision, {"name": "Bo"}, store=store)
    assert result.output == "Hey, Bo from France!"
    plain = await bridge.execute({"id": "d2", "uri": url}, {"name": "Cy"}, kind="app_revision")
    assert plain.output == "Hello, Cy from France!"
    assert store.get(bridge.runnable("app_revision").selectors.is_new("draft")) is False


async def test_an_unreachable_app_is_an_error_result(dead_url: str) -> None:
    bridge = create_default_bridge({"app_revision": InMemorySource({"r1": {"uri": dead_url}})})
    result = await bridge.execute("app_revision:r1", {})
    assert result.status == ExecutionStatus.ERROR
    assert result.error is not None and "unreachable" in result.error.message


async def test_streaming_an_app_revision_yields_its_output_once(
    greeter: tuple[str, Counting],
) -> None:
    url, _ = greeter
    bridge = create_default_bridge({"app_revision": InMemorySource({"r1": {"uri": url}})})
    seen = [chunk async for chunk in bridge.stream("app_revision:r1", {"name": "Ada"})]
    assert seen == ["Hello, Ada from France!"]


async def test_streaming_a_failing_app_raises_with_its_message(dead_url: str) -> None:
    bridge = create_default_bridge({"app_revision": InMemorySource({"r1": {"uri": dead_url}})})
    with pytest.raises(RunnableExecutionError, match=r"app_revision:r1 failed: .*unreachable"):
        async for _ in bridge.stream("app_revision:r1", {}):
            pass


async def test_an_evaluator_served_over_http_runs_and_scores(tools_url: str) -> None:
    evaluators = {"judge": {"uri": f"{tools_url}/score", "evaluator_key": "http"}}
    bridge = create_default_bridge({"evaluator_revision": InMemorySource(evaluators)})
    result = await bridge.execute(
        "evaluator_revision:judge", {"output": "Paris", "correct_answer": "Paris"}
    )
    assert result.output == 1.0


async def test_a_built_in_evaluator_runs_with_its_settings() -> None:
    evaluators = {"ex": {"evaluator_key": "exact_match", "settings": {"case_sensitive": False}}}
    bridge = create_default_bridge({"evaluator_revision": InMemorySource(evaluators)})
    result = await bridge.execute(
        "evaluator_revision:ex", {"output": "PARIS", "correct_answer": "paris"}
    )
    assert result.status == ExecutionStatus.SUCCESS
    assert result.output == {"score": 1.0, "success": True}


async def test_a_built_in_evaluator_checks_its_reference_input_first() -> None:
    evaluators = {"ex": {"evaluator_key": "exact_match"}}
    bridge = create_default_bridge({"evaluator_revision": InMemorySource(evaluators)})
    with pytest.raises(InvalidInputsError, match="correct_answer"):
        await bridge.execute("evaluator_revision:ex", {"output": "a"})


async def test_an_executor_error_never_carries_a_key_shaped_secret() -> None:
    def leaky(runnable: RunnableData, inputs: Mapping[str, Any]) -> Any:
        raise RuntimeError("provider refused key sk-live-0123456789abcdefXYZ")

    result = await echo_bridge(leaky).execute("echo:e1", {"question": "q"})
    assert result.status == ExecutionStatus.ERROR
    assert result.error is not None
    assert "sk-live-0123456789abcdefXYZ" not in result.model_dump_json()
    assert "provider refused key" in result.error.message
