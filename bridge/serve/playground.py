"""The playground server on embedded defaults (what `runnable-bridge serve` runs).

- Entities and runs: a SQLite file in the working directory (`runnable-bridge.sqlite`),
  or the database of `--db` (a SQLAlchemy URL: `postgresql://user@host/db`). Each kind
  has its own table (`SqlSource`); runs go to `ai_runs`/`ai_tasks` (`RunStore`).
- The model: the built-in offline `echo` (`bridge.serve.model`), unless a provider URL
  is given.
- First start: example prompts and evaluators, and the example app (`bridge.serve.seeds`).
- Tools: `convert_units` and `save_note` (`bridge.serve.tools`), offered to every prompt
  and conversation; `GET /info` lists them.

Everything is opened inside the loop that serves, because the database engines belong
to the loop they were first used on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
from starlette.applications import Starlette

from bridge.defaults import create_default_bridge
from bridge.demo.services import app_service
from bridge.serve.model import model_endpoint
from bridge.serve.seeds import seed
from bridge.serve.tools import playground_tools
from bridge.server import PLAYGROUND_DIR, create_app
from molecules import Store
from runnable.http.serving import serve_in_thread
from runnable.sources import SqlSource
from runnable.sources.database import database_url
from runnable.tracking import RunStore

__all__ = [
    "DEFAULT_DATABASE",
    "ENTITY_TABLES",
    "ServeOptions",
    "open_playground",
    "playground_in_thread",
    "serve",
]

_log = logging.getLogger("bridge.serve")

DEFAULT_DATABASE = "runnable-bridge.sqlite"
"""The SQLite file (in the working directory) used when no database URL is given."""

ENTITY_TABLES: Mapping[str, str] = {
    "prompt": "prompts",
    "builtin": "prompt_builtins",
    "action": "prompt_actions",
    "app_revision": "app_revisions",
    "evaluator_revision": "evaluator_revisions",
}
"""The table of each kind's entities."""


@attrs.frozen
class ServeOptions:
    """How to serve: where, which database, which model (see the module docstring)."""

    host: str = "127.0.0.1"
    port: int = 8000
    db: str | None = None
    provider_url: str | None = None
    api_key: str | None = attrs.field(default=None, repr=False)
    model: str | None = None
    db_schema: str | None = None
    echo_delay: float = 0.04
    seed: bool = True
    static_dir: Path | None = PLAYGROUND_DIR
    keep_finished_runs: int = 200


@contextlib.asynccontextmanager
async def open_playground(options: ServeOptions = ServeOptions()) -> AsyncIterator[Starlette]:
    """Open the database, the model and the example app; yield the playground's app."""
    target = options.db or str(Path(DEFAULT_DATABASE).resolve())
    url = database_url(target)
    is_sqlite = url.get_backend_name() == "sqlite"
    with contextlib.ExitStack() as threads:
        endpoint = threads.enter_context(
            model_endpoint(
                options.provider_url,
                options.api_key,
                model=options.model,
                echo_delay=options.echo_delay,
            )
        )
        app_url = threads.enter_context(serve_in_thread(app_service())) if options.seed else None
        schema = options.db_schema
        sources = {
            kind: SqlSource(url, table, schema=schema) for kind, table in ENTITY_TABLES.items()
        }
        # This process owns a SQLite file: runs a killed server left open are ended. On a
        # shared database another live server's runs must not be.
        run_store = await RunStore.open(url, schema=schema, recover=is_sqlite)
        try:
            for source in sources.values():
                await source.init()  # every table now: workers must not race to make them
            if options.seed and await seed(sources, app_url=app_url):
                _log.info("seeded the example prompts, app and evaluators")
            tools = playground_tools()
            bridge = create_default_bridge(
                sources, provider=endpoint.provider, run_store=run_store, tools=tools
            )
            info: dict[str, Any] = {
                "model": endpoint.describe(),
                "tools": [
                    {
                        "name": spec["function"]["name"],
                        "description": spec["function"]["description"],
                        "requires_approval": tools.requires_approval(spec["function"]["name"]),
                    }
                    for spec in tools.specs()
                ],
                "database": run_store.url,
                "example_app": app_url,
                # Which process answered: with --workers N there are N of them.
                "worker_pid": os.getpid(),
            }
            app = create_app(
                bridge,
                Store(),
                run_store=run_store,
                info=info,
                static_dir=options.static_dir,
                keep_finished_runs=options.keep_finished_runs,
            )
            try:
                yield app
            finally:
                await app.state.bridge_context.aclose()
        finally:
            await endpoint.provider.aclose()
            await run_store.close()
            for source in sources.values():
                await source.close()


async def serve(options: ServeOptions = ServeOptions()) -> None:
    """Serve the playground with uvicorn until interrupted."""
    import uvicorn

    async with open_playground(options) as app:
        config = uvicorn.Config(
            app, host=options.host, port=options.port, lifespan="on", log_level="info"
        )
        await uvicorn.Server(config).serve()


_STARTUP_TIMEOUT = 30.0


@contextlib.contextmanager
def playground_in_thread(options: ServeOptions = ServeOptions(port=0)) -> Iterator[str]:
    """Serve the playground in a background thread (its own loop) until the block ends.

    Yields the base URL. Port 0 binds a free port. Tests and browser tests use it.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((options.host, options.port))
    bound = sock.getsockname()[1]
    ready = threading.Event()
    servers: list[uvicorn.Server] = []
    failures: list[BaseException] = []

    async def main() -> None:
        async with open_playground(options) as app:
            config = uvicorn.Config(
                app,
                lifespan="on",
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=1,
            )
            server = uvicorn.Server(config)
            servers.append(server)
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started and not serving.done():
                await asyncio.sleep(0.005)
            ready.set()
            await serving

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            failures.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name=f"playground-{bound}", daemon=True)
    thread.start()
    ready.wait(_STARTUP_TIMEOUT)
    if failures or not servers or not servers[0].started:
        if servers:
            servers[0].should_exit = True
        thread.join(timeout=5)
        sock.close()
        raise RuntimeError(f"the playground on {options.host}:{bound} did not start") from (
            failures[0] if failures else None
        )
    try:
        yield f"http://{options.host}:{bound}"
    finally:
        servers[0].should_exit = True
        thread.join(timeout=10)
        sock.close()
