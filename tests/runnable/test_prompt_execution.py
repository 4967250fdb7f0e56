"""runnable.chat.execution: prompt + variables + conversation -> request -> turn events."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from runnable.chat.completion import ChatDelta, ChatDone
from runnable.chat.execution import (
    PromptSpec,
    TurnCompleted,
    TurnDelta,
    TurnEvent,
    TurnStarted,
    build_turn_request,
    execute_prompt,
    prompt_executor,
    prompt_variables,
    request_settings,
    resolve_prompt_variables,
    stream_prompt,
    stream_turn,
    turn_cancelled,
    turn_failed,
)
from runnable.chat.provider import ChatProvider
from runnable.errors import MissingVariablesError, ProviderStatusError
from runnable.messages import ChatMessage, Resource
from runnable.retry import RetryPolicy
from runnable.testing.openai_chat import fail, reply
from runnable.types import RunnableData
from tests.servers.fixtures import ChatServer

KEY = "sk-prompt-exec-SECRET-0123456789"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)

PROMPT: dict[str, Any] = {
    "id": "greeter",
    "messages": [
        {"role": "system", "content": "You write in a {{tone}} tone. Today is {{current_date}}."},
        {"role": "user", "content": "Tell me about {{topic}}."},
    ],
    "settings": {"model": "gpt-4o-mini", "temperature": 0.2, "api_key": "sk-in-settings"},
    "variable_defaults": {"tone": "calm"},
}


@pytest.fixture
async def provider(chat_server: ChatServer) -> AsyncIterator[ChatProvider]:
    async with ChatProvider(
        chat_server.base_url, KEY, retry=RetryPolicy(max_retries=0), timeout=5.0
    ) as p:
        yield p


async def collect(events: AsyncIterator[TurnEvent]) -> list[TurnEvent]:
    return [event async for event in events]


def test_prompt_variables_are_the_template_names_in_order() -> None:
    assert prompt_variables(PROMPT) == ["tone", "current_date", "topic"]


def test_prompt_spec_reads_any_model_with_the_prompt_fields() -> None:
    class Entity(BaseModel):
        id: str
        messages: list[ChatMessage]
        settings: dict[str, Any]
        extra_column: int = 3

    entity = Entity(id="p", messages=[ChatMessage(role="user", content="{{x}}")], settings={})
    spec = PromptSpec.of(entity)
    assert (spec.id, prompt_variables(spec)) == ("p", ["x"])


def test_resolution_uses_prompt_defaults_below_the_callers_layers() -> None:
    resolved = resolve_prompt_variables(
        PROMPT, {"user": {"topic": "tides"}, "scoped.org": {"tone": "formal"}}, now=NOW
    )
    assert resolved["topic"].source == "user"
    assert (resolved["tone"].value, resolved["tone"].source) == ("formal", "scoped.org")
    assert (resolved["current_date"].value, resolved["current_date"].source) == (
        "2024-05-06",
        "computed",
    )


def test_a_prompt_default_fills_a_variable_nobody_else_gives() -> None:
    resolved = resolve_prompt_variables(PROMPT, {"user": {"topic": "tides"}}, now=NOW)
    assert (resolved["tone"].value, resolved["tone"].source) == ("calm", "default")


def test_missing_variables_are_all_named_before_any_call() -> None:
    prompt = {**PROMPT, "variable_defaults": {}}
    with pytest.raises(MissingVariablesError) as caught:
        resolve_prompt_variables(prompt, {}, now=NOW)
    assert caught.value.missing == ["tone", "topic"]


def test_request_settings_drop_the_model_none_values_and_secrets() -> None:
    settings = {
        "model": "m",
        "temperature": 0.1,
        "top_p": None,
        "api_key": "sk-x",
        "x-api-key": "k",
    }
    assert request_settings(settings) == {"temperature": 0.1}


def test_first_turn_renders_templates_and_joins_the_input_to_the_last_user_message() -> None:
    variables = resolve_prompt_variables(PROMPT, {"user": {"topic": "tides"}}, now=NOW)
    request = build_turn_request(PROMPT, variables, user_input="Keep it short {{tone}}.")
    assert [m.content for m in request.messages] == [
        "You write in a calm tone. Today is 2024-05-06.",
        "Tell me about tides.\n\nKeep it short {{tone}}.",
    ]
    assert (request.model, request.settings) == ("gpt-4o-mini", {"temperature": 0.2})


def test_later_turns_send_history_and_the_new_message_without_rendering() -> None:
    history = [
        ChatMessage(role="user", content="About {{topic}}"),
        ChatMessage(role="assistant", content="Sure."),
    ]
    request = build_turn_request(PROMPT, {"topic": "x"}, history=history, user_input="More")
    assert [(m.role, m.content) for m in request.messages] == [
        ("user", "About {{topic}}"),
        ("assistant", "Sure."),
        ("user", "More"),
    ]


def test_without_apply_variables_templates_are_sent_as_written() -> None:
    request = build_turn_request(PROMPT, {}, user_input="Hi", apply_variables=False)
    assert request.messages[-1].content == "Tell me about {{topic}}.\n\nHi"


def test_resources_ride_on_the_turns_user_message() -> None:
    resources = [Resource(kind="note", name="n", content="<b>bold</b>")]
    request = build_turn_request(PROMPT, {"topic": "t"}, user_input="Hi", resources=resources)
    assert request.messages[-1].resources == resources


def test_edited_settings_replace_the_prompts() -> None:
    request = build_turn_request(PROMPT, {"topic": "t"}, settings={"model": "gpt-4.1", "seed": 1})
    assert (request.model, request.settings) == ("gpt-4.1", {"seed": 1})


def test_the_request_record_carries_no_secret() -> None:
    request = build_turn_request(PROMPT, {"topic": "t"})
    assert "sk-in-settings" not in str(request.record())


async def test_a_streamed_turn_yields_started_deltas_and_completed(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Tides ", "follow ", "the moon.", usage=(30, 3)))
    request = build_turn_request(PROMPT, {"topic": "tides"})

    events = await collect(stream_turn(provider, request))

    assert isinstance(events[0], TurnStarted) and events[0].turn_id == request.turn_id
    assert [e.text for e in events if isinstance(e, TurnDelta)] == [
        "Tides ",
        "follow ",
        "the moon.",
    ]
    done = events[-1]
    assert isinstance(done, TurnCompleted)
    assert done.message == ChatMessage(role="assistant", content="Tides follow the moon.")
    assert (done.completion.tokens_in, done.completion.tokens_out) == (30, 3)
    assert done.completion.cost == pytest.approx((30 * 0.15 + 3 * 0.60) / 1e6)
    assert all(e.elapsed_ms is not None for e in events if isinstance(e, TurnDelta))


async def test_the_provider_receives_the_rendered_messages_and_settings(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    request = build_turn_request(PROMPT, {"topic": "tides", "tone": "dry", "current_date": "d"})
    await collect(stream_turn(provider, request))
    body = chat_server.state.requests[-1].body
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0.2
    assert "api_key" not in body
    assert body["messages"][1] == {"role": "user", "content": "Tell me about tides."}


async def test_a_plain_turn_arrives_as_one_delta(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("All ", "at once"))
    request = build_turn_request(PROMPT, {"topic": "t"})
    events = await collect(stream_turn(provider, request, stream=False))
    assert [type(e).__name__ for e in events] == ["TurnStarted", "TurnDelta", "TurnCompleted"]
    assert chat_server.state.requests[-1].body.get("stream") is None


async def test_a_provider_failure_raises_after_started_and_never_shows_the_key(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.api_key = "another-key"
    request = build_turn_request(PROMPT, {"topic": "t"})
    seen: list[TurnEvent] = []
    with pytest.raises(ProviderStatusError) as caught:
        async for event in stream_turn(provider, request):
            seen.append(event)
    assert [type(e).__name__ for e in seen] == ["TurnStarted"]
    failed = turn_failed(request.turn_id, caught.value, 12.0)
    assert failed.error.status_code == 401 and failed.error.type == "ProviderStatusError"
    assert KEY not in failed.error.message


async def test_cancelling_the_consumer_closes_the_provider_stream(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply(*["tok "] * 50, chunk_delay=0.05))
    request = build_turn_request(PROMPT, {"topic": "t"})
    first_delta = asyncio.Event()

    async def consume() -> None:
        async for event in stream_turn(provider, request):
            if isinstance(event, TurnDelta):
                first_delta.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_delta.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(chat_server.state.disconnected.wait, 5)
    assert turn_cancelled(request.turn_id).type == "turn_cancelled"


async def test_execute_prompt_returns_the_reply_and_metrics(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Hello", " there", usage=(10, 2)))
    result = await execute_prompt(PROMPT, {"topic": "greetings"}, provider)
    assert result.status == "success" and result.output == "Hello there"
    assert (result.metrics.tokens_in, result.metrics.tokens_out) == (10, 2)
    assert result.metrics.latency_ms is not None


async def test_execute_prompt_parses_a_json_reply_when_the_settings_ask_for_json(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply('{"answer": ', "42}"))
    prompt = {**PROMPT, "settings": {"model": "m", "response_format": {"type": "json_object"}}}
    result = await execute_prompt(prompt, {"topic": "life"}, provider)
    assert result.structured_output == {"answer": 42}


async def test_execute_prompt_refuses_missing_variables_without_calling_the_provider(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    with pytest.raises(MissingVariablesError):
        await execute_prompt(PROMPT, {}, provider)
    assert chat_server.state.requests == []


async def test_execute_prompt_raises_the_providers_error(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(fail(400, "bad request"))
    with pytest.raises(ProviderStatusError, match="bad request"):
        await execute_prompt(PROMPT, {"topic": "t"}, provider)


async def test_stream_prompt_continues_a_conversation(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    history = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
    ]
    events = await collect(stream_prompt(PROMPT, {}, provider, history=history, user_input="Again"))
    assert isinstance(events[-1], TurnCompleted)
    assert events[-1].message.content == "echo: Again"


def test_turn_events_round_trip_through_json() -> None:
    adapter: TypeAdapter[TurnEvent] = TypeAdapter(TurnEvent)
    event = TurnDelta(turn_id="t", text="x", elapsed_ms=1.5)
    assert adapter.validate_json(adapter.dump_json(event)) == event


async def test_the_prompt_executor_streams_the_prompt_in_a_runnables_configuration(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Hi ", "Ada"))
    runnable = RunnableData(id="greeter", kind="prompt", configuration=PROMPT)
    execute = prompt_executor(provider)
    assert inspect.isasyncgenfunction(execute)
    events = [event async for event in execute(runnable, {"topic": "names"})]
    assert [e.text for e in events if isinstance(e, ChatDelta)] == ["Hi ", "Ada"]
    (done,) = [e for e in events if isinstance(e, ChatDone)]
    assert done.completion.text == "Hi Ada"
    assert done.completion.usage.tokens_out > 0


async def test_the_prompt_executor_takes_a_prompt_given_as_is(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Hi ", "Ada"))
    events = [event async for event in prompt_executor(provider)(PROMPT, {"topic": "names"})]
    assert "".join(e.text for e in events if isinstance(e, ChatDelta)) == "Hi Ada"
