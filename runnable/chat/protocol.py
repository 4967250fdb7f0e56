"""The OpenAI chat completions wire format: request bodies, answers, stream chunks, errors.

Pure functions over JSON; `runnable.chat.provider` does the HTTP around them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import httpx
from pydantic import BaseModel

from runnable.chat.completion import TokenUsage, ToolCall
from runnable.errors import ProviderInputError, ProviderStreamError

__all__ = [
    "MessageLike",
    "ParsedAnswer",
    "StreamState",
    "error_message",
    "parse_answer",
    "parse_usage",
    "request_body",
]

MessageLike = Mapping[str, Any] | BaseModel

_RESERVED_SETTINGS = ("messages", "stream")


def _message_dict(message: MessageLike, index: int) -> dict[str, Any]:
    if isinstance(message, BaseModel):
        data: Any = message.model_dump(mode="json", exclude_none=True)
    elif isinstance(message, Mapping):
        data = dict(message)
    else:
        raise ProviderInputError(
            f"message {index} is a {type(message).__name__}; expected a mapping with a role"
        )
    if not isinstance(data.get("role"), str) or not data["role"]:
        raise ProviderInputError(f"message {index} has no role: {data!r:.200}")
    return dict(data)


def request_body(
    messages: Sequence[MessageLike],
    model: str | None,
    settings: Mapping[str, Any],
    *,
    stream: bool,
    stream_usage: bool = True,
) -> bytes:
    """The JSON body of a chat completions request; ProviderInputError says what is wrong."""
    if not model:
        raise ProviderInputError("no model to call: pass model= to ChatProvider or the call")
    if isinstance(messages, (str, bytes)) or not messages:
        raise ProviderInputError("messages must be a non-empty list of chat messages")
    for reserved in _RESERVED_SETTINGS:
        if reserved in settings:
            raise ProviderInputError(
                f"{reserved!r} is not a setting: use complete() or stream() instead"
            )
    body: dict[str, Any] = {
        "model": model,
        "messages": [_message_dict(m, i) for i, m in enumerate(messages)],
    }
    body.update({key: value for key, value in settings.items() if value is not None})
    if stream:
        body["stream"] = True
        if stream_usage:
            body.setdefault("stream_options", {"include_usage": True})
    try:
        return json.dumps(body).encode()
    except (TypeError, ValueError) as exc:
        raise ProviderInputError(f"messages or settings are not JSON: {exc}") from None


def error_message(response: httpx.Response) -> tuple[str, str | None]:
    """The provider's own words for an error response, and its error type when given."""
    content_type = response.headers.get("content-type", "")
    text = response.text
    if "html" in content_type or text.lstrip().startswith("<"):
        return "an HTML page instead of an API answer (is the base URL right?)", None
    try:
        payload = json.loads(text)
    except ValueError:
        return (text.strip()[:300] or response.reason_phrase or "no details"), None
    if isinstance(payload, Mapping):
        error = payload.get("error", payload.get("detail", payload))
        if isinstance(error, Mapping):
            message = error.get("message") or error.get("detail") or json.dumps(error)[:300]
            error_type = error.get("type") or error.get("code")
            return str(message), str(error_type) if error_type else None
        if isinstance(error, str):
            return error, None
    return json.dumps(payload)[:300], None


def _token_count(usage: Mapping[str, Any], key: str) -> int:
    value = usage.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 2**53:
        raise ValueError(f"usage.{key} is not a token count: {value!r:.40}")
    return int(value)


def parse_usage(raw: Any) -> TokenUsage | None:
    """Token usage from a `usage` object, or None when there is none.

    Raises ValueError for a `usage` that is not an object or counts that are not counts.
    """
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ValueError(f"usage is not an object: {raw!r:.80}")
    return TokenUsage(
        tokens_in=_token_count(raw, "prompt_tokens"),
        tokens_out=_token_count(raw, "completion_tokens"),
    )


def _optional_text(owner: Mapping[str, Any], key: str, where: str) -> str | None:
    value = owner.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where}{key} is not text: {value!r:.80}")
    return value


@attrs.frozen(slots=True)
class ParsedAnswer:
    """The parts of a plain (non-streamed) answer."""

    text: str
    model: str | None
    finish_reason: str | None
    usage: TokenUsage | None
    tool_calls: tuple[ToolCall, ...] = ()


def _tool_calls(raw: Any) -> tuple[ToolCall, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(ToolCall.from_openai(item) for item in raw if isinstance(item, Mapping))


def parse_answer(payload: Any) -> ParsedAnswer:
    """Read a `chat.completion` object; ValueError when it has no choices or is malformed."""
    choices = payload.get("choices") if isinstance(payload, Mapping) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise ValueError(f"answer without choices: {json.dumps(payload)[:200]}")
    message = choices[0].get("message") or {}
    if not isinstance(message, Mapping):
        raise ValueError(f"answer whose message is not an object: {message!r:.80}")
    content = message.get("content")
    if isinstance(content, list):
        # Some compatible servers answer with content parts.
        content = "".join(
            str(part.get("text", "")) for part in content if isinstance(part, Mapping)
        )
    return ParsedAnswer(
        text=content if isinstance(content, str) else "",
        model=_optional_text(payload, "model", ""),
        finish_reason=_optional_text(choices[0], "finish_reason", "choices[0]."),
        usage=parse_usage(payload.get("usage")),
        tool_calls=_tool_calls(message.get("tool_calls")),
    )


@attrs.define
class StreamState:
    """What a stream has said so far; `feed` each SSE data field in order."""

    parts: list[str] = attrs.field(factory=list)
    model: str | None = None
    finish_reason: str | None = None
    usage: TokenUsage | None = None
    saw_done: bool = False
    # Tool calls by their stream index: id and name come once, arguments in pieces.
    calls: dict[int, dict[str, str]] = attrs.field(factory=dict)

    @property
    def text(self) -> str:
        """The text streamed so far."""
        return "".join(self.parts)

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The tool calls streamed so far, in index order."""
        return [ToolCall(**self.calls[index]) for index in sorted(self.calls)]

    def _feed_tool_calls(self, pieces: Any) -> None:
        """Add tool-call pieces; ValueError names the first one with the wrong shape."""
        if not isinstance(pieces, list):
            raise ValueError(f"delta.tool_calls is not a list: {pieces!r:.80}")
        for piece in pieces:
            if not isinstance(piece, Mapping):
                raise ValueError(f"a tool call piece is not an object: {piece!r:.80}")
            call_id = _optional_text(piece, "id", "tool_calls[].")
            index = piece.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                # Without an index, a piece with an id opens a call; others continue the last.
                last = max(self.calls, default=-1)
                index = last + 1 if call_id or last < 0 else last
            call = self.calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
            call["id"] = call_id or call["id"]
            function = piece.get("function") or {}
            if not isinstance(function, Mapping):
                raise ValueError(f"tool_calls[].function is not an object: {function!r:.80}")
            call["name"] = (
                _optional_text(function, "name", "tool_calls[].function.") or call["name"]
            )
            arguments = function.get("arguments")
            if isinstance(arguments, Mapping):  # some servers send the object itself
                arguments = json.dumps(arguments)
            call["arguments"] += (
                _optional_text({"arguments": arguments}, "arguments", "tool_calls[].function.")
                or ""
            )

    @property
    def finished(self) -> bool:
        """True once the stream said it was complete ([DONE] or a finish reason)."""
        return self.saw_done or self.finish_reason is not None

    def feed(self, data: str) -> str | None:
        """Take one event's data; return its new text, if any.

        Raises ProviderStreamError for an error event or a chunk that is not JSON.
        """
        data = data.strip()
        if data == "[DONE]":
            self.saw_done = True
            return None
        if not data:
            return None
        try:
            chunk = json.loads(data)
        except ValueError:
            raise ProviderStreamError(f"unreadable chunk in the stream: {data[:200]!r}") from None
        if not isinstance(chunk, Mapping):
            return None
        if chunk.get("error"):
            error = chunk["error"]
            text = error.get("message") if isinstance(error, Mapping) else error
            raise ProviderStreamError(f"the provider reported an error mid-stream: {text}")
        try:
            return self._take(chunk)
        except ValueError as exc:
            raise ProviderStreamError(f"malformed chunk in the stream: {exc}") from None

    def _take(self, chunk: Mapping[str, Any]) -> str | None:
        """Apply one chunk; ValueError names the first field that has the wrong shape."""
        self.model = _optional_text(chunk, "model", "") or self.model
        self.usage = parse_usage(chunk.get("usage")) or self.usage
        choices = chunk.get("choices")
        if choices is None:
            choices = []
        if not isinstance(choices, list):
            raise ValueError(f"choices is not a list: {choices!r:.80}")
        new_text: str | None = None
        for choice in choices:
            if not isinstance(choice, Mapping):
                raise ValueError(f"a choice is not an object: {choice!r:.80}")
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if not isinstance(delta, Mapping):
                raise ValueError(f"delta is not an object: {delta!r:.80}")
            content = _optional_text(delta, "content", "delta.")
            if delta.get("tool_calls") is not None:
                self._feed_tool_calls(delta["tool_calls"])
            if content:
                self.parts.append(content)
                new_text = content if new_text is None else new_text + content
            self.finish_reason = _optional_text(choice, "finish_reason", "") or self.finish_reason
        return new_text
