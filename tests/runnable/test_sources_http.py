"""HttpSource specifics, against a real REST server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from runnable.http.serving import serve_in_thread
from runnable.sources import HttpSource, SourceBackendError
from tests.runnable.rest_server import EntityServerState, entity_app


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, EntityServerState]]:
    state = EntityServerState()
    with serve_in_thread(entity_app(state)) as base_url:
        yield base_url, state


@pytest.fixture
def base_url(server: tuple[str, EntityServerState]) -> str:
    return server[0]


@pytest.fixture
def state(server: tuple[str, EntityServerState]) -> EntityServerState:
    return server[1]


async def test_an_id_with_slashes_reaches_the_server_as_one_id(
    base_url: str, state: EntityServerState
) -> None:
    async with HttpSource(f"{base_url}/prompts") as source:
        await source.save("team/a?b=1#c", {"name": "odd"})
        assert await source.get("team/a?b=1#c") == {"id": "team/a?b=1#c", "name": "odd"}
    assert list(state.collections["prompts"]) == ["team/a?b=1#c"]


async def test_headers_are_sent_with_each_request(base_url: str, state: EntityServerState) -> None:
    async with HttpSource(f"{base_url}/secured", headers={"Authorization": "Bearer t0k"}) as source:
        await source.list()
    assert state.last_headers["authorization"] == "Bearer t0k"


async def test_a_server_error_names_source_id_and_status_without_credentials(
    base_url: str,
) -> None:
    url = base_url.replace("http://", "http://user:pa55word@") + "/broken/prompts"
    async with HttpSource(url, headers={"Authorization": "Bearer t0k"}) as source:
        with pytest.raises(SourceBackendError) as caught:
            await source.get("p1")
    message = str(caught.value)
    assert message.startswith(f"HttpSource({base_url}/broken/prompts), entity 'p1': ")
    assert "HTTP 500" in message
    assert "pa55word" not in message and "t0k" not in message


async def test_a_failed_save_raises_instead_of_passing_silently(base_url: str) -> None:
    async with HttpSource(f"{base_url}/broken/prompts") as source:
        with pytest.raises(SourceBackendError, match=r"'p1': PUT answered HTTP 500"):
            await source.save("p1", {"name": "x"})


async def test_an_unreachable_server_raises_a_source_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        async with HttpSource(f"http://127.0.0.1:{port}/prompts") as source:
            with pytest.raises(SourceBackendError, match=r"'p1': GET failed: ConnectError"):
                await source.get("p1")


async def test_a_reply_that_is_not_json_raises_a_source_error(base_url: str) -> None:
    async with HttpSource(f"{base_url}/text/prompts") as source:
        with pytest.raises(SourceBackendError, match=r"not JSON \(text/html"):
            await source.get("p1")


async def test_a_collection_wrapped_in_items_is_listed(
    base_url: str, state: EntityServerState
) -> None:
    state.collections["wrapped-things"] = {"a": ({"id": "a", "name": "A"}, 1)}
    async with HttpSource(f"{base_url}/wrapped/wrapped-things") as source:
        assert await source.list() == [{"id": "a", "name": "A"}]


async def test_a_shared_client_is_left_open(base_url: str) -> None:
    async with httpx.AsyncClient() as client:
        source = HttpSource(f"{base_url}/shared", client=client)
        await source.save("p1", {"name": "x"})
        await source.close()
        assert not client.is_closed
        assert (await client.get(f"{base_url}/shared/p1")).json() == {"id": "p1", "name": "x"}


def test_a_base_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="http\\(s\\) base URL"):
        HttpSource("ftp://example.org/prompts")
