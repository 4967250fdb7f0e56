"""Listing what the server has, and saying what it is.

```
GET /runnables?kind=&limit=&offset=   {"items": [RunnableData], "total"}: saved entities
GET /info                             {"session", "kinds", "model", ...}: what is served
```

The list reads each kind's source (`Source.list()`), so it shows what is saved and is
the same for every session; a draft shows in `GET /runnables/{ref}`. An entity that
its kind refuses to read is left out of the list rather than failing it.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bridge.server.context import MAX_PAGE, ServerContext, guard, query_int
from bridge.server.json import ApiError, to_json_data
from runnable.types import RunnableData

__all__ = ["ListingApi"]


class ListingApi:
    """The handlers of `GET /runnables` and `GET /info`."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        """The routes of these handlers."""
        return [
            Route("/runnables", guard(self.list_runnables), methods=["GET"]),
            Route("/info", guard(self.info), methods=["GET"]),
        ]

    async def list_runnables(self, request: Request) -> Response:
        """`GET /runnables`: the saved runnables of one kind (or every kind), paged."""
        bridge = self.ctx.bridge
        query = request.query_params
        kind = query.get("kind") or None
        if kind is not None and kind not in bridge:
            raise ApiError(400, f"unknown kind {kind!r}; the kinds are {', '.join(bridge.kinds)}")
        limit = query_int(query.get("limit"), "limit", 100, 1, MAX_PAGE)
        offset = query_int(query.get("offset"), "offset", 0, 0, None)
        items: list[RunnableData] = []
        for name in [kind] if kind is not None else list(bridge.kinds):
            items += await self._saved(name)
        page = items[offset : offset + limit]
        return JSONResponse({"items": to_json_data(page), "total": len(items)})

    async def _saved(self, kind: str) -> list[RunnableData]:
        runnable_type = self.ctx.bridge.type(kind)
        source = getattr(runnable_type.molecule, "source", None)
        if source is None:
            return []
        found: list[RunnableData] = []
        for document in await source.list():
            try:
                found.append(runnable_type.to_runnable(document))
            except (ValidationError, ValueError, TypeError, KeyError):
                continue
        return found

    async def info(self, request: Request) -> Response:
        """`GET /info`: the request's session, the kinds, and what the server was given."""
        session = self.ctx.session(request)
        body: dict[str, Any] = {
            **to_json_data(dict(self.ctx.info)),
            "session": session.id,
            "kinds": list(self.ctx.bridge.kinds),
            "runs": self.ctx.run_store is not None,
            "conversations": self.ctx.bridge.conversations is not None,
        }
        return JSONResponse(body)
