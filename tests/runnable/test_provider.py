"""ChatProvider against a local server that speaks the OpenAI chat completions protocol."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from runnable.chat.completion import ChatDelta, ChatDone, ChatStreamEvent
from runnable.chat.provider import ChatProvider
from runnable.errors import (
    ProviderConnectionError,
    ProviderError,
    ProviderInputError,
    ProviderRateLimitError,
    ProviderStatusError,
    ProviderStreamError,
    ProviderTimeoutError,
)
from runnable.retry import RetryPolicy
from runnable.testing.openai_chat import fail, reply
from tests.servers.fixtures import ChatServer

KEY = "sk-test-0123456789abcdefSECRET"
FAST_RETRY = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.02)
MESSAGES = [{"role": "user", "content": "Say hello to the world"}]


@pytest.fixture
async def provider(chat_server: ChatServer) -> AsyncIterator[ChatProvider]:
    async with ChatProvider(
        chat_server.base_url, KEY, model="gpt-4o-mini", retry=FAST_RETRY, timeout=2.0
    ) as p:
        yield p


async def collect(stream: AsyncIterator[ChatStreamEvent]) -> list[ChatStreamEvent]:
    return [event async for event in stream]


async def test_complete_returns_text_usage_and_cost(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Hello", ", world", usage=(1000, 2000)))

    completion = await provider.complete(MESSAGES)

    assert completion.text == "Hello, world"
    assert completion.finish_reason == "stop"
    assert completion.model == "gpt-4o-mini"
    assert (completion.tokens_in, completion.tokens_out) == (1000, 2000)
    # gpt-4o-mini: 0.15 in, 0.60 out per million tokens
    assert completion.cost == pytest.approx((1000 * 0.15 + 2000 * 0.60) / 1e6)
    assert completion.latency_ms is not None and completion.latency_ms > 0


async def test_complete_sends_model_messages_settings_and_bearer_key(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    await provider.complete(MESSAGES, model="gpt-4.1", temperature=0.2, max_tokens=None)

    sent = chat_server.state.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body == {"model": "gpt-4.1", "messages": MESSAGES, "temperature": 0.2}


async def test_unknown_model_has_usage_but_no_cost(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    completion = await provider.complete(MESSAGES, model="my-local-llama")

    assert completion.usage is not None
    assert completion.cost is None


async def test_custom_prices_price_an_unknown_model(chat_server: ChatServer) -> None:
    chat_server.state.script(reply("ok", usage=(500_000, 250_000)))
    async with ChatProvider(
        chat_server.base_url, model="llama-3", prices={"llama": (1.0, 2.0)}
    ) as provider:
        completion = await provider.complete(MESSAGES)

    assert completion.cost == pytest.approx(0.5 + 0.5)


async def test_stream_yields_deltas_in_order_then_done_with_usage(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Hel", "lo", " there", usage=(10, 3)))

    events = await collect(provider.stream(MESSAGES))

    assert [e.text for e in events if isinstance(e, ChatDelta)] == ["Hel", "lo", " there"]
    done = events[-1]
    assert isinstance(done, ChatDone)
    assert done.completion.text == "Hello there"
    assert done.completion.finish_reason == "stop"
    assert (done.completion.tokens_in, done.completion.tokens_out) == (10, 3)
    assert done.completion.cost is not None
    assert done.completion.ttft_ms is not None
    assert done.completion.ttft_ms <= (done.completion.latency_ms or 0)


async def test_streamed_and_plain_calls_share_one_kept_alive_connection(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    # A stream closed before its body's end would close its connection: a new TCP (and
    # TLS) handshake for every call.
    for _ in range(3):
        events = await collect(provider.stream(MESSAGES))
        assert isinstance(events[-1], ChatDone)
    await provider.complete(MESSAGES)

    clients = [request.client for request in chat_server.state.requests]
    assert len(clients) == 4 and clients[0] is not None
    assert set(clients) == {clients[0]}


async def test_a_server_that_holds_the_body_open_after_done_is_cut_off(
    chat_server: ChatServer,
) -> None:
    chat_server.state.script(reply("Hi", hold_after_done=20.0), reply("again"))
    started = time.monotonic()
    async with ChatProvider(chat_server.base_url, model="m", timeout=60.0) as provider:
        events = await collect(provider.stream(MESSAGES))

        assert time.monotonic() - started < 10.0  # not the 20 s the server holds on
        done = events[-1]
        assert isinstance(done, ChatDone) and done.completion.text == "Hi"
        after = await collect(provider.stream(MESSAGES))  # on a new connection
        assert isinstance(after[-1], ChatDone) and after[-1].completion.text == "again"
    first, second = chat_server.state.requests
    assert first.client != second.client


async def test_a_consumer_slower_than_the_deadline_after_done_gets_no_error(
    chat_server: ChatServer,
) -> None:
    # Nothing is read after ChatDone (the body's end is read before it), so a deadline
    # that passes while the consumer handles ChatDone cannot fail a finished call.
    async with ChatProvider(chat_server.base_url, model="m", deadline=0.3) as provider:
        seen = []
        async for event in provider.stream(MESSAGES):
            seen.append(event)
            if isinstance(event, ChatDone):
                await asyncio.sleep(0.5)
    assert isinstance(seen[-1], ChatDone)


async def test_stream_asks_for_usage_unless_told_not_to(chat_server: ChatServer) -> None:
    async with ChatProvider(chat_server.base_url, model="m") as with_usage:
        await collect(with_usage.stream(MESSAGES))
    async with ChatProvider(chat_server.base_url, model="m", stream_usage=False) as without:
        events = await collect(without.stream(MESSAGES))

    first, second = chat_server.state.requests
    assert first.body["stream"] is True
    assert first.body["stream_options"] == {"include_usage": True}
    assert "stream_options" not in second.body
    done = events[-1]
    assert isinstance(done, ChatDone) and done.completion.usage is None


async def test_slow_stream_completes_when_each_gap_is_within_the_timeout(
    chat_server: ChatServer,
) -> None:
    chat_server.state.script(reply("a", "b", "c", "d", chunk_delay=0.1))
    async with ChatProvider(chat_server.base_url, model="m", timeout=0.3) as provider:
        events = await collect(provider.stream(MESSAGES))

    done = events[-1]
    assert isinstance(done, ChatDone) and done.completion.text == "abcd"


async def test_stream_that_stalls_longer_than_the_timeout_raises_timeout(
    chat_server: ChatServer,
) -> None:
    chat_server.state.script(reply("a", "b", chunk_delay=1.0))
    async with ChatProvider(chat_server.base_url, model="m", timeout=0.2) as provider:
        with pytest.raises(ProviderTimeoutError, match="read timeout"):
            await collect(provider.stream(MESSAGES))


async def test_complete_that_gets_no_answer_in_time_raises_timeout_without_retry(
    chat_server: ChatServer,
) -> None:
    chat_server.state.script(reply("late", first_byte_delay=1.0))
    async with ChatProvider(
        chat_server.base_url, model="m", timeout=0.2, retry=FAST_RETRY
    ) as provider:
        with pytest.raises(ProviderTimeoutError, match=r"in time \(ReadTimeout, timeout 0.2s\)"):
            await provider.complete(MESSAGES)

    assert len(chat_server.state.requests) == 1


async def test_rate_limit_is_retried_then_succeeds(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(fail(429, "slow down"), fail(503, "overloaded"), reply("fine"))

    completion = await provider.complete(MESSAGES)

    assert completion.text == "fine"
    assert len(chat_server.state.requests) == 3


async def test_retry_waits_as_long_as_retry_after_asks(chat_server: ChatServer) -> None:
    chat_server.state.script(fail(429, "wait", retry_after_ms="250"), reply("ok"))
    policy = RetryPolicy(max_retries=1, backoff_base=5.0)
    async with ChatProvider(chat_server.base_url, model="m", retry=policy) as provider:
        await provider.complete(MESSAGES)

    first, second = chat_server.state.requests
    # Backoff alone would wait ~5s; Retry-After says 0.25s.
    assert 0.24 <= second.received_at - first.received_at < 2.0


async def test_retry_after_seconds_header_is_honoured(chat_server: ChatServer) -> None:
    chat_server.state.script(fail(503, "busy", retry_after="0"), reply("ok"))
    policy = RetryPolicy(max_retries=1, backoff_base=5.0)
    async with ChatProvider(chat_server.base_url, model="m", retry=policy) as provider:
        completion = await provider.complete(MESSAGES)

    assert completion.text == "ok"
    first, second = chat_server.state.requests
    assert second.received_at - first.received_at < 2.0


async def test_retry_after_longer_than_the_cap_fails_at_once(chat_server: ChatServer) -> None:
    chat_server.state.script(fail(429, "come back later", retry_after="3600"), reply("ok"))
    async with ChatProvider(chat_server.base_url, model="m", retry=FAST_RETRY) as provider:
        with pytest.raises(ProviderRateLimitError, match="retry after 3600s"):
            await provider.complete(MESSAGES)

    assert len(chat_server.state.requests) == 1


async def test_retries_run_out_with_the_servers_message(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(*[fail(429, "Rate limit reached for gpt-4o-mini")] * 3)

    with pytest.raises(ProviderRateLimitError) as caught:
        await provider.complete(MESSAGES)

    assert caught.value.status_code == 429
    assert "Rate limit reached for gpt-4o-mini" in str(caught.value)
    assert "after 3 attempts" in str(caught.value)
    assert len(chat_server.state.requests) == 3


async def test_client_errors_are_not_retried(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(fail(400, "max_tokens is too large", error_type="invalid_request"))

    with pytest.raises(ProviderStatusError) as caught:
        await provider.complete(MESSAGES)

    assert caught.value.status_code == 400
    assert caught.value.error_type == "invalid_request"
    assert not caught.value.retryable
    assert "max_tokens is too large" in str(caught.value)
    assert len(chat_server.state.requests) == 1


async def test_streams_are_retried_before_their_first_byte(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(fail(502, "bad gateway"), reply("streamed"))

    events = await collect(provider.stream(MESSAGES))

    assert isinstance(events[-1], ChatDone)
    assert events[-1].completion.text == "streamed"
    assert len(chat_server.state.requests) == 2


async def test_error_mid_stream_raises_after_the_text_so_far_and_is_not_retried(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(
        reply("one", " two", " three", error_after=2, error_message="model overloaded")
    )
    seen: list[str] = []

    with pytest.raises(ProviderStreamError, match="mid-stream: model overloaded"):
        async for event in provider.stream(MESSAGES):
            if isinstance(event, ChatDelta):
                seen.append(event.text)

    assert seen == ["one", " two"]
    assert len(chat_server.state.requests) == 1


async def test_stream_that_ends_before_finishing_raises(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("one", " two", end_after=1))

    with pytest.raises(ProviderStreamError, match="ended before the model finished"):
        await collect(provider.stream(MESSAGES))


async def test_html_error_page_is_reported_as_such(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(fail(404, "Not Found", html=True))

    with pytest.raises(ProviderStatusError, match="HTML page"):
        await provider.complete(MESSAGES)


async def test_unreachable_provider_raises_connection_error_after_retries() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on `port` now.
    async with ChatProvider(f"http://127.0.0.1:{port}/v1", model="m", retry=FAST_RETRY) as p:
        with pytest.raises(
            ProviderConnectionError, match=f"could not reach http://127.0.0.1:{port}"
        ):
            await p.complete(MESSAGES)


@pytest.mark.parametrize(
    ("messages", "settings", "problem"),
    [
        ([], {}, "non-empty list"),
        ([{"content": "no role"}], {}, "message 0 has no role"),
        (["just text"], {}, "message 0 is a str"),
        (MESSAGES, {"stream": True}, "'stream' is not a setting"),
        (MESSAGES, {"temperature": object()}, "not JSON"),
    ],
)
async def test_bad_requests_fail_before_anything_is_sent(
    provider: ChatProvider,
    chat_server: ChatServer,
    messages: list[object],
    settings: dict[str, object],
    problem: str,
) -> None:
    with pytest.raises(ProviderInputError, match=problem):
        await provider.complete(messages, **settings)  # type: ignore[arg-type]
    with pytest.raises(ProviderInputError, match=problem):
        provider.stream(messages, **settings)  # type: ignore[arg-type]

    assert chat_server.state.requests == []


async def test_a_call_without_a_model_is_refused(chat_server: ChatServer) -> None:
    async with ChatProvider(chat_server.base_url) as provider:
        with pytest.raises(ProviderInputError, match="no model"):
            await provider.complete(MESSAGES)


def test_base_url_must_be_http() -> None:
    with pytest.raises(ProviderInputError, match="http"):
        ChatProvider("ftp://example.com/v1")


async def test_api_key_never_appears_in_repr_errors_tracebacks_or_logs(
    chat_server: ChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = ChatProvider(chat_server.base_url, KEY, model="m", retry=FAST_RETRY)
    # The server quotes the wrong key back in its 401, as the real service does.
    chat_server.state.api_key = "the-right-key"
    with pytest.raises(ProviderError) as unauthorized:
        await provider.complete(MESSAGES)
    # Retried errors are logged; this one echoes the key too.
    chat_server.state.api_key = None
    chat_server.state.script(*[fail(503, f"backend saw {KEY}")] * 3)
    with pytest.raises(ProviderError) as unavailable:
        await provider.complete(MESSAGES)
    await provider.aclose()

    assert unauthorized.value.status_code == 401
    assert "Incorrect API key provided: [redacted]" in str(unauthorized.value)
    assert unavailable.value.status_code == 503
    assert "retry 2 of 2" in caplog.text
    texts = [repr(provider), caplog.text]
    for error in (unauthorized.value, unavailable.value):
        texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
    for text in texts:
        assert KEY not in text
    assert "**********" in repr(provider)


async def test_cancelling_a_stream_closes_the_connection_promptly(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("first", " never", chunk_delay=5.0))
    got_first = asyncio.Event()

    async def consume() -> None:
        async with aclosing(provider.stream(MESSAGES)) as stream:
            async for event in stream:
                if isinstance(event, ChatDelta):
                    got_first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_first.wait(), 2.0)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cancelled_in = time.monotonic() - started

    assert await asyncio.to_thread(chat_server.state.disconnected.wait, 2.0)
    assert cancelled_in < 0.2
    assert chat_server.state.disconnected_at is not None
    assert chat_server.state.disconnected_at - started < 0.2
    assert chat_server.state.finished_streams == 0


async def test_cancelling_a_pending_completion_closes_the_connection(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("late", first_byte_delay=5.0))
    task = asyncio.create_task(provider.complete(MESSAGES))
    while not chat_server.state.requests:
        await asyncio.sleep(0.01)

    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await asyncio.to_thread(chat_server.state.disconnected.wait, 2.0)
    assert chat_server.state.disconnected_at is not None
    assert chat_server.state.disconnected_at - started < 0.2


async def test_breaking_out_of_a_closed_stream_closes_the_connection(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("first", " never", chunk_delay=5.0))

    async with aclosing(provider.stream(MESSAGES)) as stream:
        async for event in stream:
            if isinstance(event, ChatDelta):
                break

    assert await asyncio.to_thread(chat_server.state.disconnected.wait, 2.0)


def test_completion_metrics_carry_tokens_cost_and_timings() -> None:
    from runnable.chat.completion import ChatCompletion, TokenUsage

    completion = ChatCompletion(
        text="x", usage=TokenUsage(tokens_in=3, tokens_out=4), cost=0.5, ttft_ms=1, latency_ms=2
    )

    metrics = completion.metrics()

    assert (metrics.tokens_in, metrics.tokens_out, metrics.cost) == (3, 4, 0.5)
    assert (metrics.ttft_ms, metrics.latency_ms) == (1, 2)


async def test_a_server_that_ignores_stream_still_gives_delta_and_done(
    provider: ChatProvider, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("whole", " answer", ignore_stream=True))

    events = await collect(provider.stream(MESSAGES))

    assert [type(e) for e in events] == [ChatDelta, ChatDone]
    assert isinstance(events[-1], ChatDone) and events[-1].completion.text == "whole answer"


async def test_max_retries_overrides_the_policy(chat_server: ChatServer) -> None:
    chat_server.state.script(*[fail(500, "down")] * 5)
    async with ChatProvider(
        chat_server.base_url, model="m", retry=FAST_RETRY, max_retries=0
    ) as provider:
        with pytest.raises(ProviderStatusError):
            await provider.complete(MESSAGES)

    assert provider.retry.backoff_base == FAST_RETRY.backoff_base
    assert len(chat_server.state.requests) == 1
