"""The GET event streams' ASGI responses: pulled from a generator, or pushed to by a feed.

Watches and run streams fan one event out to hundreds of clients, and their events are
already encoded once for all of them (`feeds`, `hub`). Per client and per event, the
only work left should be one `send`: sse-starlette's response adds a cancel scope and
an encoding step to every event, which under 500 watchers cost a quarter of the
fan-out. The POST streams keep sse-starlette.

- `EventStreamResponse` sends the bytes of an async generator as they come (a run's
  log, where each client reads at its own pace).
- `PushedResponse` runs a `PushedStream`: its bytes are pushed by whoever has news (a
  watch's feeds), in the feed's own callback, with `start_send`: no task, queue or
  generator step per client and per change. Profiled at 500 watchers, waking one task
  per client and stepping its generators cost as much as the sends themselves.

Both send a keep-alive comment every `ping` seconds and stop when the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Coroutine
from types import CoroutineType
from typing import Any

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

__all__ = ["EventStreamResponse", "PushedResponse", "PushedStream", "start_send"]

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # proxies (nginx) must not hold events back
]
_PING = b": ping\r\n\r\n"


class EventStreamResponse(Response):
    """Stream the encoded SSE events of a generator (see the module docstring)."""

    def __init__(self, events: AsyncGenerator[bytes, None], *, ping: float = 15.0) -> None:
        # Not Response.__init__: there is no body to render; Starlette only calls us.
        self.status_code = 200
        self.background = None
        self.events = events
        self.ping = ping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        tasks = [
            asyncio.ensure_future(self._send_events(send)),
            asyncio.ensure_future(_disconnected(receive)),
        ]
        if self.ping > 0:
            tasks.append(asyncio.ensure_future(self._send_pings(send)))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                failure = None if task.cancelled() else task.exception()
                if failure is not None:
                    raise failure
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.events.aclose()

    async def _send_events(self, send: Send) -> None:
        async for chunk in self.events:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _send_pings(self, send: Send) -> None:
        while True:
            await asyncio.sleep(self.ping)
            await send({"type": "http.response.body", "body": _PING, "more_body": True})


async def _disconnected(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


# -- pushed streams ------------------------------------------------------------------------


def start_send(send: Send, message: Message) -> asyncio.Task[None] | None:
    """Run `send(message)` now, up to where it would wait; None when it is done.

    An ASGI server's `send` writes to the socket at once unless the client is behind
    (flow control), so stepping the coroutine here makes the usual send one plain call.
    When it has to wait, a task finishes it (returned), as a task would have run it.
    """
    sending = send(message)
    if not isinstance(sending, CoroutineType):
        return asyncio.ensure_future(sending)
    try:
        waiting = sending.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_finish(sending, waiting))


async def _finish(sending: Coroutine[Any, Any, None], waiting: Any) -> None:
    # `waiting` is what the coroutine yielded: a future it waits on (asyncio's protocol),
    # or None for a bare yield. Wait for it, then resume the coroutine: exactly what a
    # task does, in this task.
    try:
        while True:
            if waiting is None:
                await asyncio.sleep(0)
            else:
                await asyncio.wait((waiting,))
            waiting = sending.send(None)
    except StopIteration:
        return
    finally:
        sending.close()  # a cancelled send stops where it waits; a finished one: no-op


class PushedStream:
    """One client's event stream, written to from outside by `push`, one send at a time.

    A subclass says what to send next (`next_chunk`) and what to hold while open
    (`open`, `close`). `push` sends every chunk there is, unless a send still waits on a
    client that is behind: then what `next_chunk` gives once that send is done goes
    (for a watch, the newest value), so a slow client never queues anything.
    """

    __slots__ = ("_failure", "_ping", "_ping_every", "_runner", "_send", "_waiting")

    def __init__(self) -> None:
        self._send: Send | None = None  # set while the stream runs
        self._runner: asyncio.Task[Any] | None = None
        self._waiting: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._ping: asyncio.TimerHandle | None = None
        self._ping_every = 0.0

    def next_chunk(self) -> bytes | None:
        """The next bytes to send; None when there is nothing new."""
        raise NotImplementedError

    def open(self) -> None:
        """Start receiving news (and `push` what there already is)."""

    def close(self) -> None:
        """Stop receiving news: the client is gone."""

    def push(self) -> None:
        """Send what there is to send now, in order; never waits."""
        while self._waiting is None and self._send is not None:
            chunk = self.next_chunk()
            if chunk is None:
                return
            self._write(chunk)

    def _write(self, chunk: bytes) -> None:
        assert self._send is not None
        message = {"type": "http.response.body", "body": chunk, "more_body": True}
        try:
            self._waiting = start_send(self._send, message)
        except Exception as exc:
            self._fail(exc)
            return
        if self._waiting is not None:
            self._waiting.add_done_callback(self._sent_late)

    def _sent_late(self, task: asyncio.Task[None]) -> None:
        self._waiting = None
        if task.cancelled():
            return
        failure = task.exception()
        if failure is not None:
            self._fail(failure)
            return
        self.push()

    def _fail(self, failure: BaseException) -> None:
        # The stream's own task waits for the client to go away: stop it, and `run`
        # raises `failure` instead.
        self._send = None
        if self._failure is None and self._runner is not None:
            self._failure = failure
            self._runner.cancel()

    def _keep_alive(self) -> None:
        # A client that is being written to (a send waiting) needs no comment.
        if self._waiting is None and self._send is not None:
            self._write(_PING)
        self._ping = asyncio.get_running_loop().call_later(self._ping_every, self._keep_alive)

    async def run(self, send: Send, receive: Receive, ping: float) -> None:
        """Stream to the client until it goes away (or a send fails: raised)."""
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        self._runner = asyncio.current_task()
        self._send = send
        if ping > 0:
            self._ping_every = ping
            self._ping = asyncio.get_running_loop().call_later(ping, self._keep_alive)
        try:
            self.open()
            # No task of its own for this: the request's task waits, and a failed send
            # cancels it (see `_fail`).
            await _disconnected(receive)
        except asyncio.CancelledError:
            failure = self._failure
            if failure is None or (self._runner is not None and self._runner.uncancel() > 0):
                raise
            raise failure from None
        finally:
            self._send = None
            self._runner = None
            self.close()
            if self._ping is not None:
                self._ping.cancel()
            waiting = self._waiting
            if waiting is not None:
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await waiting


class PushedResponse(Response):
    """Serve a `PushedStream`, holding `hold` (a context manager) while it runs."""

    def __init__(
        self,
        stream: PushedStream,
        *,
        ping: float = 15.0,
        hold: contextlib.AbstractContextManager[Any] | None = None,
    ) -> None:
        # Not Response.__init__: there is no body to render; Starlette only calls us.
        self.status_code = 200
        self.background = None
        self.stream = stream
        self.ping = ping
        self.hold = hold if hold is not None else contextlib.nullcontext()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self.hold:
            await self.stream.run(send, receive, self.ping)
