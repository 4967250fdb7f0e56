"""Chat messages for a conversation turn, and their OpenAI-compatible payload.

Two steps, both pure:

1. `build_turn_messages` lays out the messages of one turn. On the first turn (no
   history) every template message is rendered with the variables, and the user's input
   is appended to the last template message after a blank line when that message is a
   user message, else sent as a new user message. On later turns the history is sent as
   it is (variables are not re-applied) followed by the new user message. User input is
   never rendered as a template. The turn's resources ride on its user message, as data.
2. `to_provider_messages` turns messages into OpenAI chat-completions dicts. Resources
   of the current turn (the last user message) are all sent; on earlier turns only the
   resources marked `keep` are. A text resource becomes an escaped block appended to the
   message text; an image becomes an `image_url` part, inline data a `file` part, and
   any other URL a text part of its own holding a link block: never silently dropped.
"""

import html
import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runnable.errors import MessageError
from runnable.templates import render

__all__ = [
    "ChatMessage",
    "ContentPart",
    "FilePart",
    "ImagePart",
    "Resource",
    "TextPart",
    "build_turn_messages",
    "render_resource_block",
    "resource_attachment",
    "to_provider_messages",
]

Role = Literal["system", "developer", "user", "assistant", "tool"]
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


class TextPart(BaseModel):
    """An OpenAI text content part."""

    type: Literal["text"] = "text"
    text: str = ""


class ImageURL(BaseModel):
    """Where an image part's image is, and how closely the model should look."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(BaseModel):
    """An OpenAI `image_url` content part."""

    type: Literal["image_url"] = "image_url"
    image_url: ImageURL


class FileData(BaseModel):
    """An OpenAI file reference: inline data (a data URL) or an uploaded file id."""

    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class FilePart(BaseModel):
    """An OpenAI `file` content part."""

    type: Literal["file"] = "file"
    file: FileData


ContentPart = Annotated[TextPart | ImagePart | FilePart, Field(discriminator="type")]
Content = str | list[ContentPart]


class Resource(BaseModel):
    """Material attached to a turn: text, note, table, file, url, image...

    `content` is its text (a table may be rows: they are sent as JSON), `url` where it
    lives; `keep` keeps it on every later turn of the conversation.
    """

    kind: str = "text"
    name: str | None = None
    content: Any = None
    url: str | None = None
    mime_type: str | None = None
    detail: Literal["auto", "low", "high"] | None = None
    keep: bool = False

    @property
    def is_image(self) -> bool:
        """True for an image: by kind, mime type, data URL or file suffix."""
        if self.kind == "image" or (self.mime_type or "").startswith("image/"):
            return True
        url = (self.url or "").lower()
        return url.startswith("data:image/") or url.split("?", 1)[0].endswith(_IMAGE_SUFFIXES)


class ChatMessage(BaseModel):
    """One chat message; a user message may carry the resources of its turn.

    An assistant reply to a `json_schema` response format carries its parsed, validated
    JSON as `structured` (for whoever shows it); it is never sent to a model.
    """

    model_config = ConfigDict(extra="allow")  # tool_calls, tool_call_id... pass through

    role: Role
    content: Content | None = ""
    name: str | None = None
    resources: list[Resource] = Field(default_factory=list)
    structured: Any = None


def _as_message(value: ChatMessage | Mapping[str, Any]) -> ChatMessage:
    return value if isinstance(value, ChatMessage) else ChatMessage.model_validate(value)


def _as_resource(value: Resource | Mapping[str, Any]) -> Resource:
    return value if isinstance(value, Resource) else Resource.model_validate(value)


def _render_content(content: Content | None, variables: Mapping[str, Any], format: str) -> Content:
    if content is None:
        return ""
    if isinstance(content, str):
        return render(content, variables, format)
    return [
        TextPart(text=render(p.text, variables, format)) if isinstance(p, TextPart) else p
        for p in content
    ]


def _parts(content: Content | None) -> list[ContentPart]:
    if not content:
        return []
    return [TextPart(text=content)] if isinstance(content, str) else list(content)


def _join(first: Content | None, second: Content | None, separator: str = "\n\n") -> Content:
    """`second` after `first` with a separator between texts; strings stay strings."""
    if not first:
        return second or ""
    if not second:
        return first
    if isinstance(first, str) and isinstance(second, str):
        return first + separator + second
    head, tail = _parts(first), _parts(second)
    if isinstance(head[-1], TextPart) and isinstance(tail[0], TextPart):
        joined = TextPart(text=head[-1].text + separator + tail[0].text)
        return [*head[:-1], joined, *tail[1:]]
    return [*head, *tail]


def build_turn_messages(
    template_messages: Sequence[ChatMessage | Mapping[str, Any]],
    variables: Mapping[str, Any],
    history: Sequence[ChatMessage | Mapping[str, Any]] = (),
    user_input: Content | None = None,
    resources: Sequence[Resource | Mapping[str, Any]] = (),
    format: str = "curly",
) -> list[ChatMessage]:
    """The messages of one turn (see the module docstring for the rules)."""
    turn_resources = [_as_resource(r) for r in resources]
    if history:
        messages = [_as_message(m) for m in history]
        if user_input or turn_resources:
            content = user_input if user_input is not None else ""
            messages.append(ChatMessage(role="user", content=content, resources=turn_resources))
        return messages
    messages = [
        m.model_copy(update={"content": _render_content(m.content, variables, format)})
        for m in map(_as_message, template_messages)
    ]
    if not user_input and not turn_resources:
        if not messages:
            raise MessageError("nothing to send: no template messages and no user input")
        return messages
    if messages and messages[-1].role == "user":
        last = messages[-1]
        messages[-1] = last.model_copy(
            update={
                "content": _join(last.content, user_input),
                "resources": [*last.resources, *turn_resources],
            }
        )
    else:
        content = user_input if user_input is not None else ""
        messages.append(ChatMessage(role="user", content=content, resources=turn_resources))
    return messages


def _resource_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    try:
        return json.dumps(content, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(content)


def render_resource_block(resource: Resource | Mapping[str, Any]) -> str:
    """A resource as an escaped `<resource ...>` block: its text cannot close or open one."""
    resource = _as_resource(resource)
    attributes = {"kind": resource.kind, "name": resource.name, "url": resource.url}
    head = " ".join(
        f'{key}="{html.escape(value, quote=True)}"'
        for key, value in attributes.items()
        if value is not None
    )
    body = html.escape(_resource_text(resource.content), quote=False)
    return f"<resource {head}>\n{body}\n</resource>"


def resource_attachment(resource: Resource | Mapping[str, Any]) -> ContentPart | None:
    """The content part a resource travels as, or None when it is text for the message."""
    resource = _as_resource(resource)
    if resource.is_image:
        if not resource.url:
            raise MessageError(f"image resource {resource.name or '?'!r} has no url")
        return ImagePart(image_url=ImageURL(url=resource.url, detail=resource.detail))
    if not resource.url:
        return None
    if resource.url.startswith("data:"):
        return FilePart(file=FileData(file_data=resource.url, filename=resource.name))
    # OpenAI-compatible chat has no part for a remote page: send the link as its own part.
    return TextPart(text=render_resource_block(resource))


def _with_resources(content: Content | None, resources: Sequence[Resource]) -> Content:
    blocks: list[str] = []
    attachments: list[ContentPart] = []
    for resource in resources:
        part = resource_attachment(resource)
        if part is None:
            blocks.append(render_resource_block(resource))
        else:
            attachments.append(part)
    merged = _join(content, "\n\n".join(blocks)) if blocks else content or ""
    return [*_parts(merged), *attachments] if attachments else merged


def to_provider_messages(
    messages: Sequence[ChatMessage | Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """OpenAI chat-completions message dicts, with each turn's resources rendered."""
    parsed = [_as_message(m) for m in messages]
    current = max((i for i, m in enumerate(parsed) if m.role == "user"), default=-1)
    payload = []
    for index, message in enumerate(parsed):
        sent = [r for r in message.resources if index == current or r.keep]
        content = _with_resources(message.content, sent) if sent else message.content
        item = message.model_dump(exclude={"resources", "content", "structured"}, exclude_none=True)
        if isinstance(content, list):
            item["content"] = [p.model_dump(exclude_none=True) for p in content]
        else:
            item["content"] = content
        payload.append(item)
    return payload
