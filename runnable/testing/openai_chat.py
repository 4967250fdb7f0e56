"""An OpenAI-compatible chat completions server, written as a plain ASGI app.

It speaks the protocol the way api.openai.com does: JSON completions, SSE streams of
`chat.completion.chunk` objects ending in `data: [DONE]`, a usage chunk with empty
`choices` when `stream_options.include_usage` is set, `{"error": {...}}` bodies (and
error events mid-stream), `Retry-After` headers. Tests script the next replies
(`state.script(...)`); unscripted requests get the offline echo model's answer
(`runnable.testing.echo`: an echo of the last user message, tool calls for the tools
the message names, an object that fits a `json_schema` response format). Tool calls stream as
OpenAI streams them: each call's id and name first, then its arguments in small pieces,
and `finish_reason: "tool_calls"`. Like the real service, it refuses malformed `tools`,
`response_format` and tool messages that answer no call.
It records every request and every client disconnect.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any

import attrs

from runnable.testing.echo import echo_answer

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


_call_ids = itertools.count(1)


@attrs.frozen
class ScriptedToolCall:
    """A tool call in a scripted reply; `arguments` is the JSON text sent in pieces."""

    name: str
    arguments: str = "{}"
    id: str = attrs.field(factory=lambda: f"call_{next(_call_ids)}")


def tool_call(
    name: str, arguments: Mapping[str, Any] | str = "{}", *, id: str | None = None
) -> ScriptedToolCall:
    """A tool call to script (`arguments` as a mapping or as the exact JSON text)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ScriptedToolCall(name, text) if id is None else ScriptedToolCall(name, text, id)


def tool_calls_reply(*calls: ScriptedToolCall, text: str = "", **options: Any) -> Reply:
    """A reply asking for these tool calls (after `text`, if any)."""
    options.setdefault("finish_reason", "tool_calls")
    return Reply(chunks=(text,) if text else (), tool_calls=calls, **options)


@attrs.define
class Reply:
    """One scripted answer: a streamed or plain completion, or an error."""

    chunks: Sequence[str] = ("Hello", " world")
    finish_reason: str = "stop"
    # (prompt_tokens, completion_tokens); None counts words of the request and chunks.
    usage: tuple[int, int] | None = None
    send_usage: bool = True
    chunk_delay: float = 0.0  # between chunks (the first comes at once)
    first_byte_delay: float = 0.0
    status: int = 200
    error_message: str = ""
    error_type: str = "server_error"
    headers: Mapping[str, str] = attrs.field(factory=dict)
    html: bool = False
    # Stream only: send an error event after this many chunks instead of finishing.
    error_after: int | None = None
    # Stream only: end the body cleanly after this many chunks, no finish chunk, no [DONE].
    end_after: int | None = None
    # Stream only: keep the body open this long after [DONE] (a server slow to end it).
    hold_after_done: float = 0.0
    # The model name to report instead of the requested one.
    model: str | None = None
    # Answer a stream request with a plain JSON completion, as some servers do.
    ignore_stream: bool = False
    # Tool calls after the text; their arguments stream in pieces this long.
    tool_calls: Sequence[ScriptedToolCall] = ()
    argument_piece: int = 7


def reply(*chunks: str, **options: Any) -> Reply:
    """A successful completion made of these text chunks."""
    return Reply(chunks=chunks or ("Hello", " world"), **options)


def fail(
    status: int,
    message: str = "something went wrong",
    *,
    retry_after: str | None = None,
    retry_after_ms: str | None = None,
    html: bool = False,
    error_type: str = "server_error",
) -> Reply:
    """An error response with an OpenAI-style body (or an HTML page)."""
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    return Reply(
        status=status, error_message=message, headers=headers, html=html, error_type=error_type
    )


@attrs.frozen
class RecordedRequest:
    """What the server received."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    received_at: float
    client: tuple[str, int] | None = None
    """The client's address and port: requests on one kept-alive connection share it."""


class ChatServerState:
    """Script, request log and disconnect log shared between the test and the server thread."""

    def __init__(self, *, echo_chunk_delay: float = 0.0) -> None:
        self._lock = threading.Lock()
        # Seconds between the words of an unscripted (echo) reply: the offline model of
        # `runnable-bridge serve` streams at a pace a person can watch.
        self.echo_chunk_delay = echo_chunk_delay
        self._script: deque[Reply] = deque()
        self.requests: list[RecordedRequest] = []
        self.disconnects = 0
        self.disconnected = threading.Event()
        self.disconnected_at: float | None = None
        self.finished_streams = 0
        self.api_key: str | None = None

    def reset(self) -> None:
        """Forget the script, the log and the required key."""
        with self._lock:
            self._script.clear()
            self.requests = []
            self.disconnects = 0
            self.disconnected.clear()
            self.disconnected_at = None
            self.finished_streams = 0
            self.api_key = None

    def script(self, *replies: Reply) -> None:
        """Queue replies; each request takes the next one."""
        with self._lock:
            self._script.extend(replies)

    def next_reply(self) -> Reply | None:
        """The next scripted reply, or None when the script is empty."""
        with self._lock:
            return self._script.popleft() if self._script else None

    def record(self, request: RecordedRequest) -> None:
        """Log a request."""
        with self._lock:
            self.requests.append(request)

    def record_disconnect(self) -> None:
        """Log that a client went away before the response ended."""
        with self._lock:
            self.disconnects += 1
            if self.disconnected_at is None:
                self.disconnected_at = time.monotonic()
        self.disconnected.set()

    def record_finished_stream(self) -> None:
        """Log a stream that was sent to its end."""
        with self._lock:
            self.finished_streams += 1


_ids = itertools.count(1)


class _Connection:
    """One request/response exchange; watches for the client going away."""

    def __init__(self, receive: Receive, send: Send, state: ChatServerState) -> None:
        self.receive = receive
        self.send = send
        self.state = state
        self._disconnect: asyncio.Task[Message] | None = None

    async def read_body(self) -> bytes:
        body = b""
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                return body
            body += bytes(message.get("body", b""))
            if not message.get("more_body", False):
                break
        # After the body, the next receive() only returns when the client disconnects.
        self._disconnect = asyncio.ensure_future(self.receive())
        return body

    async def pause(self, seconds: float) -> bool:
        """Wait `seconds`; False (and a logged disconnect) if the client went away."""
        if self._disconnect is None:
            await asyncio.sleep(seconds)
            return True
        done, _ = await asyncio.wait({self._disconnect}, timeout=seconds)
        if done:
            self.state.record_disconnect()
            return False
        return True

    def close(self) -> None:
        if self._disconnect is not None and not self._disconnect.done():
            self._disconnect.cancel()

    async def start(self, status: int, content_type: str, headers: Mapping[str, str]) -> None:
        raw = [(b"content-type", content_type.encode())]
        raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await self.send({"type": "http.response.start", "status": status, "headers": raw})

    async def body(self, data: bytes, more: bool = False) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": more})

    async def json(self, status: int, payload: Any, headers: Mapping[str, str] = {}) -> None:
        await self.start(status, "application/json", headers)
        await self.body(json.dumps(payload).encode())


def _openai_error(message: str, error_type: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


def _echo_reply(body: Mapping[str, Any], chunk_delay: float = 0.0) -> Reply:
    """The offline echo model's answer (`runnable.testing.echo`), word by word."""
    answer = echo_answer(body)
    if answer.tool_calls:
        return tool_calls_reply(*(tool_call(name, args) for name, args in answer.tool_calls))
    words = answer.text.split(" ")
    return Reply(chunks=[words[0], *(" " + w for w in words[1:])], chunk_delay=chunk_delay)


def request_problem(body: Mapping[str, Any]) -> str | None:
    """What the real service would refuse in `tools`, `response_format` or tool messages."""
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list) or not tools:
            return "'tools' must be a non-empty array"
        for index, tool in enumerate(tools):
            function = tool.get("function") if isinstance(tool, Mapping) else None
            if tool.get("type") != "function" or not isinstance(function, Mapping):
                return f"tools[{index}] must be {{'type': 'function', 'function': {{...}}}}"
            if not isinstance(function.get("name"), str) or not function["name"]:
                return f"tools[{index}].function.name is missing"
    response_format = body.get("response_format")
    if response_format is not None:
        kind = response_format.get("type") if isinstance(response_format, Mapping) else None
        if kind not in ("text", "json_object", "json_schema"):
            return "response_format.type must be 'text', 'json_object' or 'json_schema'"
        if kind == "json_schema":
            spec = response_format.get("json_schema")
            if not isinstance(spec, Mapping) or not spec.get("name"):
                return "response_format.json_schema.name is missing"
    asked: set[str] = set()
    for index, message in enumerate(body.get("messages") or ()):
        if not isinstance(message, Mapping):
            continue
        for call in message.get("tool_calls") or ():
            if isinstance(call, Mapping):
                asked.add(str(call.get("id")))
        if message.get("role") == "tool" and message.get("tool_call_id") not in asked:
            return (
                f"messages[{index}]: messages with role 'tool' must be a response to a "
                "preceding message with 'tool_calls'"
            )
    return None


def _prompt_tokens(body: Mapping[str, Any]) -> int:
    count = 0
    for message in body.get("messages", []):
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, str):
            count += len(content.split())
    return count


class ChatCompletionsApp:
    """ASGI app serving `POST .../chat/completions` from a `ChatServerState`."""

    def __init__(self, state: ChatServerState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        conn = _Connection(receive, send, self.state)
        try:
            await self._handle(scope, conn)
        finally:
            conn.close()

    async def _handle(self, scope: Scope, conn: _Connection) -> None:
        raw_body = await conn.read_body()
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = raw_body.decode(errors="replace")
        self.state.record(
            RecordedRequest(
                scope["method"],
                scope["path"],
                headers,
                body,
                time.monotonic(),
                None if scope.get("client") is None else tuple(scope["client"]),
            )
        )
        if scope["method"] != "POST" or not scope["path"].endswith("/chat/completions"):
            await conn.json(404, _openai_error(f"no route {scope['path']}", "invalid_request"))
            return
        if self.state.api_key is not None:
            given = headers.get("authorization", "").removeprefix("Bearer ")
            if given != self.state.api_key:
                # Like the real service, the message quotes the key it was given.
                message = f"Incorrect API key provided: {given}."
                await conn.json(401, _openai_error(message, "invalid_request_error", "bad_key"))
                return
        if not isinstance(body, Mapping) or "model" not in body or "messages" not in body:
            message = "you must provide a model parameter and messages"
            await conn.json(400, _openai_error(message, "invalid_request_error"))
            return
        problem = request_problem(body)
        if problem is not None:
            await conn.json(400, _openai_error(problem, "invalid_request_error"))
            return
        scripted = self.state.next_reply() or _echo_reply(body, self.state.echo_chunk_delay)
        if scripted.first_byte_delay and not await conn.pause(scripted.first_byte_delay):
            return
        if scripted.status >= 400:
            await self._error(conn, scripted)
        elif body.get("stream") and not scripted.ignore_stream:
            await self._stream(conn, body, scripted)
        else:
            await self._plain(conn, body, scripted)

    async def _error(self, conn: _Connection, scripted: Reply) -> None:
        if scripted.html:
            page = f"<html><body><h1>{scripted.status}</h1>{scripted.error_message}</body></html>"
            await conn.start(scripted.status, "text/html; charset=utf-8", scripted.headers)
            await conn.body(page.encode())
            return
        payload = _openai_error(scripted.error_message, scripted.error_type)
        await conn.json(scripted.status, payload, scripted.headers)

    def _usage(self, body: Mapping[str, Any], scripted: Reply) -> dict[str, int]:
        prompt, completion = scripted.usage or (_prompt_tokens(body), len(scripted.chunks))
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    async def _plain(self, conn: _Connection, body: Mapping[str, Any], scripted: Reply) -> None:
        payload: dict[str, Any] = {
            "id": f"chatcmpl-{next(_ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": scripted.model or body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": self._message(scripted),
                    "logprobs": None,
                    "finish_reason": scripted.finish_reason,
                }
            ],
        }
        if scripted.send_usage:
            payload["usage"] = self._usage(body, scripted)
        await conn.json(200, payload, scripted.headers)

    def _message(self, scripted: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(scripted.chunks)}
        if scripted.tool_calls:
            message["content"] = message["content"] or None
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in scripted.tool_calls
            ]
        return message

    async def _stream(self, conn: _Connection, body: Mapping[str, Any], scripted: Reply) -> None:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = {
            "id": f"chatcmpl-{next(_ids)}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": scripted.model or body["model"],
            "system_fingerprint": None,
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            payload: dict[str, Any] = {
                **base,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if include_usage:
                payload["usage"] = None
            return f"data: {json.dumps(payload)}\n\n".encode()

        headers = {"cache-control": "no-cache", **scripted.headers}
        await conn.start(200, "text/event-stream; charset=utf-8", headers)
        await conn.body(chunk({"role": "assistant", "content": ""}), more=True)
        for index, text in enumerate(scripted.chunks):
            if scripted.error_after is not None and index == scripted.error_after:
                error = _openai_error(scripted.error_message or "stream failed", "server_error")
                await conn.body(f"data: {json.dumps(error)}\n\n".encode())
                return
            if scripted.end_after is not None and index == scripted.end_after:
                await conn.body(b"")
                return
            if index and scripted.chunk_delay and not await conn.pause(scripted.chunk_delay):
                return
            await conn.body(chunk({"content": text}), more=True)
        for index, call in enumerate(scripted.tool_calls):
            opening = {"index": index, "id": call.id, "type": "function"}
            opening["function"] = {"name": call.name, "arguments": ""}
            await conn.body(chunk({"tool_calls": [opening]}), more=True)
            size = max(1, scripted.argument_piece)
            for start in range(0, len(call.arguments), size):
                piece = {
                    "index": index,
                    "function": {"arguments": call.arguments[start : start + size]},
                }
                await conn.body(chunk({"tool_calls": [piece]}), more=True)
        await conn.body(chunk({}, scripted.finish_reason), more=True)
        if include_usage and scripted.send_usage:
            final: dict[str, Any] = {
                **base,
                "choices": [],
                "usage": self._usage(body, scripted),
            }
            await conn.body(f"data: {json.dumps(final)}\n\n".encode(), more=True)
        await conn.body(b"data: [DONE]\n\n", more=bool(scripted.hold_after_done))
        self.state.record_finished_stream()
        if scripted.hold_after_done and await conn.pause(scripted.hold_after_done):
            await conn.body(b"")
