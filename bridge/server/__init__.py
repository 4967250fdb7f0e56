"""`create_app`: an ASGI (Starlette) app that serves a bridge's runnables over HTTP and SSE.

A UI backend mounts it (or serves it alone) to let browsers read runnables, edit their
drafts, watch their selectors change, and run them, alone or as chains:

```
GET    /runnables/{ref}                    the selectors (data, query, is_dirty, input_ports,
                                           output_ports, configuration, invocation_url,
                                           schemas) and the kind's entity, as JSON
GET    /runnables/{ref}/watch?selectors=   SSE: each selector's value, then every change
PATCH  /runnables/{ref}                    merge a JSON object into the draft (kind's update)
POST   /runnables/{ref}/save | /discard    write the draft through the source | drop it
POST   /runnables/{ref}/execute            {"inputs": {...}} -> ExecutionResult JSON
POST   /runnables/{ref}/stream             {"inputs": {...}} -> SSE: chunk..., done | error
POST   /chains/run                         {"chain", "testcase"} -> SSE of the run's events
GET    /openapi.json                       the OpenAPI document of these routes
```

`{ref}` is "kind:id" or a bare id. Bodies are checked whole before anything is applied
(`bridge.server.json.read_json_body`). Errors are `{"detail": "..."}`: 400 for a
malformed ref or body (not JSON, NaN, a lone surrogate, nesting past 64), bad inputs
(with `errors` by input) or a refused draft, 404 for a runnable no kind has, 409 for a
save made on an older version than the stored one (with `entity_id`,
`expected_version` and `current_version`; nothing written, the draft kept), 413 for a
body over 1 MB, 415 for one that is not JSON, 501 for a kind that cannot do what was
asked, 502 when a service it calls failed. Values are JSON (`model_dump(mode="json")`)
with secret-named keys redacted. On PostgreSQL sources the app follows their change
feed while it runs (its lifespan), so a save through another worker reaches this one's
watchers.

The starlette, sse-starlette and uvicorn packages come with the `server` extra; this
module imports them only when `create_app` is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from bridge.bridge import RunnableBridge
    from molecules import Store

__all__ = ["create_app"]

_EXTRA = ("starlette", "sse_starlette")


def create_app(
    bridge: RunnableBridge,
    store: Store,
    *,
    ping: float = 15.0,
    chain_options: Mapping[str, Any] | None = None,
    cancel_timeout: float = 5.0,
) -> Starlette:
    """An ASGI app serving `bridge`'s runnables, with their state kept in `store`.

    `ping` is the seconds between SSE keep-alive comments (0 for none); `chain_options`
    go to every `bridge.run_chain` (max_concurrency, retry, recorder...); `cancel_timeout`
    bounds how long a disconnected client's run or stream is given to stop.
    """
    try:
        from bridge.server.app import BridgeApi
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] in _EXTRA:
            raise ImportError(
                "bridge.server.create_app needs the `server` extra: "
                "pip install 'runnable-bridge[server]'"
            ) from exc
        raise
    api = BridgeApi(
        bridge, store, ping=ping, chain_options=chain_options, cancel_timeout=cancel_timeout
    )
    return api.app()
