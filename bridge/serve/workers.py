"""`runnable-bridge serve --workers N`: the playground in N uvicorn worker processes.

Each worker opens its own playground (database engines, model, example app) inside its
own loop, from the options the parent put in the environment. On PostgreSQL the workers
stay coherent through the sources' change feed (`create_app` follows it): a save through
one worker reaches the watchers of every other. The parent opens the playground once
before the workers start, so the tables and the examples exist before any worker races
to make them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import attrs

from bridge.serve.playground import ServeOptions, open_playground

__all__ = ["OPTIONS_VARIABLE", "serve_workers", "worker_app"]

OPTIONS_VARIABLE = "RUNNABLE_BRIDGE_SERVE_OPTIONS"
"""The environment variable that carries a worker's `ServeOptions` (JSON, no API key)."""

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class _WorkerApp:
    """An ASGI app whose lifespan opens the playground and then serves it."""

    def __init__(self, options: ServeOptions) -> None:
        self._options = options
        self._app: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self._app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        async with contextlib.AsyncExitStack() as stack:
            await receive()  # lifespan.startup
            try:
                app = await stack.enter_async_context(open_playground(self._options))
                await stack.enter_async_context(app.router.lifespan_context(app))
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            self._app = app
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})


def worker_app() -> _WorkerApp:
    """The app of one worker (uvicorn's factory), from the options in the environment."""
    given = json.loads(os.environ[OPTIONS_VARIABLE])
    api_key = os.environ.get("OPENAI_API_KEY") or None
    return _WorkerApp(ServeOptions(**given, api_key=api_key))


def serve_workers(options: ServeOptions, workers: int) -> None:
    """Serve the playground in `workers` processes until interrupted."""
    import uvicorn

    asyncio.run(_prepare(options))
    # The key stays in the environment it came from; it never goes into the options text.
    shared = attrs.asdict(attrs.evolve(options, api_key=None, static_dir=None))
    shared.pop("api_key")
    shared.pop("static_dir")
    os.environ[OPTIONS_VARIABLE] = json.dumps(shared)
    uvicorn.run(
        "bridge.serve.workers:worker_app",
        factory=True,
        host=options.host,
        port=options.port,
        workers=workers,
        lifespan="on",
        log_level="info",
    )


async def _prepare(options: ServeOptions) -> None:
    # Tables and seeds made once, here: PostgreSQL refuses two concurrent CREATE TABLEs.
    async with open_playground(options):
        pass
