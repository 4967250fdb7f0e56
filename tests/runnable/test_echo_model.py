"""The offline echo model's rules (`runnable.testing.echo`), through a real ChatProvider
and the bridge against the local OpenAI-compatible server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge import create_default_bridge
from molecules import Store
from runnable.chat.completion import ToolCall
from runnable.chat.provider import ChatProvider
from runnable.retry import RetryPolicy
from runnable.sources import InMemorySource
from runnable.testing.echo import assignments
from runnable.tools import ToolRegistry
from tests.servers.fixtures import ChatServer


def function(name: str, **properties: Any) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties}
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


CONVERT = function("convert", value={"type": "number"}, unit={"type": "string"})
CLOCK = function("clock", zone={"type": "string"})


@pytest.fixture
async def provider(chat_server: ChatServer) -> AsyncIterator[ChatProvider]:
    async with ChatProvider(
        chat_server.base_url, "sk-echo", model="echo", retry=RetryPolicy(max_retries=0)
    ) as made:
        yield made


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


async def test_a_message_that_names_an_offered_tool_calls_it_with_its_name_value_words(
    provider: ChatProvider,
) -> None:
    text = "Please convert value=3.5 unit=km, ignore=1."
    completion = await provider.complete(user(text), tools=[CONVERT, CLOCK])
    assert completion.finish_reason == "tool_calls"
    assert [(c.name, json.loads(c.arguments)) for c in completion.tool_calls] == [
        ("convert", {"value": 3.5, "unit": "km"})
    ]


async def test_a_message_that_names_two_tools_calls_both_in_the_order_they_are_offered(
    provider: ChatProvider,
) -> None:
    completion = await provider.complete(
        user("clock zone=UTC then convert"), tools=[CONVERT, CLOCK]
    )
    assert [c.name for c in completion.tool_calls] == ["convert", "clock"]
    assert [json.loads(c.arguments) for c in completion.tool_calls] == [{}, {"zone": "UTC"}]


async def test_a_message_that_names_no_tool_is_echoed(provider: ChatProvider) -> None:
    completion = await provider.complete(user("converting is fun"), tools=[CONVERT])
    assert completion.tool_calls == [] and completion.text == "echo: converting is fun"


async def test_after_tool_answers_the_echo_repeats_them_by_tool_name(
    provider: ChatProvider,
) -> None:
    call = ToolCall(id="c1", name="convert", arguments="{}")
    messages = [
        *user("convert"),
        {"role": "assistant", "content": None, "tool_calls": [call.to_openai()]},
        {"role": "tool", "tool_call_id": "c1", "content": "2.17 mi"},
    ]
    completion = await provider.complete(messages, tools=[CONVERT])
    assert completion.tool_calls == [] and completion.text == "echo: convert: 2.17 mi"


async def test_a_json_schema_reply_takes_the_name_value_words_of_its_properties(
    provider: ChatProvider,
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "population": {"type": "integer"},
            "note": {"type": "string"},
        },
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "c", "schema": schema}}
    completion = await provider.complete(
        user('city="Oslo" population=709000'), response_format=response_format
    )
    assert json.loads(completion.text) == {
        "city": "Oslo",
        "population": 709000,
        "note": 'echo: city="Oslo" population=709000',
    }


async def test_the_bridge_runs_the_tool_the_echo_model_calls_and_answers_with_its_result(
    provider: ChatProvider,
) -> None:
    tools = ToolRegistry()

    @tools.register
    def double(value: int) -> int:
        """Twice the value."""
        return 2 * value

    prompts = InMemorySource(
        {"p": {"name": "P", "messages": [{"role": "user", "content": "double value={{n}}"}]}}
    )
    bridge = create_default_bridge({"prompt": prompts}, provider=provider, tools=tools)
    result = await bridge.execute("prompt:p", {"n": "21"}, store=Store())
    assert result.output == "echo: double: 42"


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
VALUES = st.integers(-1000, 1000) | st.from_regex(r"[a-z][a-z ]{0,10}[a-z]", fullmatch=True)


@given(st.dictionaries(NAMES, VALUES, max_size=5))
def test_name_value_words_read_back_what_was_written(given_values: dict[str, Any]) -> None:
    text = " and ".join(
        f"{name}={value}" if isinstance(value, int) else f'{name}="{value}"'
        for name, value in given_values.items()
    )
    assert assignments(f"Use {text}.") == given_values
