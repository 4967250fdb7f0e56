"""Conversations over HTTP: prompt instances of `bridge.conversations`, watched by browsers.

```
POST   /conversations                   {"prompt": ref or object, "variables", "run_id"}
                                        -> {"instance_id"} (an unknown prompt is a 404)
GET    /conversations/{id}              the conversation (below)
PATCH  /conversations/{id}/variables    {name: value, ...} -> the conversation
POST   /conversations/{id}/messages     {"text"} -> 202, the conversation (the turn runs on)
POST   /conversations/{id}/cancel       stop the turn in flight -> the conversation
POST   /conversations/{id}/tool_calls/{call_id}
                                        {"approved", "result"} answer a call awaiting
                                        approval -> the conversation (409: not awaiting)
GET    /conversations/{id}/watch        EventSource of `state` events (the conversation)
DELETE /conversations/{id}              remove it (its run is ended) -> 204
```

The conversation is `{"instance_id", "status", "messages" (the display messages, the
reply streaming in as the last one), "variables" ({name: value}), "streaming_text",
"error", "variable_names", "missing_variables", "run_id", "awaiting" (the tool calls
waiting for a person's approval: `{"id", "name", "arguments"}`)}`. A structured reply's
message carries its parsed JSON as `structured`; a tool call's answer is a `tool`
message naming the call by `tool_call_id`. An instance lives in the
store of the session that started it; any client that knows its id may use it.
A watch is a shared, coalescing feed (`bridge.server.feeds`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import anyio
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bridge.server.context import ServerContext, guard
from bridge.server.eventstream import PushedResponse
from bridge.server.feeds import Watch
from bridge.server.json import ApiError, error_text, read_json_body, to_json_data
from bridge.server.sessions import Session
from molecules import Atom, derived
from molecules.core.atom import Getter
from molecules.engine import (
    ActiveTurn,
    ChatNotAllowedError,
    ConversationEngine,
    EngineError,
    InstanceBusyError,
    InstanceNotFoundError,
    InstanceNotReadyError,
    PromptEntityNotFoundError,
    ToolCallNotAwaitingError,
)

__all__ = ["ApprovalRequest", "ConversationsApi", "MessageRequest", "StartRequest"]


class StartRequest(BaseModel):
    """The body of `POST /conversations`."""

    model_config = ConfigDict(extra="forbid")

    prompt: str | dict[str, Any] | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    run_id: str | None = None


class ApprovalRequest(BaseModel):
    """The body of `POST /conversations/{id}/tool_calls/{call_id}`."""

    model_config = ConfigDict(extra="forbid")

    approved: bool
    # Approved with a result: the model reads it and the tool does not run.
    result: Any = None


class MessageRequest(BaseModel):
    """The body of `POST /conversations/{id}/messages`."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=200_000)


def _api_error(exc: EngineError) -> ApiError:
    detail = error_text(exc)
    if isinstance(exc, InstanceNotFoundError | PromptEntityNotFoundError):
        return ApiError(404, detail)
    busy = InstanceBusyError | InstanceNotReadyError | ChatNotAllowedError
    if isinstance(exc, busy | ToolCallNotAwaitingError):
        return ApiError(409, detail)
    # The rest, EngineConfigError among them (a run_id to continue on a server without a
    # run store...), is a request this server cannot take: the detail says why.
    return ApiError(400, detail)


class ConversationsApi:
    """The handlers of the conversation routes (see the module docstring)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self._sessions: dict[str, Session] = {}
        self._views: dict[str, Atom[dict[str, Any]]] = {}

    def routes(self) -> list[Route]:
        """The routes of these handlers."""
        one = "/conversations/{instance_id}"
        return [
            Route("/conversations", guard(self.start), methods=["POST"]),
            Route(one, guard(self.get), methods=["GET"]),
            Route(one, guard(self.delete), methods=["DELETE"]),
            Route(one + "/variables", guard(self.variables), methods=["PATCH"]),
            Route(one + "/messages", guard(self.message), methods=["POST"]),
            Route(one + "/cancel", guard(self.cancel), methods=["POST"]),
            Route(one + "/tool_calls/{call_id}", guard(self.approve), methods=["POST"]),
            Route(one + "/watch", guard(self.watch), methods=["GET"]),
        ]

    @property
    def engine(self) -> ConversationEngine:
        """The bridge's conversation engine (501 when it has none)."""
        engine = self.ctx.bridge.conversations
        if engine is None:
            raise ApiError(501, "this bridge has no conversation engine (bridge.conversations)")
        return engine

    def _session(self, request: Request) -> tuple[str, Session]:
        iid: str = request.path_params["instance_id"]
        session = self._sessions.get(iid)
        if session is None:
            raise ApiError(404, f"no conversation {iid!r}")
        return iid, session

    def view(self, iid: str) -> Atom[dict[str, Any]]:
        """The atom of the conversation as the API shows it (one per instance)."""
        found = self._views.get(iid)
        if found is None:
            selectors = self.engine.selectors

            def read(get: Getter) -> dict[str, Any]:
                variables = get(selectors.merged_variables(iid))
                data: dict[str, Any] = to_json_data(
                    {
                        "instance_id": iid,
                        "status": get(selectors.status(iid)),
                        "messages": list(get(selectors.display_messages(iid))),
                        "variables": {name: v.value for name, v in variables.items()},
                        "streaming_text": get(selectors.streaming_text(iid)),
                        "error": get(selectors.error(iid)),
                        "variable_names": list(get(selectors.variable_names(iid))),
                        "missing_variables": list(get(selectors.missing_variables(iid))),
                        "run_id": get(selectors.run_id(iid)),
                        "awaiting": _awaiting(get(selectors.turn(iid))),
                    }
                )
                return data

            found = self._views[iid] = derived(read, name=f"conversation({iid})")
        return found

    def _state(self, iid: str, session: Session) -> JSONResponse:
        return JSONResponse(session.store.get(self.view(iid)))

    async def start(self, request: Request) -> Response:
        """`POST /conversations`: start a conversation with a prompt; `{"instance_id"}`."""
        engine = self.engine
        session = self.ctx.session(request)
        body = StartRequest.model_validate(await read_json_body(request, default={}))
        if body.prompt is None and body.run_id is None:
            raise ApiError(400, "give a prompt (a ref or the prompt itself), or a run_id")
        iid = uuid.uuid4().hex
        options = {"instance_id": iid, "variables": body.variables, "run_id": body.run_id}
        try:
            started = session.store.set(engine.actions.start_prompt_instance, body.prompt, options)
            await started
        except EngineError as exc:
            self._forget(session, iid)
            raise _api_error(exc) from None
        except Exception:
            self._forget(session, iid)
            raise
        self._sessions[iid] = session
        return JSONResponse({"instance_id": iid}, status_code=201)

    def _forget(self, session: Session, iid: str) -> None:
        with contextlib.suppress(EngineError):
            session.store.set(self.engine.actions.remove_instance, iid)
        self._sessions.pop(iid, None)
        self._views.pop(iid, None)

    async def get(self, request: Request) -> Response:
        """`GET /conversations/{id}`: the conversation."""
        iid, session = self._session(request)
        return self._state(iid, session)

    async def variables(self, request: Request) -> Response:
        """`PATCH /conversations/{id}/variables`: set user variables from a flat object."""
        iid, session = self._session(request)
        values = await read_json_body(request)
        if not isinstance(values, dict):
            raise ApiError(400, "variables are a JSON object of {name: value}")
        bad = [name for name in values if not name]
        if bad:
            raise ApiError(400, "a variable name cannot be empty")
        try:
            session.store.set(self.engine.actions.update_variables, iid, values)
        except EngineError as exc:
            raise _api_error(exc) from None
        return self._state(iid, session)

    async def message(self, request: Request) -> Response:
        """`POST /conversations/{id}/messages`: send a message; the turn runs on (202)."""
        iid, session = self._session(request)
        body = MessageRequest.model_validate(await read_json_body(request, default={}))
        try:
            turn = session.store.set(self.engine.actions.execute_message, iid, body.text)
        except EngineError as exc:
            raise _api_error(exc) from None
        # The turn's outcome is in the conversation's state; nobody awaits the task.
        turn.add_done_callback(_retrieve)
        return JSONResponse(session.store.get(self.view(iid)), status_code=202)

    async def cancel(self, request: Request) -> Response:
        """`POST /conversations/{id}/cancel`: stop the turn in flight."""
        iid, session = self._session(request)
        try:
            turn = session.store.set(self.engine.actions.cancel, iid)
        except EngineError as exc:
            raise _api_error(exc) from None
        if turn is not None:
            with anyio.move_on_after(self.ctx.cancel_timeout):
                await asyncio.wait({turn})
        return self._state(iid, session)

    async def approve(self, request: Request) -> Response:
        """`POST /conversations/{id}/tool_calls/{call_id}`: approve or deny a waiting call."""
        iid, session = self._session(request)
        body = ApprovalRequest.model_validate(await read_json_body(request, default={}))
        call_id: str = request.path_params["call_id"]
        try:
            session.store.set(
                self.engine.actions.approve_tool_call, iid, call_id, body.approved, body.result
            )
        except EngineError as exc:
            raise _api_error(exc) from None
        return self._state(iid, session)

    async def watch(self, request: Request) -> Response:
        """`GET /conversations/{id}/watch`: `state` events, coalesced."""
        iid, session = self._session(request)
        watch = Watch(self.ctx.feeds, session.store, {"state": self.view(iid)})
        return PushedResponse(watch, ping=self.ctx.ping, hold=session.streaming())

    async def delete(self, request: Request) -> Response:
        """`DELETE /conversations/{id}`: remove the conversation (its run ends)."""
        iid, session = self._session(request)
        ending = session.store.set(self.engine.actions.remove_instance, iid)
        self._sessions.pop(iid, None)
        self._views.pop(iid, None)
        if ending is not None:
            with anyio.move_on_after(self.ctx.cancel_timeout):
                await asyncio.wait({ending})
        return Response(status_code=204)


def _awaiting(turn: ActiveTurn | None) -> list[dict[str, str]]:
    if turn is None:
        return []
    return [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in turn.awaiting]


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
