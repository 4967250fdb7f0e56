"""Serve an ASGI app (for example a `create_service` app) in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

_STARTUP_TIMEOUT = 10.0


@contextmanager
def serve_in_thread(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    lifespan: Literal["auto", "on", "off"] = "off",
) -> Iterator[str]:
    """Serve `app` with uvicorn until the block ends; yields its base URL.

    `lifespan="on"` runs the app's startup and shutdown (off by default).

    Port 0 binds a free port: the socket is bound here, so no other process can take the
    port between choosing and listening. Needs the `server` extra (uvicorn).
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit NODELAY; without it a reply written in two parts waits
    # ~40 ms for the client's delayed ACK (uvicorn sets it only on sockets it makes).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan=lifespan, timeout_graceful_shutdown=1, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{bound}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the server on {host}:{bound} did not start")
        time.sleep(0.005)
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        # Open streams must not hold the caller hostage.
        server.force_exit = True
        thread.join(timeout=5)
        sock.close()
