"""`EventStreamResponse`: a lean ASGI response for the GET event streams.

Watches and run streams fan one event out to hundreds of clients, and their events are
already encoded once for all of them (`feeds`, `hub`). Per client and per event, the
only work left should be one `send`: sse-starlette's response adds a cancel scope and
an encoding step to every event, which under 500 watchers cost a quarter of the
fan-out. This response sends the bytes as they come, a keep-alive comment every `ping`
seconds from a task of its own, and stops (closing the events' generator, so its
`finally` lets go of what it holds) when the events end or the client goes away.
The POST streams keep sse-starlette.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

__all__ = ["EventStreamResponse"]

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # proxies (nginx) must not hold events back
]
_PING = b": ping\r\n\r\n"


class EventStreamResponse(Response):
    """Stream encoded SSE events (see the module docstring)."""

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
