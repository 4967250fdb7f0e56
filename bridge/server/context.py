"""What every route of the server shares: the bridge, sessions, feeds, runs, and the plumbing.

`ServerContext` is built once by `create_app`; each route module (`app`, `listing`,
`runs`, `conversations`) takes it. `guard` turns any error a handler raises into the
`{"detail": ...}` answer `bridge.server.json.error_body` gives it; `load_ref` parses a
path's ref and loads the runnable into the session's store.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bridge.bridge import RunnableBridge
from bridge.server.feeds import FeedRegistry
from bridge.server.hub import RunHub
from bridge.server.json import ApiError, describe_validation_error, error_body
from bridge.server.sessions import Session, SessionRegistry
from runnable.tracking import RunRecorder, RunStore
from runnable.types import RunnableRef

__all__ = [
    "MAX_PAGE",
    "Handler",
    "ServerContext",
    "guard",
    "load_ref",
    "parse_ref",
    "query_int",
]

MAX_PAGE = 500
"""The most items one page of a list may ask for."""

_log = logging.getLogger("bridge.server")

Handler = Callable[[Request], Awaitable[Response]]


@attrs.define(eq=False)
class ServerContext:
    """The state of one server (see the module docstring)."""

    bridge: RunnableBridge
    sessions: SessionRegistry
    feeds: FeedRegistry = attrs.field(factory=FeedRegistry)
    hub: RunHub = attrs.field(factory=RunHub)
    run_store: RunStore | None = None
    recorder: RunRecorder | None = None
    ping: float = 15.0
    cancel_timeout: float = 5.0
    chain_options: Mapping[str, Any] = attrs.field(factory=dict)
    info: Mapping[str, Any] = attrs.field(factory=dict)

    def session(self, request: Request) -> Session:
        """The session of `request` (see `bridge.server.sessions`)."""
        return self.sessions.for_request(request)

    async def aclose(self) -> None:
        """Stop live runs and write what the recorder holds (again: nothing more)."""
        await self.hub.aclose()
        if self.recorder is not None:
            await self.recorder.drain()


def guard(handler: Handler) -> Handler:
    """`handler`, with every error it raises answered as `{"detail": ...}`."""

    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception as exc:
            found = error_body(exc)
            if found.status >= 500:
                # The detail is redacted; a traceback could carry a secret: debug only.
                _log.error("%s %s: %s", request.method, request.url.path, found.body["detail"])
                _log.debug("traceback of the error above", exc_info=exc)
            return JSONResponse(found.body, status_code=found.status)

    return guarded


def parse_ref(bridge: RunnableBridge, text: str) -> RunnableRef:
    """`text` as a ref; 400 when malformed, 404 for an unknown kind."""
    try:
        return bridge.parse(text)
    except ValidationError as exc:
        raise ApiError(
            400, f"malformed runnable ref {text!r}: {describe_validation_error(exc)}"
        ) from None
    except LookupError as exc:  # an unknown kind
        raise ApiError(404, f"no runnable {text!r}: {exc}") from None


async def load_ref(ctx: ServerContext, session: Session, text: str) -> RunnableRef:
    """The ref `text` with its kind, after loading the runnable into the session's store."""
    ref = await ctx.bridge.resolve(parse_ref(ctx.bridge, text), store=session.store)
    await ctx.bridge.load(ref, store=session.store)
    session.loaded.add(ref)
    return ref


def query_int(given: str | None, name: str, default: int, low: int, high: int | None) -> int:
    """A query parameter as an integer from `low` to `high`; 400 naming it otherwise."""
    if given is None or given == "":
        return default
    try:
        value = int(given)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, got {given!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"from {low}" + (f" to {high}" if high is not None else "")
        raise ApiError(400, f"{name} must be {bound}, got {value}")
    return value
