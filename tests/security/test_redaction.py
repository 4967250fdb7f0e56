"""Credentials never leave in clear: URL passwords of providers (repr, errors, logs,
httpx's own request log) and the rendered values of secret-named variables."""

from __future__ import annotations

import base64
import logging
import socket

import pytest

from runnable.chat.provider import ChatProvider
from runnable.chat.request import PromptSpec, build_turn_request
from runnable.errors import ProviderConnectionError, ProviderInputError
from runnable.redaction import REDACTED, redact_values, secret_values
from runnable.retry import RetryPolicy
from runnable.testing.openai_chat import reply
from tests.servers.fixtures import ChatServer

PASSWORD = "hunter2-very-secret"
NO_RETRY = RetryPolicy(max_retries=0)


def with_password(base_url: str) -> str:
    return base_url.replace("http://", f"http://gateway:{PASSWORD}@", 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_provider_repr_shows_no_url_password() -> None:
    provider = ChatProvider(with_password("http://127.0.0.1:9/v1"), "sk-abc")
    assert PASSWORD not in repr(provider)
    assert PASSWORD not in provider.url


def test_a_malformed_base_url_is_refused_without_echoing_its_password() -> None:
    with pytest.raises(ProviderInputError) as info:
        ChatProvider(f"ftp://user:{PASSWORD}@host/v1")
    assert PASSWORD not in str(info.value)


async def test_a_connection_error_shows_no_url_password() -> None:
    url = with_password(f"http://127.0.0.1:{free_port()}/v1")
    async with ChatProvider(url, model="m", retry=NO_RETRY, timeout=2) as provider:
        with pytest.raises(ProviderConnectionError) as info:
            await provider.complete([{"role": "user", "content": "hi"}])
    assert "127.0.0.1" in str(info.value)
    assert PASSWORD not in str(info.value)


async def test_the_url_credentials_are_still_sent_as_basic_auth(
    chat_server: ChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    chat_server.state.script(reply("ok"))
    with caplog.at_level(logging.DEBUG):
        async with ChatProvider(
            with_password(chat_server.base_url), model="m", retry=NO_RETRY, timeout=5
        ) as provider:
            answer = await provider.complete([{"role": "user", "content": "hi"}])
    assert answer.text == "ok"
    sent = chat_server.state.requests[-1].headers["authorization"]
    assert base64.b64decode(sent.removeprefix("Basic ")).decode() == f"gateway:{PASSWORD}"
    # httpx logs each request's URL: the password is not in it.
    assert any(r.name == "httpx" for r in caplog.records)
    assert PASSWORD not in caplog.text


def test_the_httpx_log_redacts_a_url_password_from_any_client(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("httpx").info("HTTP Request: %s %s", "GET", f"https://u:{PASSWORD}@h/x")
    assert PASSWORD not in caplog.text
    assert f"https://u:{REDACTED}@h/x" in caplog.text


def test_a_secret_variables_rendered_value_is_blanked_from_the_stored_request() -> None:
    prompt = PromptSpec(
        messages=[{"role": "user", "content": "Use key {{api_key}} for {{city}}"}],
        settings={"model": "m"},
    )
    request = build_turn_request(prompt, {"api_key": "tok-123456-secret", "city": "Paris"})
    assert "tok-123456-secret" in str(request.messages[0].content)  # the provider gets it
    record = request.record()
    assert record["messages"][0]["content"] == f"Use key {REDACTED} for Paris"


def test_short_secret_values_are_not_searched_for() -> None:
    assert secret_values({"password": "ab", "token_x": None, "name": "Alice"}) == []
    assert redact_values({"a": ["x-secret-x"]}, ["secret"]) == {"a": [f"x-{REDACTED}-x"]}
