"""A test app service that answers the ways real services do, good and bad."""

from __future__ import annotations

import asyncio
import threading
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


class AppServiceState:
    """What the app service saw: request bodies and client disconnects."""

    def __init__(self) -> None:
        self.bodies: list[object] = []
        self.slow_started = threading.Event()
        self.disconnected = threading.Event()
        self.disconnected_at: float | None = None

    def reset(self) -> None:
        """Forget everything seen so far."""
        self.bodies = []
        self.slow_started.clear()
        self.disconnected.clear()
        self.disconnected_at = None


def app_service(state: AppServiceState) -> Starlette:
    """Routes: /echo/test and /echo/run (data + trace_id), /plain, /text, errors, /slow."""

    async def echo(request: Request) -> Response:
        body = await request.json()
        state.bodies.append(body)
        return JSONResponse({"data": body, "trace_id": "trace-123", "span_id": "span-9"})

    async def plain(request: Request) -> Response:
        state.bodies.append(await request.json())
        return JSONResponse({"answer": 42})

    async def text(request: Request) -> Response:
        return PlainTextResponse("just words")

    async def detail_error(request: Request) -> Response:
        detail = {"message": "model exploded", "stacktrace": "Traceback ..."}
        return JSONResponse({"detail": detail}, status_code=500)

    async def validation_error(request: Request) -> Response:
        detail = [
            {"loc": ["body", "inputs", "country"], "msg": "Field required", "type": "missing"}
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    async def html_error(request: Request) -> Response:
        page = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"
        return HTMLResponse(page, status_code=502)

    async def text_error(request: Request) -> Response:
        return PlainTextResponse("upstream went away", status_code=503)

    async def slow(request: Request) -> Response:
        await request.body()
        state.slow_started.set()
        for _ in range(500):
            if await request.is_disconnected():
                state.disconnected_at = time.monotonic()
                state.disconnected.set()
                return Response(status_code=499)
            await asyncio.sleep(0.01)
        return JSONResponse({"data": "too late"})

    routes = [
        Route("/echo/test", echo, methods=["POST"]),
        Route("/echo/run", echo, methods=["POST"]),
        Route("/plain", plain, methods=["POST"]),
        Route("/text", text, methods=["POST"]),
        Route("/detail-error", detail_error, methods=["POST"]),
        Route("/validation-error", validation_error, methods=["POST"]),
        Route("/html-error", html_error, methods=["POST"]),
        Route("/text-error", text_error, methods=["POST"]),
        Route("/slow", slow, methods=["POST"]),
    ]
    return Starlette(routes=routes)
