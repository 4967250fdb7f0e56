"""Real app services for the app-revision tests (served by uvicorn on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runnable.http.service import create_service

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


class GreetConfig(BaseModel):
    greeting: str = "Hello"


DEFAULT_GREET_CONFIG = GreetConfig()


def greet(name: str, country: str = "France", ag_config: GreetConfig = DEFAULT_GREET_CONFIG) -> str:
    """Greet someone with the configured greeting."""
    return f"{ag_config.greeting}, {name} from {country}!"


def score(output: str, correct_answer: str = "") -> float:
    """1.0 when the output is the correct answer."""
    return 1.0 if output == correct_answer else 0.0


class Counting:
    """An ASGI wrapper that counts requests by path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


def greeter_service() -> Counting:
    """`greet` at the root (/test, /run, /openapi.json), counting requests."""
    return Counting(create_service(greet, title="Greeter"))


def tools_service() -> Starlette:
    """`greet` and `score` under /greet and /score, each with its own OpenAPI document."""
    return create_service(greet, score, title="Tools")


CHAT_DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "chat", "version": "1"},
    "paths": {
        "/test": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "inputs": {
                                        "type": "object",
                                        "properties": {"topic": {"type": "string"}},
                                        "required": ["topic"],
                                    },
                                    "messages": {"type": "array", "items": {"type": "object"}},
                                    "ag_config": {"type": "object"},
                                },
                            }
                        }
                    }
                },
                "responses": {"200": {"content": {"application/json": {"schema": {}}}}},
            }
        }
    },
}


def chat_service() -> Starlette:
    """A chat app: its /test takes `messages`; its document is written by hand."""

    async def document(_: Request) -> Response:
        return JSONResponse(CHAT_DOCUMENT)

    async def not_openapi(_: Request) -> Response:
        return JSONResponse({"hello": "world"})

    return Starlette(
        routes=[
            Route("/openapi.json", document),
            Route("/broken/openapi.json", not_openapi),
        ]
    )
