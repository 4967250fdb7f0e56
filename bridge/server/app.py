"""The Starlette app of `bridge.server.create_app`: routes over one bridge and one store.

Each handler parses the ref of its path (400 when malformed), loads the runnable into the
store (404 naming the ref when no kind has it), then reads selectors, writes through the
kind's actions or runs it. Errors become `{"detail": ...}` with the status
`bridge.server.json.error_body` gives them; the SSE streams live in `bridge.server.streams`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bridge.bridge import RunnableBridge
from bridge.changes import follow_bridge_changes
from bridge.selectors import STANDARD_SELECTORS
from bridge.server.json import (
    ApiError,
    describe_validation_error,
    error_body,
    read_json_body,
    to_json_data,
)
from bridge.server.openapi import openapi_document
from bridge.server.streams import chunk_events, run_events, watch_events
from molecules import Atom, Store
from runnable.chain import Chain
from runnable.types import RunnableRef

__all__ = ["BridgeApi", "ChainRunRequest", "ExecuteRequest"]

_log = logging.getLogger("bridge.server")

Handler = Callable[[Request], Awaitable[Response]]

# The kind's own entity (what PATCH edits) is offered as `entity`: the kind's `data`
# selector name is taken by the standard RunnableData.
ENTITY = "entity"
_HIDDEN_KIND_SELECTORS = frozenset({"data", "runnable"})
_REF_TEMPLATE = "#/components/schemas/{model}"


class ExecuteRequest(BaseModel):
    """The body of `POST /runnables/{ref}/execute` and `/stream`."""

    model_config = ConfigDict(extra="forbid")

    inputs: dict[str, Any] = Field(default_factory=dict)


class ChainRunRequest(BaseModel):
    """The body of `POST /chains/run`: a chain, its testcase and an optional concurrency cap."""

    model_config = ConfigDict(extra="forbid")

    chain: Chain
    testcase: dict[str, Any] | None = None
    max_concurrency: int | None = Field(default=None, ge=1)


class BridgeApi:
    """The handlers of the server, over `bridge` and `store` (see `bridge.server`)."""

    def __init__(
        self,
        bridge: RunnableBridge,
        store: Store,
        *,
        ping: float = 15.0,
        chain_options: Mapping[str, Any] | None = None,
        cancel_timeout: float = 5.0,
    ) -> None:
        self.bridge = bridge
        self.store = store
        self.ping = ping
        self.chain_options = dict(chain_options or {})
        self.cancel_timeout = cancel_timeout
        self.document = openapi_document(
            ExecuteRequest.model_json_schema(ref_template=_REF_TEMPLATE),
            ChainRunRequest.model_json_schema(ref_template=_REF_TEMPLATE),
        )

    def app(self) -> Starlette:
        """The Starlette application with every route."""
        routes = [
            Route("/runnables/{ref}", self._guard(self.get_runnable), methods=["GET"]),
            Route("/runnables/{ref}", self._guard(self.patch_runnable), methods=["PATCH"]),
            Route("/runnables/{ref}/watch", self._guard(self.watch), methods=["GET"]),
            Route("/runnables/{ref}/save", self._guard(self.save), methods=["POST"]),
            Route("/runnables/{ref}/discard", self._guard(self.discard), methods=["POST"]),
            Route("/runnables/{ref}/execute", self._guard(self.execute), methods=["POST"]),
            Route("/runnables/{ref}/stream", self._guard(self.stream), methods=["POST"]),
            Route("/chains/run", self._guard(self.run_chain), methods=["POST"]),
            Route("/openapi.json", self._guard(self.openapi), methods=["GET"]),
        ]
        return Starlette(
            routes=routes,
            exception_handlers={HTTPException: _http_error},
            lifespan=self._lifespan,
        )

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        # Another worker's save (PostgreSQL sources) refreshes this store and its watchers.
        async with follow_bridge_changes(self.bridge, self.store) as kinds:
            if kinds:
                _log.info("following changes of %s", ", ".join(kinds))
            yield

    # -- plumbing ----------------------------------------------------------------------

    def _guard(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                return self._error(request, exc)

        return guarded

    @staticmethod
    def _error(request: Request, exc: Exception) -> Response:
        found = error_body(exc)
        if found.status >= 500:
            # The detail is redacted; a traceback could carry a secret, so it goes to debug.
            _log.error("%s %s: %s", request.method, request.url.path, found.body["detail"])
            _log.debug("traceback of the error above", exc_info=exc)
        return JSONResponse(found.body, status_code=found.status)

    async def _load(self, request: Request) -> RunnableRef:
        """The ref of the path, with its kind, after loading the runnable into the store."""
        text: str = request.path_params["ref"]
        try:
            ref = self.bridge.parse(text)
        except ValidationError as exc:
            raise ApiError(
                400, f"malformed runnable ref {text!r}: {describe_validation_error(exc)}"
            ) from None
        except LookupError as exc:  # an unknown kind
            raise ApiError(404, f"no runnable {text!r}: {exc}") from None
        ref = await self.bridge.resolve(ref, store=self.store)
        await self.bridge.load(ref, store=self.store)
        return ref

    def _atom(self, ref: RunnableRef, name: str) -> Atom[Any]:
        assert ref.kind is not None
        if name in STANDARD_SELECTORS:
            return self.bridge.kind_atom(name, ref.kind, ref.id)
        kind = self.bridge.runnable(ref.kind)
        if name == ENTITY:
            found: Atom[Any] = kind.selectors["data"](ref.id)
            return found
        return kind.selectors[name](ref.id)  # type: ignore[no-any-return]

    def watchable(self, ref: RunnableRef) -> list[str]:
        """The selector names a client may watch for `ref`: the standard ones, then its kind's."""
        assert ref.kind is not None
        names = [*STANDARD_SELECTORS, ENTITY]
        own = self.bridge.runnable(ref.kind).selectors
        names += [n for n in own if n not in names and n not in _HIDDEN_KIND_SELECTORS]
        return names

    async def snapshot(self, ref: RunnableRef) -> dict[str, Any]:
        """The standard selectors of `ref` (and its entity) as JSON data."""
        values: dict[str, Any] = {"ref": str(ref), "kind": ref.kind, "id": ref.id}
        for name in (*STANDARD_SELECTORS, ENTITY):
            value = self.store.get(self._atom(ref, name))
            # A kind may make a selector async; its settled value is what the client wants.
            values[name] = await value if inspect.isawaitable(value) else value
        data: dict[str, Any] = to_json_data(values)
        return data

    def _action(self, ref: RunnableRef, name: str) -> Atom[Any]:
        assert ref.kind is not None
        actions = self.bridge.runnable(ref.kind).actions
        if name not in actions:
            raise ApiError(501, f"runnables of kind {ref.kind!r} have no {name!r} action")
        found: Atom[Any] = actions[name]
        return found

    # -- runnables ---------------------------------------------------------------------

    async def get_runnable(self, request: Request) -> Response:
        """`GET /runnables/{ref}`: the runnable's selectors."""
        ref = await self._load(request)
        return JSONResponse(await self.snapshot(ref))

    async def patch_runnable(self, request: Request) -> Response:
        """`PATCH /runnables/{ref}`: merge the body's changes into the draft."""
        changes = await read_json_body(request)
        ref = await self._load(request)
        if not isinstance(changes, dict):
            raise ApiError(
                400,
                "PATCH takes a JSON object of the fields to change, "
                f"got {type(changes).__name__ if changes is not None else 'nothing'}",
            )
        if changes.get("id", ref.id) != ref.id:
            raise ApiError(400, f"the id of {ref} cannot be changed (got {changes['id']!r})")
        self.store.set(self._action(ref, "update"), ref.id, changes)
        return JSONResponse(await self.snapshot(ref))

    async def save(self, request: Request) -> Response:
        """`POST /runnables/{ref}/save`: write the draft through the kind's source."""
        await read_json_body(request)  # no body is needed; a hostile one is still refused
        ref = await self._load(request)
        saved = self.store.set(self._action(ref, "save"), ref.id)
        if inspect.isawaitable(saved):
            await saved
        return JSONResponse(await self.snapshot(ref))

    async def discard(self, request: Request) -> Response:
        """`POST /runnables/{ref}/discard`: drop the draft."""
        await read_json_body(request)
        ref = await self._load(request)
        self.store.set(self._action(ref, "discard"), ref.id)
        return JSONResponse(await self.snapshot(ref))

    async def watch(self, request: Request) -> Response:
        """`GET /runnables/{ref}/watch?selectors=a,b`: SSE of each selector's values."""
        ref = await self._load(request)
        known = self.watchable(ref)
        asked = request.query_params.get("selectors")
        names = list(STANDARD_SELECTORS)
        if asked is not None:
            names = list(dict.fromkeys(n.strip() for n in asked.split(",") if n.strip()))
            unknown = [n for n in names if n not in known]
            if unknown or not names:
                raise ApiError(
                    400,
                    f"cannot watch {', '.join(map(repr, unknown)) or 'no selector'} of {ref}; "
                    f"selectors are: {', '.join(known)}",
                )
        atoms = {name: self._atom(ref, name) for name in names}
        return EventSourceResponse(watch_events(self.store, atoms), ping=self.ping)

    # -- running -----------------------------------------------------------------------

    async def _run_request(self, request: Request) -> tuple[RunnableRef, ExecuteRequest]:
        body = ExecuteRequest.model_validate(await read_json_body(request, default={}))
        ref = await self._load(request)
        return ref, body

    async def execute(self, request: Request) -> Response:
        """`POST /runnables/{ref}/execute`: run it with `{"inputs": ...}`; an ExecutionResult."""
        ref, body = await self._run_request(request)
        result = await self.bridge.execute(ref, body.inputs, store=self.store)
        return JSONResponse(to_json_data(result))

    async def stream(self, request: Request) -> Response:
        """`POST /runnables/{ref}/stream`: SSE of its chunks, then `done` (or `error`)."""
        ref, body = await self._run_request(request)
        chunks = self.bridge.stream(ref, body.inputs, store=self.store)
        # The first chunk is awaited here, so that a run refused before it starts (bad
        # inputs, no executor) is an HTTP error; a run that fails once started is an
        # `error` event, whether it fails before or after its first chunk.
        first: list[Any] = []
        failure: Exception | None = None
        try:
            first.append(await anext(chunks))
        except StopAsyncIteration:
            pass
        except Exception as exc:
            if error_body(exc).status != 500:
                raise
            failure = exc
        events = chunk_events(chunks, first, failure, cancel_timeout=self.cancel_timeout)
        return EventSourceResponse(events, ping=self.ping)

    async def openapi(self, request: Request) -> Response:
        """`GET /openapi.json`: the OpenAPI document of these routes."""
        return JSONResponse(self.document)

    async def run_chain(self, request: Request) -> Response:
        """`POST /chains/run`: SSE of the run's events, ending with `run_completed`."""
        body = ChainRunRequest.model_validate(await read_json_body(request, default={}))
        options = dict(self.chain_options)
        if body.max_concurrency is not None:
            options["max_concurrency"] = body.max_concurrency
        run = await self.bridge.run_chain(
            body.chain, store=self.store, testcase=body.testcase, **options
        )
        events = run_events(run, cancel_timeout=self.cancel_timeout)
        return EventSourceResponse(events, ping=self.ping)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
