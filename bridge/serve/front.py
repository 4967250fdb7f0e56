"""The front of `serve --workers N`: one public port, each request sent to its session's worker.

Why it exists: a session's drafts, its live runs and its conversations live in the
memory of the worker process that made them (`bridge.server.sessions`). When the kernel
spreads connections over the workers (uvicorn's own `--workers`), one browser's requests
land on different workers, and a draft, a run's stream or a conversation is there one
request and missing the next. Saved entities stay coherent (the change feed); this
per-process state cannot. So the front does what a sticky load balancer does: the
workers listen on Unix sockets of their own, and the front routes each request by the
session it names.

- The session: the `X-Session` header, else the `rb_session` cookie (as the server reads
  it). A request naming none, or the default session, goes to worker 0: the default
  session is one shared store, which must live in one place.
- The worker: crc32 of the session id, modulo N. Python's `hash` is salted per process;
  crc32 gives the same worker in every process and after every restart.
- Per request, not per connection: a kept-alive connection may carry requests of several
  sessions. Each request head is parsed (at most `MAX_HEAD` bytes: a larger head is a
  431, a malformed one a 400) and sent, with its `Content-Length` body, to its worker over
  that worker's connection for this client (opened on first use, one per worker).
- Every upstream connection's bytes are piped back to the client as they come, so an
  EventSource answer streams. This relies on HTTP/1.1 clients not pipelining (httpx and
  browsers send the next request after the previous answer): answers of two workers
  could otherwise interleave.
- A body of unknown length (`Transfer-Encoding: chunked`) or an `Upgrade` pins the rest
  of the connection to that request's worker: everything the client sends goes there.
- Closing: the client closing closes every upstream; the worker that answers the
  current request closing (`Connection: close`, its keep-alive timeout, its death)
  closes the client. An idle upstream closing is only forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import zlib
from collections.abc import Sequence

import attrs
from starlette.requests import cookie_parser

from bridge.server.sessions import COOKIE, DEFAULT_SESSION, HEADER

__all__ = ["MAX_HEAD", "BadHeadError", "Front", "RequestHead", "parse_head", "worker_for"]

MAX_HEAD = 64 * 1024
"""The largest request head (request line and headers) the front reads, in bytes."""

_CHUNK = 64 * 1024
# One match checks the whole head in C (the request line, then every header line ending
# in CRLF with no bare CR or LF inside); a second picks out the few headers routing reads.
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_REQUEST_LINE = re.compile(_TOKEN + rb" [^ \r\n]+ HTTP/1\.[01]\r\n")
_HEAD = re.compile(_REQUEST_LINE.pattern + rb"(?:" + _TOKEN + rb":[^\r\n]*\r\n)*\r\n")
# Found in the lowered head, read from the head itself (a session id keeps its case).
_ROUTING = re.compile(rb"\r\n(x-session|cookie|content-length|transfer-encoding|upgrade):")
_DIGITS = re.compile(r"[0-9]+")


class BadHeadError(Exception):
    """A request head the front refuses (answered with `status`, then the connection closes)."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason


@attrs.frozen
class RequestHead:
    """What routing needs from a request head."""

    session: str | None
    content_length: int = 0
    pinned: bool = False
    """A body of unknown length or an upgrade: the rest of the connection goes to one worker."""


def parse_head(head: bytes) -> RequestHead:
    """Read a request head (request line and header lines, each ending in CRLF, then CRLF)."""
    if not _HEAD.fullmatch(head):
        if not head.endswith(b"\r\n\r\n"):
            detail = "the request head does not end with an empty line"
        elif not _REQUEST_LINE.match(head):
            detail = "the request line is not 'METHOD target HTTP/1.x'"
        else:
            detail = "a header line is not 'Name: value'"
        raise BadHeadError(400, "Bad Request", detail)
    fields: dict[str, list[str]] = {}
    for found in _ROUTING.finditer(head.lower()):
        value = head[found.end() : head.index(b"\r\n", found.end())].strip(b" \t")
        fields.setdefault(found.group(1).decode(), []).append(value.decode("latin-1"))
    lengths = set(fields.get("content-length", []))
    chunked = "transfer-encoding" in fields
    if lengths and chunked:
        raise BadHeadError(
            400, "Bad Request", "a request has Content-Length or Transfer-Encoding, not both"
        )
    if len(lengths) > 1 or not all(_DIGITS.fullmatch(length) for length in lengths):
        raise BadHeadError(400, "Bad Request", "Content-Length is not one whole number")
    # As the server reads it: the first X-Session if not empty, else the first Cookie's.
    session = (fields.get(HEADER) or [""])[0]
    if not session and "cookie" in fields:
        session = cookie_parser(fields["cookie"][0]).get(COOKIE, "")
    return RequestHead(
        session=session or None,
        content_length=int(lengths.pop()) if lengths else 0,
        pinned=chunked or "upgrade" in fields,
    )


def worker_for(session: str | None, workers: int) -> int:
    """The worker (0 to `workers` - 1) of a session; no session and the default one: 0."""
    if session is None or session == DEFAULT_SESSION:
        return 0
    return zlib.crc32(session.encode("latin-1", "replace")) % workers


class Front:
    """Routes each request of its clients to a worker's Unix socket (see the module docstring)."""

    def __init__(self, sockets: Sequence[str]) -> None:
        self.sockets = tuple(sockets)
        self._connections: dict[asyncio.Task[None], _Connection] = {}

    @property
    def connections(self) -> int:
        """How many client connections are open."""
        return len(self._connections)

    async def listen(self, host: str, port: int) -> asyncio.Server:
        """A server on `host:port` for this front, bound but not yet accepting."""
        return await asyncio.start_server(
            self.serve_client, host, port, limit=MAX_HEAD, start_serving=False
        )

    async def serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve one client connection until either side closes it."""
        task = asyncio.current_task()
        assert task is not None
        connection = self._connections[task] = _Connection(self.sockets, reader, writer)
        try:
            await connection.serve()
        finally:
            del self._connections[task]

    async def close(self) -> None:
        """Close every client connection (and so its upstream connections)."""
        # Closed, not cancelled: asyncio logs a cancelled connection task as an error.
        for connection in self._connections.values():
            connection.close()
        await asyncio.gather(*self._connections, return_exceptions=True)


class _Connection:
    """One client connection and its upstream connections, at most one per worker."""

    def __init__(
        self, sockets: tuple[str, ...], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._sockets = sockets
        self._reader = reader
        self._client = writer
        self._upstreams: dict[int, asyncio.StreamWriter] = {}
        self._pipes: set[asyncio.Task[None]] = set()
        self._current = -1  # the worker answering the latest request

    async def serve(self) -> None:
        try:
            await self._requests()
        except (ConnectionError, OSError):
            pass  # either side went away mid-request: everything closes below
        finally:
            self.close()
            for pipe in self._pipes:
                pipe.cancel()
            await asyncio.gather(*self._pipes, return_exceptions=True)
            with contextlib.suppress(ConnectionError, OSError):
                await self._client.wait_closed()

    def close(self) -> None:
        """Close the client's connection and every upstream one; `serve` then returns."""
        self._client.close()
        for upstream in list(self._upstreams.values()):
            upstream.close()

    async def _requests(self) -> None:
        while True:
            try:
                head = (await self._reader.readuntil(b"\r\n\r\n")).lstrip(b"\r\n")
            except asyncio.IncompleteReadError:
                return  # the client closed
            except asyncio.LimitOverrunError:
                await self._refuse(
                    431,
                    "Request Header Fields Too Large",
                    f"the request head passed {MAX_HEAD} bytes",
                )
                return
            if not head:
                continue  # blank lines between requests are allowed
            try:
                request = parse_head(head)
            except BadHeadError as exc:
                await self._refuse(exc.status, exc.reason, str(exc))
                return
            index = worker_for(request.session, len(self._sockets))
            upstream = await self._upstream(index)
            if upstream is None:
                await self._refuse(502, "Bad Gateway", f"worker {index} is not answering")
                return
            self._current = index
            upstream.write(head)
            if request.pinned:
                await _copy(self._reader, upstream, None)
                return
            if not await _copy(self._reader, upstream, request.content_length):
                return  # the client closed inside a body

    async def _upstream(self, index: int) -> asyncio.StreamWriter | None:
        found = self._upstreams.get(index)
        if found is not None and not found.is_closing():
            return found
        try:
            reader, writer = await asyncio.open_unix_connection(self._sockets[index])
        except OSError:
            return None
        self._upstreams[index] = writer
        pipe = asyncio.create_task(self._pipe(index, reader, writer))
        self._pipes.add(pipe)
        pipe.add_done_callback(self._pipes.discard)
        return writer

    async def _pipe(
        self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Copy one worker's answers to the client until the worker closes."""
        try:
            while data := await reader.read(_CHUNK):
                self._client.write(data)
                await self._client.drain()
        except (ConnectionError, OSError):
            self._client.close()  # a lost client or worker: nothing more can be answered
        finally:
            writer.close()
            if self._upstreams.get(index) is writer:
                del self._upstreams[index]
        if index == self._current:
            self._client.close()  # its answer ends with its connection: so does the client's

    async def _refuse(self, status: int, reason: str, detail: str) -> None:
        body = (detail + "\n").encode()
        self._client.write(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
            + body
        )
        await self._client.drain()


async def _copy(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, size: int | None
) -> bool:
    """Copy `size` bytes (None: until the end) from reader to writer; False if it ended first."""
    await writer.drain()
    while size is None or size > 0:
        data = await reader.read(_CHUNK if size is None else min(size, _CHUNK))
        if not data:
            return size is None
        writer.write(data)
        await writer.drain()
        if size is not None:
            size -= len(data)
    return True
