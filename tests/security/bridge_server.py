"""A bridge server on 127.0.0.1 for the security tests: real prompts, a real provider.

Prompts run through a `ChatProvider` against the local OpenAI-compatible server, so
template rendering and provider calls take their real paths.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import attrs
import httpx

from bridge import RunnableBridge, create_default_bridge
from bridge.server import create_app
from molecules import Store
from runnable.chat.provider import ChatProvider
from runnable.http.serving import serve_in_thread
from runnable.retry import RetryPolicy
from runnable.sources import InMemorySource

GREETER: dict[str, Any] = {
    "name": "greeter",
    "messages": [{"role": "user", "content": "Hi {{name}}"}],
    "settings": {"model": "gpt-4o-mini"},
}
TIMEOUT = 10.0


class AppSlot:
    """An ASGI app that hands every request to the app of the current test."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@attrs.frozen
class BridgeServer:
    """A running bridge server: its URL, and the bridge, store and prompts behind it."""

    url: str
    bridge: RunnableBridge
    store: Store
    prompts: InMemorySource


def serve_slot() -> Iterator[tuple[str, AppSlot]]:
    """One uvicorn server whose app each test replaces."""
    slot = AppSlot()
    with serve_in_thread(slot) as url:
        yield url, slot


def fresh_bridge_server(url: str, slot: AppSlot, chat_base_url: str) -> BridgeServer:
    """A new bridge and store (prompts p1, p2) behind the slot's server."""
    prompts = InMemorySource({"p1": dict(GREETER), "p2": dict(GREETER)})
    provider = ChatProvider(
        chat_base_url, "sk-test-security-0123456789", retry=RetryPolicy(max_retries=0), timeout=5
    )
    bridge = create_default_bridge({"prompt": prompts}, provider=provider)
    store = Store()
    slot.app = create_app(bridge, store, ping=0)
    return BridgeServer(url, bridge, store, prompts)


def entity(url: str, ref: str = "prompt:p1") -> Any:
    """The runnable's entity and dirtiness, read over HTTP."""
    body = httpx.get(f"{url}/runnables/{ref}", timeout=TIMEOUT).json()
    return body["entity"], body["is_dirty"]


def dumps(value: Any) -> bytes:
    """JSON as bytes, without the checks of the standard library."""
    return json.dumps(value, allow_nan=True).encode()
