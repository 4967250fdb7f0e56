"""A small JSON REST server on 127.0.0.1 (uvicorn in a thread) for the HTTP source tests."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


class EntityServerState:
    """What the server holds: collections of documents and the headers it last received."""

    def __init__(self) -> None:
        self.collections: dict[str, dict[str, Any]] = {}
        self.last_headers: dict[str, str] = {}


def entity_app(state: EntityServerState) -> Starlette:
    """Collections at /{name}; /wrapped/{name} lists as {"items": [...]}; /broken, /text fail."""

    async def collection(request: Request) -> Response:
        state.last_headers = dict(request.headers)
        items = list(state.collections.get(request.path_params["name"], {}).values())
        return JSONResponse(items)

    async def wrapped(request: Request) -> Response:
        items = list(state.collections.get(request.path_params["name"], {}).values())
        return JSONResponse({"items": items})

    async def entity(request: Request) -> Response:
        state.last_headers = dict(request.headers)
        docs = state.collections.setdefault(request.path_params["name"], {})
        entity_id = request.path_params["id"]
        if request.method == "PUT":
            docs[entity_id] = await request.json()
            return Response(status_code=204)
        if entity_id not in docs:
            return JSONResponse({"detail": "not found"}, status_code=404)
        if request.method == "DELETE":
            del docs[entity_id]
            return Response(status_code=204)
        return JSONResponse(docs[entity_id])

    async def broken(request: Request) -> Response:
        return PlainTextResponse("database exploded", status_code=500)

    async def text(request: Request) -> Response:
        return PlainTextResponse("<html>hello</html>", media_type="text/html")

    return Starlette(
        routes=[
            Route("/broken/{rest:path}", broken, methods=["GET", "PUT", "DELETE"]),
            Route("/text/{rest:path}", text),
            Route("/wrapped/{name}", wrapped),
            Route("/{name}", collection),
            # `path` because uvicorn decodes %2F before routing; the id is still one segment.
            Route("/{name}/{id:path}", entity, methods=["GET", "PUT", "DELETE"]),
        ]
    )
