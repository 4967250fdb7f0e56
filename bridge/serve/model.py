"""The model the playground runs prompts on: the built-in offline `echo`, or a real endpoint.

Offline, `runnable.testing.ChatCompletionsApp` is served on 127.0.0.1 in a thread: an
OpenAI-compatible server whose replies echo the last user message word by word (and
call the tools a message names, and fit a `json_schema` response format: see
`runnable.testing.echo`), so every part of the playground (streaming, chat, cancel,
tokens, tools, structured output) works with no network and no key. With a URL
(`--provider-url` or `OPENAI_BASE_URL`) prompts go to that endpoint instead, with
`OPENAI_API_KEY` as its key. The key is never shown: `describe`
gives what `GET /info` may say.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import attrs
import httpx

from runnable.chat.provider import ChatProvider
from runnable.http.serving import serve_in_thread
from runnable.testing import ChatCompletionsApp, ChatServerState

__all__ = ["DEFAULT_MODEL", "ECHO_MODEL", "ModelEndpoint", "model_endpoint"]

ECHO_MODEL = "echo"
"""The name of the built-in offline model."""

DEFAULT_MODEL = "gpt-4o-mini"
"""The model asked of a real endpoint when none is named (`--model`)."""

ECHO_LABEL = (
    "echo: the built-in offline model (replies with your last message, word by word; "
    "calls the tools your message names, and fits a JSON schema)"
)


@attrs.frozen
class ModelEndpoint:
    """Where prompts run: a chat provider, and how to describe it to the page."""

    provider: ChatProvider
    model: str
    offline: bool
    base_url: str

    def describe(self) -> dict[str, Any]:
        """What the page shows about the model (never the key)."""
        url = httpx.URL(self.base_url).copy_with(username=None, password=None)
        return {
            "name": self.model,
            "offline": self.offline,
            "label": ECHO_LABEL if self.offline else f"{self.model} at {url}",
            "base_url": None if self.offline else str(url),
        }


@contextlib.contextmanager
def model_endpoint(
    provider_url: str | None,
    api_key: str | None = None,
    *,
    model: str | None = None,
    echo_delay: float = 0.04,
) -> Iterator[ModelEndpoint]:
    """The endpoint for `provider_url`, or the echo model served for the block's duration."""
    if provider_url:
        name = model or DEFAULT_MODEL
        provider = ChatProvider(provider_url, api_key, model=name)
        yield ModelEndpoint(provider, name, offline=False, base_url=provider_url)
        return
    state = ChatServerState(echo_chunk_delay=echo_delay)
    with serve_in_thread(ChatCompletionsApp(state)) as url:
        base_url = f"{url}/v1"
        provider = ChatProvider(base_url, model=model or ECHO_MODEL)
        yield ModelEndpoint(provider, model or ECHO_MODEL, offline=True, base_url=base_url)
