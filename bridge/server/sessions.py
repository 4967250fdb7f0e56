"""Sessions: each browser edits its own drafts, and every save is seen by all.

The design is one `Store` per session over the shared sources. A store holds a
molecule's server data and its draft side by side, so a session's store keeps that
session's drafts apart from every other session's without any change to the
molecules. What is shared is what the sources hold: when a session saves an entity,
every other session that has it loaded refetches it (`refresh` keeps a draft, and
`is_dirty` is recomputed against the new server data), so a save reaches every
session while no draft leaks from one to another.

A request names its session with the `X-Session` header or the `rb_session` cookie
(the server sets the cookie when it serves the playground page). A request that names
none uses the default session, whose store is the one given to `create_app`, so API
clients that never heard of sessions keep one shared store. Sessions are kept in
least-recently-used order up to `max_sessions`; a session with an open stream is never
evicted.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import attrs
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge.server.json import ApiError
from molecules import MoleculesError, Store
from runnable.types import RunnableRef

__all__ = [
    "COOKIE",
    "DEFAULT_SESSION",
    "HEADER",
    "PAGE_PATHS",
    "Refresh",
    "Session",
    "SessionCookieMiddleware",
    "SessionRegistry",
    "new_session_id",
]

HEADER = "x-session"
COOKIE = "rb_session"
DEFAULT_SESSION = "default"
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

Refresh = Callable[[Store, RunnableRef], Awaitable[Any]]
"""Refetch one runnable into one store."""


@attrs.define(eq=False)
class Session:
    """One session: its store, the runnables it has loaded, and its open streams."""

    id: str
    store: Store
    loaded: set[RunnableRef] = attrs.field(factory=set)
    streams: int = 0

    @contextlib.contextmanager
    def streaming(self) -> Iterator[None]:
        """Mark the session as in use (not evictable) while the block runs."""
        self.streams += 1
        try:
            yield
        finally:
            self.streams -= 1


def new_session_id() -> str:
    """A fresh, unguessable session id."""
    return secrets.token_urlsafe(18)


class SessionRegistry:
    """The sessions of one server (see the module docstring)."""

    def __init__(
        self,
        default_store: Store,
        *,
        max_sessions: int = 1000,
        store_factory: Callable[[], Store] = Store,
    ) -> None:
        self.default = Session(DEFAULT_SESSION, default_store)
        self.max_sessions = max_sessions
        self._make_store = store_factory
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[Session]:
        yield self.default
        yield from list(self._sessions.values())

    @staticmethod
    def requested_id(connection: HTTPConnection) -> str | None:
        """The session a request names (header first, then cookie), or None."""
        given = connection.headers.get(HEADER) or connection.cookies.get(COOKIE)
        if given is None:
            return None
        if not _SESSION_ID.fullmatch(given):
            raise ApiError(
                400, "a session id is 1 to 64 characters of letters, digits, '-' and '_'"
            )
        return given

    def for_request(self, connection: HTTPConnection) -> Session:
        """The session of a request (created on first use)."""
        return self.get(self.requested_id(connection))

    def get(self, session_id: str | None) -> Session:
        """The session `session_id` (None or "default": the default session)."""
        if session_id is None or session_id == DEFAULT_SESSION:
            return self.default
        found = self._sessions.get(session_id)
        if found is None:
            found = Session(session_id, self._make_store())
            self._sessions[session_id] = found
            self._evict()
        else:
            self._sessions.move_to_end(session_id)
        return found

    def _evict(self) -> None:
        excess = len(self._sessions) - self.max_sessions
        for session in list(self._sessions.values()):
            if excess <= 0:
                break
            if session.streams == 0:
                del self._sessions[session.id]
                excess -= 1

    async def saved(self, origin: Session, ref: RunnableRef, refresh: Refresh) -> None:
        """Bring a save made in `origin` to every other session that has `ref` loaded."""
        others = [s for s in self if s is not origin and ref in s.loaded]
        if not others:
            return

        async def one(session: Session) -> None:
            # A session whose copy cannot be refetched keeps what it had; its next load retries.
            with contextlib.suppress(MoleculesError):
                await refresh(session.store, ref)

        await asyncio.gather(*(one(s) for s in others))


PAGE_PATHS = frozenset({"/", "/index.html"})
"""The paths of the playground page, whose answer gives a new browser its session cookie."""


class SessionCookieMiddleware:
    """Give a browser that loads the page without a session a cookie naming a new one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in PAGE_PATHS:
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        if connection.headers.get(HEADER) or connection.cookies.get(COOKIE):
            await self.app(scope, receive, send)
            return
        cookie = f"{COOKIE}={new_session_id()}; Path=/; SameSite=Lax; HttpOnly"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)
