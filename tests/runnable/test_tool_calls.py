"""Tool calls on the wire: streamed pieces reassembled, plain answers read, against the
local OpenAI-compatible server."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runnable.chat.completion import ChatDone, ToolCall
from runnable.chat.protocol import StreamState, parse_answer
from runnable.chat.provider import ChatProvider
from runnable.errors import ProviderStatusError, ProviderStreamError
from runnable.retry import RetryPolicy
from runnable.testing.openai_chat import reply, tool_call, tool_calls_reply
from tests.servers.fixtures import ChatServer

MESSAGES = [{"role": "user", "content": "What is the weather in Oslo and Rome?"}]
WEATHER = {
    "type": "function",
    "function": {"name": "weather", "parameters": {"type": "object", "properties": {}}},
}


@pytest.fixture
async def provider(chat_server: ChatServer) -> AsyncIterator[ChatProvider]:
    async with ChatProvider(
        chat_server.base_url, "sk-tools", model="gpt-4o-mini", retry=RetryPolicy(max_retries=0)
    ) as made:
        yield made


def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


def pieces(text: str, cuts: list[int]) -> list[str]:
    bounds = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@given(
    first=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=8), max_size=4),
    second=st.dictionaries(st.text(max_size=5), st.booleans(), max_size=4),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8),
    interleave=st.booleans(),
)
def test_argument_pieces_of_parallel_calls_reassemble_to_the_text_the_model_sent(
    first: dict[str, Any], second: dict[str, Any], cuts: list[int], interleave: bool
) -> None:
    texts = [json.dumps(first), json.dumps(second)]
    state = StreamState()
    state.feed(chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f"}}]}))
    state.feed(chunk({"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g"}}]}))
    streams = [[(i, p) for p in pieces(text, cuts)] for i, text in enumerate(texts)]
    order = (
        [x for pair in zip(*streams, strict=False) for x in pair]
        + streams[0][len(streams[1]) :]
        + streams[1][len(streams[0]) :]
        if interleave
        else streams[0] + streams[1]
    )
    for index, piece in order:
        delta = {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
        state.feed(chunk(delta))
    state.feed(chunk({}, "tool_calls"))
    assert state.tool_calls == [
        ToolCall(id="a", name="f", arguments=texts[0]),
        ToolCall(id="b", name="g", arguments=texts[1]),
    ]
    assert state.finish_reason == "tool_calls"


async def test_a_streamed_reply_with_two_tool_calls_ends_with_both_in_the_completion(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    oslo = tool_call("weather", {"city": "Oslo", "unit": "C"}, id="call_oslo")
    rome = tool_call("weather", {"city": "Rome"}, id="call_rome")
    chat_server.state.script(tool_calls_reply(oslo, rome, argument_piece=3))
    events = [e async for e in provider.stream(MESSAGES, tools=[WEATHER])]
    done = events[-1]
    assert isinstance(done, ChatDone)
    assert done.completion.finish_reason == "tool_calls"
    assert done.completion.tool_calls == [
        ToolCall(id="call_oslo", name="weather", arguments='{"city": "Oslo", "unit": "C"}'),
        ToolCall(id="call_rome", name="weather", arguments='{"city": "Rome"}'),
    ]
    assert chat_server.state.requests[-1].body["tools"] == [WEATHER]


async def test_a_plain_answer_with_tool_calls_is_read_too(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(tool_calls_reply(tool_call("weather", {"city": "Oslo"}, id="c1")))
    completion = await provider.complete(MESSAGES, tools=[WEATHER], tool_choice="required")
    assert completion.tool_calls == [
        ToolCall(id="c1", name="weather", arguments='{"city": "Oslo"}')
    ]
    assert chat_server.state.requests[-1].body["tool_choice"] == "required"


async def test_a_reply_without_tool_calls_has_none(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Sunny"))
    events = [e async for e in provider.stream(MESSAGES)]
    assert isinstance(events[-1], ChatDone) and events[-1].completion.tool_calls == []


async def test_the_local_server_refuses_a_tool_message_that_answers_no_call(
    provider: ChatProvider,
) -> None:
    orphan = [*MESSAGES, {"role": "tool", "tool_call_id": "nope", "content": "12 C"}]
    with pytest.raises(ProviderStatusError, match="role 'tool' must be a response"):
        await provider.complete(orphan)


async def test_the_local_server_answers_a_json_schema_request_with_a_fitting_object(
    provider: ChatProvider,
) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
        "required": ["city", "celsius"],
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "w", "schema": schema}}
    completion = await provider.complete(MESSAGES, response_format=response_format)
    answer = json.loads(completion.text)
    assert set(answer) == {"city", "celsius"} and isinstance(answer["celsius"], int | float)


def test_pieces_without_an_index_continue_the_call_their_id_opened() -> None:
    state = StreamState()
    state.feed(chunk({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{"}}]}))
    state.feed(chunk({"tool_calls": [{"function": {"arguments": "}"}}]}))
    state.feed(chunk({"tool_calls": [{"id": "b", "function": {"name": "g", "arguments": {}}}]}))
    assert state.tool_calls == [
        ToolCall(id="a", name="f", arguments="{}"),
        ToolCall(id="b", name="g", arguments="{}"),
    ]


def test_a_plain_answer_with_arguments_as_an_object_keeps_them_as_json_text() -> None:
    payload = {
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": {"x": 1}}}],
                },
                "finish_reason": "tool_calls",
            }
        ]
    }
    assert parse_answer(payload).tool_calls == (ToolCall(id="a", name="f", arguments='{"x": 1}'),)


@pytest.mark.parametrize(
    ("tool_calls", "named"),
    [
        ("nope", "delta.tool_calls is not a list"),
        ([7], "a tool call piece is not an object"),
        ([{"index": 0, "function": "f"}], "tool_calls[].function is not an object"),
        ([{"index": 0, "function": {"name": 3}}], "tool_calls[].function.name is not text"),
    ],
)
def test_a_malformed_tool_call_piece_is_a_stream_error_naming_it(
    tool_calls: Any, named: str
) -> None:
    with pytest.raises(ProviderStreamError, match=re.escape(named)):
        StreamState().feed(chunk({"tool_calls": tool_calls}))
