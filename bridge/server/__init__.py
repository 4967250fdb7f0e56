"""`create_app`: an ASGI (Starlette) app that serves a bridge's runnables over HTTP and SSE.

A UI backend mounts it (or serves it alone, as `runnable-bridge serve` does) to let
browsers list runnables, edit their drafts (each session its own), watch their selectors
change, run them server-side and follow the runs, and hold conversations:

```
GET    /                                   the playground page (static files)
GET    /info                               the session, the kinds, the model served
GET    /runnables?kind=&limit=&offset=     {"items": [RunnableData], "total"}
GET    /runnables/{ref}                    the selectors (data, query, is_dirty, input_ports,
                                           output_ports, configuration, invocation_url,
                                           schemas) and the kind's entity, as JSON
GET    /runnables/{ref}/watch?selectors=   EventSource: each selector's newest value
PATCH  /runnables/{ref}                    merge a JSON object into the session's draft
POST   /runnables/{ref}/save | /discard    write the draft through the source | drop it
POST   /runnables/{ref}/execute            {"inputs": {...}} -> ExecutionResult JSON
POST   /runnables/{ref}/stream             {"inputs": {...}} -> SSE: chunk..., done | error
POST   /chains/run                         {"chain", "testcase"} -> SSE of the run's events
GET    /openapi.json                       the OpenAPI document of the runnable routes
POST   /runnables/{ref}/runs, /chains/runs start a run server-side -> {"run_id"}
GET    /runs/{id}/events                   EventSource: chunk, node, row..., done (resumable)
POST   /runs/{id}/cancel                   stop a run
GET    /runs, /runs/{id}                   runs from the run store
...    /conversations[/{id}[/...]]         conversations (see bridge.server.conversations)
```

`{ref}` is "kind:id" or a bare id. Bodies are checked whole before anything is applied
(`bridge.server.json.read_json_body`). Errors are `{"detail": "..."}`: 400 for a
malformed ref or body (not JSON, NaN, a lone surrogate, nesting past 64), bad inputs
(with `errors` by input) or a refused draft, 404 for a runnable no kind has, 409 for a
save made on an older version than the stored one (with `entity_id`,
`expected_version` and `current_version`; nothing written, the draft kept) or another
conflict with the state (a run that ended, a turn in flight), 413 for a body over 1 MB,
415 for one that is not JSON, 501 for what this server cannot do, 502 when a service it
calls failed. Values are JSON (`model_dump(mode="json")`) with secret-named keys
redacted. On PostgreSQL sources the app follows their change feed while it runs (its
lifespan), so a save through another worker reaches the default session's watchers.
Sessions: `bridge.server.sessions`; runs: `bridge.server.runs` and `bridge.server.hub`.

The starlette, sse-starlette and uvicorn packages come with the `server` extra; this
module imports them only when `create_app` is called.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from bridge.bridge import RunnableBridge
    from molecules import Store
    from runnable.tracking import RunStore

__all__ = ["PLAYGROUND_DIR", "create_app"]

_EXTRA = ("starlette", "sse_starlette")
_log = logging.getLogger("bridge.server")
_REF_TEMPLATE = "#/components/schemas/{model}"

PLAYGROUND_DIR = Path(__file__).resolve().parents[1] / "playground" / "static"
"""The playground page's files, served at `/`."""


def create_app(
    bridge: RunnableBridge,
    store: Store | None = None,
    *,
    ping: float = 15.0,
    chain_options: Mapping[str, Any] | None = None,
    cancel_timeout: float = 5.0,
    run_store: RunStore | None = None,
    record_runs: bool = True,
    info: Mapping[str, Any] | None = None,
    static_dir: Path | None = PLAYGROUND_DIR,
    max_sessions: int = 1000,
    keep_finished_runs: int = 200,
) -> Starlette:
    """An ASGI app serving `bridge`'s runnables, with the default session's state in `store`.

    `ping` is the seconds between SSE keep-alive comments (0 for none); `chain_options`
    go to every chain run (max_concurrency, retry...); `cancel_timeout` bounds how long a
    disconnected client's POST stream is given to stop. `run_store` lists runs and
    replays finished ones; with `record_runs` the runs started here are recorded in it.
    `info` is shown by `GET /info` (say which model is served); `static_dir` is served
    at `/` (None: no page). Other sessions get stores of their own (at most
    `max_sessions`); `keep_finished_runs` finished runs stay in memory for replay.
    """
    try:
        from starlette.applications import Starlette
        from starlette.exceptions import HTTPException
        from starlette.middleware import Middleware
        from starlette.routing import Mount
        from starlette.staticfiles import StaticFiles

        from bridge.server.app import BridgeApi
        from bridge.server.context import ServerContext
        from bridge.server.conversations import (
            ApprovalRequest,
            ConversationsApi,
            MessageRequest,
            StartRequest,
        )
        from bridge.server.hub import RunHub
        from bridge.server.listing import ListingApi
        from bridge.server.openapi import add_paths, server_paths
        from bridge.server.runs import ChainRunsRequest, RunRequest, RunsApi
        from bridge.server.sessions import SessionCookieMiddleware, SessionRegistry
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] in _EXTRA:
            raise ImportError(
                "bridge.server.create_app needs the `server` extra: "
                "pip install 'runnable-bridge[server]'"
            ) from exc
        raise
    from bridge.changes import follow_bridge_changes
    from molecules import Store
    from runnable.tracking import RunRecorder

    # The bridge's own recorder when it has one (create_default_bridge(run_store=...)),
    # so that a run started here is written once, like any other execution.
    recorder = bridge.recorder
    if recorder is None and run_store is not None and record_runs:
        recorder = RunRecorder(run_store)
    ctx = ServerContext(
        bridge,
        SessionRegistry(store if store is not None else Store(), max_sessions=max_sessions),
        hub=RunHub(keep_finished=keep_finished_runs),
        run_store=run_store,
        recorder=recorder,
        ping=ping,
        cancel_timeout=cancel_timeout,
        chain_options=dict(chain_options or {}),
        info=dict(info or {}),
    )
    runnables = BridgeApi(ctx)
    schemas = {
        "run": RunRequest.model_json_schema(ref_template=_REF_TEMPLATE),
        "chain_run": ChainRunsRequest.model_json_schema(ref_template=_REF_TEMPLATE),
        "conversation": StartRequest.model_json_schema(ref_template=_REF_TEMPLATE),
        "message": MessageRequest.model_json_schema(ref_template=_REF_TEMPLATE),
        "approval": ApprovalRequest.model_json_schema(ref_template=_REF_TEMPLATE),
    }
    for schema in schemas.values():
        runnables.document["components"]["schemas"].update(schema.pop("$defs", {}))
    add_paths(runnables.document, server_paths(schemas))
    routes: list[Any] = [
        *ListingApi(ctx).routes(),
        *RunsApi(ctx).routes(),
        *runnables.routes(),
        *ConversationsApi(ctx).routes(),
    ]
    if static_dir is not None:
        routes.append(Mount("/", StaticFiles(directory=static_dir, html=True), name="playground"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Another worker's save (PostgreSQL sources) refreshes every session's store that
        # has the entity loaded, each keeping its draft.
        sessions = ctx.sessions
        async with follow_bridge_changes(bridge, lambda: [s.store for s in sessions]) as kinds:
            if kinds:
                _log.info("following changes of %s", ", ".join(kinds))
            try:
                yield
            finally:
                # Stopping: what the run store has queued is committed before the server goes.
                if recorder is not None:
                    await recorder.drain()
                await ctx.aclose()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(SessionCookieMiddleware)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.bridge_context = ctx
    return app


async def _http_error(request: Any, exc: Exception) -> Any:
    """Starlette's own errors (no route, wrong method) as `{"detail": ...}` too."""
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse

    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
