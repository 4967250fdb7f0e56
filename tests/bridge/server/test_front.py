"""The front of `serve --workers N`: heads parsed, each request routed to its session's worker.

The workers here are small ASGI apps served by uvicorn on Unix sockets (each in its own
thread and loop); the front runs in the test's loop and clients speak raw HTTP/1.1 to
it, so what goes over one kept-alive connection is exactly what the test wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import uvicorn
from hypothesis import given
from hypothesis import strategies as st

from bridge.serve.front import MAX_HEAD, BadHeadError, Front, RequestHead, parse_head, worker_for
from tests.bridge.server.conftest import session_for

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 5.0


# -- the head and the choice of worker -------------------------------------------------------


def head(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def test_a_head_names_its_session_by_header_else_by_cookie() -> None:
    assert parse_head(head("GET / HTTP/1.1", "X-Session: abc")).session == "abc"
    assert parse_head(head("GET / HTTP/1.1", "X-SESSION:  AbC ")).session == "AbC"
    assert parse_head(head("GET / HTTP/1.1", "Cookie: a=1; rb_session=xyz")).session == "xyz"
    both = head("GET / HTTP/1.1", "cookie: rb_session=xyz", "x-session: abc")
    assert parse_head(both).session == "abc"
    empty_header = head("GET / HTTP/1.1", "X-Session: ", "Cookie: rb_session=xyz")
    assert parse_head(empty_header).session == "xyz"
    assert parse_head(head("GET / HTTP/1.1", "Cookie: other=1")).session is None
    assert parse_head(head("GET / HTTP/1.1", "Host: x")) == RequestHead(session=None)


def test_a_head_gives_its_body_length_and_pins_what_has_no_length() -> None:
    posted = parse_head(head("POST /x HTTP/1.1", "Content-Length: 12"))
    assert (posted.content_length, posted.pinned) == (12, False)
    chunked = parse_head(head("POST /x HTTP/1.1", "Transfer-Encoding: chunked"))
    assert chunked.pinned and chunked.content_length == 0
    assert parse_head(head("GET /x HTTP/1.1", "Connection: Upgrade", "Upgrade: websocket")).pinned
    repeated = head("POST /x HTTP/1.1", "Content-Length: 3", "Content-Length: 3")
    assert parse_head(repeated).content_length == 3


@pytest.mark.parametrize(
    ("given_head", "says"),
    [
        (head("GET / HTTP/1.1", "Content-Length: 3", "Transfer-Encoding: chunked"), "not both"),
        (head("POST / HTTP/1.1", "Content-Length: 3", "Content-Length: 4"), "one whole number"),
        (head("POST / HTTP/1.1", "Content-Length: -1"), "one whole number"),
        (head("GET /"), "request line"),
        (head("GET / HTTP/2.0"), "request line"),
        (head("GET  / HTTP/1.1"), "request line"),
        (head("GET / HTTP/1.1", "no colon here"), "header line"),
        (head("GET / HTTP/1.1", " folded: value"), "header line"),
        (b"GET / HTTP/1.1\r\n", "empty line"),
        (head("GET / HTTP/1.1", "X-Session: a\nContent-Length: 5"), "header line"),
    ],
)
def test_a_malformed_head_is_refused_with_a_400_saying_why(given_head: bytes, says: str) -> None:
    with pytest.raises(BadHeadError, match=says) as refused:
        parse_head(given_head)
    assert refused.value.status == 400


session_ids = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
    min_size=1,
    max_size=64,
)


@given(session=session_ids, workers=st.integers(min_value=1, max_value=64))
def test_a_session_goes_to_one_worker_in_range(session: str, workers: int) -> None:
    chosen = worker_for(session, workers)
    assert 0 <= chosen < workers
    assert worker_for(session, workers) == chosen
    assert worker_for(session, 1) == 0


def test_no_session_and_the_default_session_go_to_worker_zero() -> None:
    assert worker_for(None, 4) == 0
    assert worker_for("default", 4) == 0


def test_the_choice_is_the_same_in_every_process_whatever_its_hash_seed() -> None:
    ids = [f"session-{i}" for i in range(50)]
    here = [worker_for(s, 7) for s in ids]
    code = (
        "import json, sys; from bridge.serve.front import worker_for; "
        "print(json.dumps([worker_for(s, 7) for s in json.loads(sys.argv[1])]))"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        out = subprocess.run(
            [sys.executable, "-c", code, json.dumps(ids)], env=env, capture_output=True, check=True
        )
        assert json.loads(out.stdout) == here


def test_sessions_spread_over_the_workers() -> None:
    counts = [0, 0]
    for i in range(2000):
        counts[worker_for(f"browser-{i}", 2)] += 1
    assert min(counts) > 800


# -- the front over real workers ---------------------------------------------------------------


@attrs.define
class Worker:
    """What a test worker saw, shared with the test's thread."""

    index: int
    release: threading.Event = attrs.field(factory=threading.Event)
    disconnected: threading.Event = attrs.field(factory=threading.Event)


def worker_app(worker: Worker) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] in ("/stream", "/forever"):
            sse = [(b"content-type", b"text/event-stream")]
            await send({"type": "http.response.start", "status": 200, "headers": sse})
            await send(
                {"type": "http.response.body", "body": b"data: first\n\n", "more_body": True}
            )
            if scope["path"] == "/forever":
                await receive()  # http.disconnect: the client left
                worker.disconnected.set()
                return
            while not worker.release.is_set():
                await asyncio.sleep(0.01)
            await send({"type": "http.response.body", "body": b"data: last\n\n"})
            return
        headers = dict(scope["headers"])
        answer = json.dumps(
            {
                "worker": worker.index,
                "session": headers.get(b"x-session", b"").decode(),
                "length": len(body),
                "sha": hashlib.sha256(body).hexdigest(),
            }
        ).encode()
        extra = [(b"connection", b"close")] if scope["path"] == "/close" else []
        length = [(b"content-length", str(len(answer)).encode())]
        start = [(b"content-type", b"application/json"), *length, *extra]
        await send({"type": "http.response.start", "status": 200, "headers": start})
        await send({"type": "http.response.body", "body": answer})

    return app


@pytest.fixture
def workers() -> Iterator[tuple[list[Worker], list[str]]]:
    folder = tempfile.mkdtemp(prefix="rb-front-")  # short: a socket path has at most 107 bytes
    seen = [Worker(0), Worker(1)]
    servers: list[uvicorn.Server] = []
    threads: list[threading.Thread] = []
    sockets = [os.path.join(folder, f"w{i}.sock") for i in range(2)]
    try:
        for worker, path in zip(seen, sockets, strict=True):
            config = uvicorn.Config(
                worker_app(worker), uds=path, lifespan="off", log_level="warning"
            )
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            servers.append(server)
            threads.append(thread)
        deadline = time.monotonic() + 10
        while not all(server.started for server in servers):
            assert time.monotonic() < deadline, "the test workers did not start"
            time.sleep(0.01)
        yield seen, sockets
    finally:
        for worker in seen:
            worker.release.set()
        for server in servers:
            server.should_exit = True
        for thread in threads:
            thread.join(timeout=5)
        shutil.rmtree(folder, ignore_errors=True)


@attrs.define
class Served:
    front: Front
    port: int
    workers: list[Worker]


@pytest.fixture
async def served(workers: tuple[list[Worker], list[str]]) -> AsyncIterator[Served]:
    seen, sockets = workers
    front = Front(sockets)
    server = await front.listen("127.0.0.1", 0)
    await server.start_serving()
    try:
        yield Served(front, server.sockets[0].getsockname()[1], seen)
    finally:
        server.close()
        await front.close()
        await server.wait_closed()


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


Connect = Callable[[int], Awaitable[Connection]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Open client connections to a port; all closed when the test ends."""
    opened: list[asyncio.StreamWriter] = []

    async def open_one(port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        opened.append(writer)
        return reader, writer

    yield open_one
    for writer in opened:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def ask(
    connection: Connection, request: str, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """Send one request over `connection`; its status, headers and body."""
    reader, writer = connection
    writer.write(request.encode("latin-1") + body)
    await writer.drain()
    raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    status_line, *lines = raw.decode("latin-1").split("\r\n")[:-2]
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines)}
    length = int(headers.get("content-length", "0"))
    return int(status_line.split(" ")[1]), headers, await reader.readexactly(length)


def get(path: str = "/", *extra: str) -> str:
    return "\r\n".join([f"GET {path} HTTP/1.1", "Host: front", *extra]) + "\r\n\r\n"


def post(session: str, *extra: str) -> str:
    return get("/upload", f"X-Session: {session}", *extra).replace("GET", "POST", 1)


async def test_each_request_of_one_connection_goes_to_its_sessions_worker(
    served: Served, connect: Connect
) -> None:
    one, zero = session_for(1), session_for(0)
    connection = await connect(served.port)
    asked = [
        (get("/", f"X-Session: {one}"), 1),
        (get("/", f"X-Session: {zero}"), 0),
        (get("/"), 0),
        (get("/", f"Cookie: rb_session={one}"), 1),
        (get("/", f"Cookie: rb_session={one}", f"X-Session: {zero}"), 0),
        (get("/", "X-Session: default"), 0),
    ]
    for request, expected in asked:
        status, _, body = await ask(connection, request)
        assert status == 200 and json.loads(body)["worker"] == expected
    assert served.front.connections == 1


async def test_a_body_reaches_its_worker_whole_and_the_next_request_routes_anew(
    served: Served, connect: Connect
) -> None:
    connection = await connect(served.port)
    payload = os.urandom(300_000)
    request = post(session_for(1), f"Content-Length: {len(payload)}")
    _, _, body = await ask(connection, request, payload)
    answer = json.loads(body)
    assert answer["worker"] == 1 and answer["length"] == len(payload)
    assert answer["sha"] == hashlib.sha256(payload).hexdigest()
    _, _, body = await ask(connection, get("/", f"X-Session: {session_for(0)}"))
    assert json.loads(body)["worker"] == 0


async def test_a_chunked_body_pins_the_rest_of_the_connection_to_its_worker(
    served: Served, connect: Connect
) -> None:
    connection = await connect(served.port)
    request = post(session_for(1), "Transfer-Encoding: chunked")
    status, _, body = await ask(connection, request, b"5\r\nhello\r\n0\r\n\r\n")
    assert status == 200 and json.loads(body)["length"] == 5
    _, _, body = await ask(connection, get("/", f"X-Session: {session_for(0)}"))
    assert json.loads(body)["worker"] == 1  # pinned, as documented


async def test_an_event_stream_reaches_the_client_while_the_worker_still_writes(
    served: Served, connect: Connect
) -> None:
    reader, writer = await connect(served.port)
    writer.write(get("/stream", f"X-Session: {session_for(1)}").encode())
    head_bytes = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    assert b"text/event-stream" in head_bytes
    first = await asyncio.wait_for(reader.readuntil(b"data: first\n\n"), TIMEOUT)
    assert first.endswith(b"data: first\n\n")  # the worker holds the rest until released
    served.workers[1].release.set()
    rest = await asyncio.wait_for(reader.readuntil(b"data: last\n\n"), TIMEOUT)
    assert b"data: last" in rest


async def test_a_client_that_leaves_closes_its_upstream_connections(
    served: Served, connect: Connect
) -> None:
    reader, writer = await connect(served.port)
    writer.write(get("/forever", f"X-Session: {session_for(0)}").encode())
    await asyncio.wait_for(reader.readuntil(b"data: first\n\n"), TIMEOUT)
    assert served.front.connections == 1
    writer.close()
    assert await asyncio.to_thread(served.workers[0].disconnected.wait, TIMEOUT)
    for _ in range(500):
        if served.front.connections == 0:
            break
        await asyncio.sleep(0.01)
    assert served.front.connections == 0


async def test_a_worker_that_closes_its_connection_closes_the_clients(
    served: Served, connect: Connect
) -> None:
    connection = await connect(served.port)
    await ask(connection, get("/", f"X-Session: {session_for(1)}"))
    status, headers, _ = await ask(connection, get("/close", f"X-Session: {session_for(1)}"))
    assert status == 200 and headers["connection"] == "close"
    assert await asyncio.wait_for(connection[0].read(), TIMEOUT) == b""


async def test_a_head_past_the_limit_is_a_431_and_a_malformed_one_a_400(
    served: Served, connect: Connect
) -> None:
    big = get("/", f"X-Big: {'x' * MAX_HEAD}")
    status, _, body = await ask(await connect(served.port), big)
    assert status == 431 and str(MAX_HEAD).encode() in body
    status, _, body = await ask(await connect(served.port), "GET / HTTP/1.1\r\nnonsense\r\n\r\n")
    assert status == 400 and b"header line" in body


async def test_a_worker_that_does_not_answer_is_a_502(connect: Connect) -> None:
    front = Front(["/nonexistent/rb-front.sock"])
    server = await front.listen("127.0.0.1", 0)
    await server.start_serving()
    try:
        connection = await connect(server.sockets[0].getsockname()[1])
        status, headers, body = await ask(connection, get("/"))
        assert status == 502 and b"worker 0" in body and headers["connection"] == "close"
    finally:
        server.close()
        await front.close()
        await server.wait_closed()
