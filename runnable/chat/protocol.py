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

from runnable.chat.completion import TokenUsage
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


def parse_usage(raw: Any) -> TokenUsage | None:
    """Token usage from a `usage` object, or None when there is none."""
    if not isinstance(raw, Mapping):
        return None
    return TokenUsage(
        tokens_in=int(raw.get("prompt_tokens") or 0),
        tokens_out=int(raw.get("completion_tokens") or 0),
    )


@attrs.frozen(slots=True)
class ParsedAnswer:
    """The parts of a plain (non-streamed) answer."""

    text: str
    model: str | None
    finish_reason: str | None
    usage: TokenUsage | None


def parse_answer(payload: Any) -> ParsedAnswer:
    """Read a `chat.completion` object; ValueError when it has no choices."""
    choices = payload.get("choices") if isinstance(payload, Mapping) else None
    if not choices or not isinstance(choices[0], Mapping):
        raise ValueError(f"answer without choices: {json.dumps(payload)[:200]}")
    message = choices[0].get("message") or {}
    content = message.get("content")
    if isinstance(content, list):
        # Some compatible servers answer with content parts.
        content = "".join(
            str(part.get("text", "")) for part in content if isinstance(part, Mapping)
        )
    return ParsedAnswer(
        text=content if isinstance(content, str) else "",
        model=payload.get("model"),
        finish_reason=choices[0].get("finish_reason"),
        usage=parse_usage(payload.get("usage")),
    )


@attrs.define
class StreamState:
    """What a stream has said so far; `feed` each SSE data field in order."""

    parts: list[str] = attrs.field(factory=list)
    model: str | None = None
    finish_reason: str | None = None
    usage: TokenUsage | None = None
    saw_done: bool = False

    @property
    def text(self) -> str:
        """The text streamed so far."""
        return "".join(self.parts)

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
        self.model = chunk.get("model") or self.model
        self.usage = parse_usage(chunk.get("usage")) or self.usage
        new_text: str | None = None
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, Mapping) or choice.get("index", 0) != 0:
                continue
            content = (choice.get("delta") or {}).get("content")
            if isinstance(content, str) and content:
                self.parts.append(content)
                new_text = content if new_text is None else new_text + content
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
        return new_text
