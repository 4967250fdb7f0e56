"""A small JSON REST server on 127.0.0.1 (uvicorn in a thread) for the HTTP source tests.

Entities are versioned the HTTP way: GET and PUT answer an ETag `"<version>"`, and a PUT
with `If-Match` naming another version answers 412 with the current ETag.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


class EntityServerState:
    """What the server holds: collections of (document, version) and the last headers."""

    def __init__(self) -> None:
        self.collections: dict[str, dict[str, tuple[Any, int]]] = {}
        self.last_headers: dict[str, str] = {}


def _etag(version: int) -> dict[str, str]:
    return {"etag": f'"{version}"'}


def entity_app(state: EntityServerState) -> Starlette:
    """Collections at /{name}; /wrapped/{name} lists as {"items": [...]}; /broken, /text fail."""

    async def collection(request: Request) -> Response:
        state.last_headers = dict(request.headers)
        items = [doc for doc, _ in state.collections.get(request.path_params["name"], {}).values()]
        return JSONResponse(items)

    async def wrapped(request: Request) -> Response:
        items = [doc for doc, _ in state.collections.get(request.path_params["name"], {}).values()]
        return JSONResponse({"items": items})

    async def entity(request: Request) -> Response:
        state.last_headers = dict(request.headers)
        docs = state.collections.setdefault(request.path_params["name"], {})
        entity_id = request.path_params["id"]
        stored = docs.get(entity_id)
        if request.method == "PUT":
            if_match = request.headers.get("if-match")
            if if_match is not None and (stored is None or if_match != f'"{stored[1]}"'):
                headers = {} if stored is None else _etag(stored[1])
                return JSONResponse({"detail": "version moved"}, 412, headers=headers)
            version = 1 if stored is None else stored[1] + 1
            docs[entity_id] = (await request.json(), version)
            return Response(status_code=204, headers=_etag(version))
        if stored is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        if request.method == "DELETE":
            del docs[entity_id]
            return Response(status_code=204)
        return JSONResponse(stored[0], headers=_etag(stored[1]))

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
