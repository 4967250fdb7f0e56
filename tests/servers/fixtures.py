"""Pytest fixtures for the test servers (loaded by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import attrs
import pytest

from runnable.http.serving import serve_in_thread
from runnable.testing.openai_chat import ChatCompletionsApp, ChatServerState
from tests.servers.app_service import AppServiceState, app_service


@attrs.frozen
class ChatServer:
    """A running OpenAI-compatible server: `base_url` ends in `/v1`, `state` scripts it."""

    base_url: str
    state: ChatServerState


@pytest.fixture(scope="session")
def chat_server_session() -> Iterator[ChatServer]:
    """One chat server for the whole run (see `chat_server` for a clean one per test)."""
    state = ChatServerState()
    with serve_in_thread(ChatCompletionsApp(state)) as url:
        yield ChatServer(base_url=f"{url}/v1", state=state)


@pytest.fixture
def chat_server(chat_server_session: ChatServer) -> ChatServer:
    """The session chat server with an empty script, log and no required key."""
    chat_server_session.state.reset()
    return chat_server_session


@pytest.fixture
def serve_app() -> Iterator[Callable[[Any], str]]:
    """Serve ASGI apps for this test: `url = serve_app(app)`; all stop at teardown."""
    with ExitStack() as stack:
        yield lambda app: stack.enter_context(serve_in_thread(app))


@attrs.frozen
class AppServer:
    """A running app service (see tests/servers/app_service.py) and what it saw."""

    url: str
    state: AppServiceState


@pytest.fixture(scope="session")
def app_server_session() -> Iterator[AppServer]:
    """One app service for the whole run (see `app_server` for a clean one per test)."""
    state = AppServiceState()
    with serve_in_thread(app_service(state)) as url:
        yield AppServer(url=url, state=state)


@pytest.fixture
def app_server(app_server_session: AppServer) -> AppServer:
    """The session app service with its log cleared."""
    app_server_session.state.reset()
    return app_server_session
