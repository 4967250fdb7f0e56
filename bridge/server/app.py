"""The `/runnables/{ref}` routes of `bridge.server.create_app`, and its POST streams.

Each handler parses the ref of its path (400 when malformed), loads the runnable into the
request's session store (404 naming the ref when no kind has it), then reads selectors,
writes through the kind's actions or runs it. Errors become `{"detail": ...}` with the
status `bridge.server.json.error_body` gives them. Watches are shared feeds
(`bridge.server.feeds`); the POST streams live in `bridge.server.streams`.
"""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bridge.selectors import STANDARD_SELECTORS
from bridge.server.context import ServerContext, guard, load_ref
from bridge.server.eventstream import PushedResponse
from bridge.server.feeds import Watch
from bridge.server.json import ApiError, error_body, read_json_body, to_json_data
from bridge.server.openapi import openapi_document
from bridge.server.sessions import Session
from bridge.server.streams import chunk_events, run_events
from molecules import Atom, Store
from runnable.chain import Chain
from runnable.errors import ConflictError
from runnable.types import RunnableRef

__all__ = ["BridgeApi", "ChainRunRequest", "ExecuteRequest"]

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
    """The handlers of the `/runnables/{ref}` routes and the POST streams (see `bridge.server`).

    Each request works in its session's store (`bridge.server.sessions`).
    """

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.bridge = ctx.bridge
        self.document = openapi_document(
            ExecuteRequest.model_json_schema(ref_template=_REF_TEMPLATE),
            ChainRunRequest.model_json_schema(ref_template=_REF_TEMPLATE),
        )

    def routes(self) -> list[Route]:
        """The routes of these handlers."""
        return [
            Route("/runnables/{ref}", guard(self.get_runnable), methods=["GET"]),
            Route("/runnables/{ref}", guard(self.patch_runnable), methods=["PATCH"]),
            Route("/runnables/{ref}/watch", guard(self.watch), methods=["GET"]),
            Route("/runnables/{ref}/save", guard(self.save), methods=["POST"]),
            Route("/runnables/{ref}/discard", guard(self.discard), methods=["POST"]),
            Route("/runnables/{ref}/execute", guard(self.execute), methods=["POST"]),
            Route("/runnables/{ref}/stream", guard(self.stream), methods=["POST"]),
            Route("/chains/run", guard(self.run_chain), methods=["POST"]),
            Route("/openapi.json", guard(self.openapi), methods=["GET"]),
        ]

    async def _load(self, request: Request) -> tuple[RunnableRef, Session]:
        """The ref of the path, with its kind, loaded into the request's session."""
        session = self.ctx.session(request)
        ref = await load_ref(self.ctx, session, request.path_params["ref"])
        return ref, session

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

    async def snapshot(self, ref: RunnableRef, store: Store) -> dict[str, Any]:
        """The standard selectors of `ref` (and its entity) in `store`, as JSON data."""
        values: dict[str, Any] = {"ref": str(ref), "kind": ref.kind, "id": ref.id}
        for name in (*STANDARD_SELECTORS, ENTITY):
            value = store.get(self._atom(ref, name))
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
        ref, session = await self._load(request)
        return JSONResponse(await self.snapshot(ref, session.store))

    async def patch_runnable(self, request: Request) -> Response:
        """`PATCH /runnables/{ref}`: merge the body's changes into the draft."""
        changes = await read_json_body(request)
        ref, session = await self._load(request)
        if not isinstance(changes, dict):
            raise ApiError(
                400,
                "PATCH takes a JSON object of the fields to change, "
                f"got {type(changes).__name__ if changes is not None else 'nothing'}",
            )
        if changes.get("id", ref.id) != ref.id:
            raise ApiError(400, f"the id of {ref} cannot be changed (got {changes['id']!r})")
        session.store.set(self._action(ref, "update"), ref.id, changes)
        return JSONResponse(await self.snapshot(ref, session.store))

    async def save(self, request: Request) -> Response:
        """`POST /runnables/{ref}/save`: write the draft through the kind's source."""
        await read_json_body(request)  # no body is needed; a hostile one is still refused
        ref, session = await self._load(request)
        try:
            saved = session.store.set(self._action(ref, "save"), ref.id)
            if inspect.isawaitable(saved):
                await saved
        except ConflictError:
            # The draft stays, now over the version that won: discard shows that version,
            # and saving again overwrites it.
            await self._refresh(session.store, ref)
            raise
        await self.ctx.sessions.saved(session, ref, self._refresh)
        return JSONResponse(await self.snapshot(ref, session.store))

    async def _refresh(self, store: Store, ref: RunnableRef) -> None:
        refreshed = store.set(self._action(ref, "refresh"), ref.id)
        if inspect.isawaitable(refreshed):
            await refreshed

    async def discard(self, request: Request) -> Response:
        """`POST /runnables/{ref}/discard`: drop the draft."""
        await read_json_body(request)
        ref, session = await self._load(request)
        session.store.set(self._action(ref, "discard"), ref.id)
        return JSONResponse(await self.snapshot(ref, session.store))

    async def watch(self, request: Request) -> Response:
        """`GET /runnables/{ref}/watch?selectors=a,b`: SSE of each selector's values."""
        ref, session = await self._load(request)
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
        watch = Watch(self.ctx.feeds, session.store, atoms)
        return PushedResponse(watch, ping=self.ctx.ping, hold=session.streaming())

    # -- running -----------------------------------------------------------------------

    async def _run_request(self, request: Request) -> tuple[RunnableRef, Store, ExecuteRequest]:
        body = ExecuteRequest.model_validate(await read_json_body(request, default={}))
        ref, session = await self._load(request)
        return ref, session.store, body

    async def execute(self, request: Request) -> Response:
        """`POST /runnables/{ref}/execute`: run it with `{"inputs": ...}`; an ExecutionResult."""
        ref, store, body = await self._run_request(request)
        result = await self.bridge.execute(ref, body.inputs, store=store)
        return JSONResponse(to_json_data(result))

    async def stream(self, request: Request) -> Response:
        """`POST /runnables/{ref}/stream`: SSE of its chunks, then `done` (or `error`)."""
        ref, store, body = await self._run_request(request)
        chunks = self.bridge.stream(ref, body.inputs, store=store)
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
        events = chunk_events(chunks, first, failure, cancel_timeout=self.ctx.cancel_timeout)
        return EventSourceResponse(events, ping=self.ctx.ping)

    async def openapi(self, request: Request) -> Response:
        """`GET /openapi.json`: the OpenAPI document of these routes."""
        return JSONResponse(self.document)

    async def run_chain(self, request: Request) -> Response:
        """`POST /chains/run`: SSE of the run's events, ending with `run_completed`."""
        body = ChainRunRequest.model_validate(await read_json_body(request, default={}))
        options = dict(self.ctx.chain_options)
        if body.max_concurrency is not None:
            options["max_concurrency"] = body.max_concurrency
        store = self.ctx.session(request).store
        run = await self.bridge.run_chain(
            body.chain, store=store, testcase=body.testcase, **options
        )
        events = run_events(run, cancel_timeout=self.ctx.cancel_timeout)
        return EventSourceResponse(events, ping=self.ctx.ping)
