"""Pushed event streams: one send per chunk, stepped in place; a client that is behind coalesces.

These drive `PushedStream` through the ASGI contract itself (a `send` coroutine that may
wait, a `receive` that reports the disconnect); the real server's side is in
`test_watch.py`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bridge.server.eventstream import PushedStream, start_send

Message = dict[str, Any]


class Client:
    """An ASGI client: records what is sent; holds sends while `gate` is not done."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.gate: asyncio.Future[None] | None = None
        self.gone = asyncio.Event()
        self.failure: Exception | None = None

    async def send(self, message: Message) -> None:
        if self.gate is not None:
            await self.gate
        if self.failure is not None:
            raise self.failure
        if message["type"] == "http.response.body":
            self.bodies.append(message["body"])

    async def receive(self) -> Message:
        await self.gone.wait()
        return {"type": "http.disconnect"}


class Counter(PushedStream):
    """Sends the newest of a counter's values, as `n\\n`."""

    __slots__ = ("closed", "sent", "value")

    def __init__(self) -> None:
        super().__init__()
        self.value = 0
        self.sent = 0
        self.closed = False

    def set(self, value: int) -> None:
        self.value = value
        self.push()

    def next_chunk(self) -> bytes | None:
        if self.sent == self.value:
            return None
        self.sent = self.value
        return b"%d\n" % self.value

    def close(self) -> None:
        self.closed = True


async def started(stream: Counter, client: Client, ping: float = 0) -> asyncio.Task[None]:
    task = asyncio.create_task(stream.run(client.send, client.receive, ping))
    await asyncio.sleep(0)
    return task


async def test_a_send_that_need_not_wait_is_done_in_place_without_a_task() -> None:
    client = Client()
    assert start_send(client.send, {"type": "http.response.body", "body": b"x"}) is None
    assert client.bodies == [b"x"]


async def test_a_send_that_must_wait_is_finished_by_a_task_once_it_may_go_on() -> None:
    client = Client()
    client.gate = asyncio.get_running_loop().create_future()
    finishing = start_send(client.send, {"type": "http.response.body", "body": b"x"})
    assert finishing is not None
    await asyncio.sleep(0.01)
    assert client.bodies == [] and not finishing.done()
    client.gate.set_result(None)
    await finishing
    assert client.bodies == [b"x"]


async def test_each_value_is_sent_at_once_while_the_client_keeps_up() -> None:
    client, stream = Client(), Counter()
    task = await started(stream, client)
    for value in range(1, 6):
        stream.set(value)
        assert client.bodies[-1] == b"%d\n" % value  # in place: no loop turn needed
    client.gone.set()
    await task
    assert client.bodies == [b"%d\n" % v for v in range(1, 6)]


async def test_a_client_that_is_behind_gets_the_newest_value_when_its_send_is_done() -> None:
    client, stream = Client(), Counter()
    task = await started(stream, client)
    client.gate = asyncio.get_running_loop().create_future()
    stream.set(1)  # this send waits
    for value in range(2, 50):
        stream.set(value)  # skipped: a send is in flight
    client.gate.set_result(None)
    client.gate = None
    await asyncio.sleep(0.01)
    assert client.bodies == [b"1\n", b"49\n"]
    client.gone.set()
    await task


async def test_a_disconnect_ends_the_stream_and_closes_it_even_mid_send() -> None:
    client, stream = Client(), Counter()
    task = await started(stream, client)
    client.gate = asyncio.get_running_loop().create_future()
    stream.set(1)
    client.gone.set()
    await asyncio.wait_for(task, 1)
    assert stream.closed
    stream.set(2)  # nothing is sent once closed
    assert client.bodies == []


async def test_a_send_that_fails_ends_the_stream_with_its_error() -> None:
    client, stream = Client(), Counter()
    task = await started(stream, client)
    client.failure = RuntimeError("the socket broke")
    stream.set(1)
    with pytest.raises(RuntimeError, match="the socket broke"):
        await asyncio.wait_for(task, 1)
    assert stream.closed


async def test_an_idle_stream_sends_keep_alive_comments() -> None:
    client, stream = Client(), Counter()
    task = await started(stream, client, ping=0.02)
    await asyncio.sleep(0.1)
    client.gone.set()
    await task
    assert len(client.bodies) >= 2
    assert set(client.bodies) == {b": ping\r\n\r\n"}
