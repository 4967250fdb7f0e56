"""Prompts that call tools and answer in JSON, run through the bridge against the local
OpenAI-compatible server (and a real run store)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bridge import RunnableBridge, create_default_bridge
from molecules import Store
from runnable.chat.provider import ChatProvider
from runnable.retry import RetryPolicy
from runnable.sources import InMemorySource
from runnable.testing.openai_chat import reply, tool_call, tool_calls_reply
from runnable.tools import ToolRegistry
from runnable.tracking import RunStore
from runnable.types import ExecutionStatus
from tests.servers.fixtures import ChatServer

FORECAST = {
    "name": "forecast",
    "messages": [{"role": "user", "content": "What should I wear in {{city}}?"}],
    "settings": {"model": "gpt-4o-mini"},
}
PLACE_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "population": {"type": "integer"},
        "landmarks": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["city", "population"],
    "additionalProperties": False,
}
PLACE = {
    "name": "place",
    "messages": [{"role": "user", "content": "Describe {{country}}'s capital as JSON."}],
    "settings": {
        "model": "gpt-4o-mini",
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "place", "schema": PLACE_SCHEMA, "strict": True},
        },
    },
}
POSTCARD = {
    "name": "postcard",
    "messages": [{"role": "user", "content": "Write a postcard from {{city}}."}],
    "settings": {"model": "gpt-4o-mini"},
}


@pytest.fixture
async def provider(chat_server: ChatServer) -> AsyncIterator[ChatProvider]:
    async with ChatProvider(
        chat_server.base_url, "sk-tools", retry=RetryPolicy(max_retries=0), timeout=5.0
    ) as made:
        yield made


class Weather:
    """A weather tool that remembers its calls."""

    def __init__(self) -> None:
        self.cities: list[str] = []

    def __call__(self, city: str) -> dict[str, Any]:
        """The temperature in a city now (Celsius)."""
        self.cities.append(city)
        return {"city": city, "celsius": {"Oslo": 4, "Rome": 19}.get(city, 10)}


def make_bridge(
    provider: ChatProvider, tools: ToolRegistry | None, run_store: RunStore | None = None, **kw: Any
) -> RunnableBridge:
    prompts = {"forecast": FORECAST, "place": PLACE, "postcard": POSTCARD}
    return create_default_bridge(
        {"prompt": InMemorySource(prompts)},
        provider=provider,
        tools=tools,
        run_store=run_store,
        **kw,
    )


def sent_messages(chat_server: ChatServer, index: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = chat_server.state.requests[index].body["messages"]
    return messages


async def test_a_two_round_tool_loop_answers_with_the_final_reply(
    provider: ChatProvider, chat_server: ChatServer, run_store: RunStore
) -> None:
    weather = Weather()
    tools = ToolRegistry()
    tools.register(weather, name="weather")
    chat_server.state.script(
        tool_calls_reply(tool_call("weather", {"city": "Oslo"}, id="c1"), usage=(10, 5)),
        tool_calls_reply(tool_call("weather", {"city": "Rome"}, id="c2"), usage=(20, 5)),
        reply("Coat in Oslo, ", "shirt in Rome.", usage=(30, 6)),
    )
    bridge = make_bridge(provider, tools, run_store)
    result = await bridge.execute("prompt:forecast", {"city": "Oslo"}, store=Store())
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert result.output == "Coat in Oslo, shirt in Rome."
    assert weather.cities == ["Oslo", "Rome"]
    assert (result.metrics.tokens_in, result.metrics.tokens_out) == (60, 16)
    first, second, third = (chat_server.state.requests[i].body for i in range(3))
    assert [t["function"]["name"] for t in first["tools"]] == ["weather"]
    assert second["messages"][-2]["tool_calls"][0]["id"] == "c1"
    assert second["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "c1",
        "content": json.dumps({"city": "Oslo", "celsius": 4}),
    }
    assert [m["role"] for m in third["messages"]] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
    ]
    assert bridge.recorder is not None
    await bridge.recorder.drain()
    (run,) = await run_store.list_runs(limit=5)
    (task,) = await run_store.list_tasks(run.id)
    assert task.request is not None
    recorded = task.request["messages"]
    assert [m.get("tool_call_id") for m in recorded if m["role"] == "tool"] == ["c1", "c2"]


async def test_two_tool_calls_in_one_reply_run_concurrently(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    both_running = asyncio.Barrier(2)

    async def lookup(city: str) -> str:
        """Looks a city up (slowly: it waits for the other lookup)."""
        await asyncio.wait_for(both_running.wait(), 2)
        return f"{city} found"

    chat_server.state.script(
        tool_calls_reply(
            tool_call("lookup", {"city": "Oslo"}, id="a"),
            tool_call("lookup", {"city": "Rome"}, id="b"),
        ),
        reply("Both found."),
    )
    bridge = make_bridge(provider, ToolRegistry([lookup]))
    result = await bridge.execute("prompt:forecast", {"city": "Oslo"}, store=Store())
    assert result.status is ExecutionStatus.SUCCESS, result.error
    answers = [m for m in sent_messages(chat_server, 1) if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["content"]) for m in answers] == [
        ("a", "Oslo found"),
        ("b", "Rome found"),
    ]


async def test_a_tool_that_raises_answers_the_model_with_its_error(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    def weather(city: str) -> str:
        """Always down."""
        raise ConnectionError(f"the weather service for {city} is down")

    chat_server.state.script(
        tool_calls_reply(tool_call("weather", {"city": "Oslo"}, id="c1")),
        reply("Sorry, no forecast today."),
    )
    bridge = make_bridge(provider, ToolRegistry([weather]))
    result = await bridge.execute("prompt:forecast", {"city": "Oslo"}, store=Store())
    assert result.status is ExecutionStatus.SUCCESS
    assert result.output == "Sorry, no forecast today."
    answer = sent_messages(chat_server, 1)[-1]
    assert answer["role"] == "tool"
    assert answer["content"] == (
        "error: weather raised ConnectionError: the weather service for Oslo is down"
    )


async def test_a_model_that_keeps_calling_tools_stops_at_max_tool_rounds(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    calls = [tool_calls_reply(tool_call("weather", {"city": "Oslo"})) for _ in range(3)]
    chat_server.state.script(*calls)
    bridge = make_bridge(provider, ToolRegistry([Weather()]), max_tool_rounds=2)
    result = await bridge.execute("prompt:forecast", {"city": "Oslo"}, store=Store())
    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None and "after 2 rounds of tool calls" in result.error.message
    assert len(chat_server.state.requests) == 3


async def test_a_structured_reply_that_fits_the_schema_is_the_parsed_output(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    place = {"city": "Oslo", "population": 709000, "landmarks": ["Opera"]}
    chat_server.state.script(reply(json.dumps(place)[:10], json.dumps(place)[10:]))
    bridge = make_bridge(provider, None)
    result = await bridge.execute("prompt:place", {"country": "Norway"}, store=Store())
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert result.output == place
    sent = chat_server.state.requests[-1].body
    assert sent["response_format"]["json_schema"]["schema"] == PLACE_SCHEMA
    assert "tools" not in sent


async def test_a_structured_reply_that_breaks_the_schema_fails_naming_the_path(
    provider: ChatProvider, chat_server: ChatServer, run_store: RunStore
) -> None:
    text = json.dumps({"city": "Oslo", "population": 709000, "landmarks": ["Opera", 7]})
    chat_server.state.script(reply(text))
    bridge = make_bridge(provider, None, run_store)
    result = await bridge.execute("prompt:place", {"country": "Norway"}, store=Store())
    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None and result.error.type == "StructuredOutputError"
    assert "at landmarks/1: 7 is not of type 'string'" in result.error.message
    assert result.output == text
    assert bridge.recorder is not None
    await bridge.recorder.drain()
    (run,) = await run_store.list_runs(limit=5)
    (task,) = await run_store.list_tasks(run.id)
    assert task.response == text


async def test_a_reply_that_is_not_json_fails_with_the_text_as_output(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Oslo, of course."))
    bridge = make_bridge(provider, None)
    result = await bridge.execute("prompt:place", {"country": "Norway"}, store=Store())
    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None and "not JSON" in result.error.message
    assert result.output == "Oslo, of course."


async def test_a_structured_prompt_has_output_ports_from_its_schema(
    provider: ChatProvider,
) -> None:
    bridge = make_bridge(provider, None)
    store = Store()
    await bridge.load("prompt:place", store=store)
    ports = store.get(bridge.selectors.output_ports("prompt:place"))
    assert [(p.key, p.type, p.required) for p in ports] == [
        ("city", "string", True),
        ("population", "integer", True),
        ("landmarks", "array", False),
    ]


async def test_a_chain_node_reads_a_field_of_the_structured_output_before_it(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    place = {"city": "Oslo", "population": 709000}
    chat_server.state.script(reply(json.dumps(place)), reply("Greetings from Oslo!"))
    bridge = make_bridge(provider, None)
    chain = {
        "nodes": [{"id": "place", "ref": "prompt:place"}, {"id": "card", "ref": "prompt:postcard"}],
        "connections": [{"source": "place", "target": "card"}],
    }
    run = await bridge.run_chain(chain, store=Store(), testcase={"country": "Norway"})
    await run.wait()
    assert run.status == "success", run.results
    assert run.results["place"].output == place
    assert run.results["card"].output == "Greetings from Oslo!"
    assert sent_messages(chat_server, 1)[-1]["content"] == "Write a postcard from Oslo."
