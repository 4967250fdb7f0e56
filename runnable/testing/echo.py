"""The offline `echo` model: what the local server answers when no reply is scripted.

Its rules, in order, read only the request:

1. **Tool calls.** When the request offers `tools` and its last message is the user's,
   every offered tool that the message names (as a whole word) is called, in the order
   the tools are offered. A call's arguments are the message's `name=value` words
   (`value=3`, `unit="square metres"`) whose name is one of the tool's parameters;
   values are read as JSON where they parse (`3` is a number), else kept as text.
2. **After tool answers.** When the last messages answer tool calls, the reply is
   `echo: ` and each answer as `<tool name>: <answer>`, separated by `; `.
3. **Otherwise** the reply is `echo: <last user message>`.

Under a `json_schema` response format, the reply of rules 2 and 3 is a JSON object that
fits the schema instead: each property named in a `name=value` word of the last user
message takes that value, every other string is the echo text, numbers are 0, booleans
false, an enum its first value. A `json_object` format gets the echo as `{"echo": ...}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = ["EchoAnswer", "assignments", "echo_answer", "fitting"]

_ASSIGNMENT = re.compile(r'(?<![\w-])([A-Za-z_][\w-]*)=(?:"([^"]*)"|(\S+))')
_TRAILING = ",.;:!?)"


@attrs.frozen
class EchoAnswer:
    """What the echo model says: text, or tool calls as (name, arguments JSON text)."""

    text: str = ""
    tool_calls: tuple[tuple[str, str], ...] = ()


def assignments(text: str) -> dict[str, Any]:
    """The `name=value` words of `text`, values read as JSON where they parse."""
    found: dict[str, Any] = {}
    for match in _ASSIGNMENT.finditer(text):
        name, quoted, bare = match.groups()
        if quoted is not None:
            found[name] = quoted
            continue
        raw = bare.rstrip(_TRAILING) or bare
        try:
            found[name] = json.loads(raw)
        except ValueError:
            found[name] = raw
    return found


def fitting(schema: Any, text: str, given: Mapping[str, Any] | None = None) -> Any:
    """A small value that fits a JSON schema: strings are `text`, `given` fills properties."""
    if not isinstance(schema, Mapping):
        return text
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        values = given or {}
        return {
            name: values[name] if name in values else fitting(sub, text)
            for name, sub in properties.items()
        }
    if kind == "array":
        return [fitting(schema.get("items"), text)] if schema.get("minItems") else []
    return {"integer": 0, "number": 0, "boolean": False, "null": None}.get(str(kind), text)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def _last_user(messages: Sequence[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def _named_tools(tools: Any, text: str) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []
    given = assignments(text)
    for tool in tools if isinstance(tools, list) else ():
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if not isinstance(function, Mapping):
            continue
        name = function.get("name")
        if not isinstance(name, str) or not name:
            continue
        if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
            continue
        properties = (function.get("parameters") or {}).get("properties") or {}
        arguments = {key: value for key, value in given.items() if key in properties}
        calls.append((name, json.dumps(arguments)))
    return calls


def _tool_answers(messages: Sequence[Any]) -> list[str]:
    """`<name>: <answer>` for the tool messages that end the conversation."""
    names: dict[str, str] = {}
    for message in messages:
        for call in (message.get("tool_calls") if isinstance(message, Mapping) else None) or ():
            if isinstance(call, Mapping):
                names[str(call.get("id"))] = str((call.get("function") or {}).get("name"))
    answers: list[str] = []
    for message in reversed(messages):
        if not isinstance(message, Mapping) or message.get("role") != "tool":
            break
        name = names.get(str(message.get("tool_call_id")), "tool")
        answers.append(f"{name}: {_text(message.get('content'))}")
    return answers[::-1]


def echo_answer(body: Mapping[str, Any]) -> EchoAnswer:
    """The echo model's answer to a chat completions request (see the module docstring)."""
    messages = body.get("messages") or []
    messages = messages if isinstance(messages, list) else []
    last = messages[-1] if messages and isinstance(messages[-1], Mapping) else {}
    if body.get("tools") and last.get("role") == "user":
        calls = _named_tools(body["tools"], _text(last.get("content")))
        if calls:
            return EchoAnswer(tool_calls=tuple(calls))
    user = _last_user(messages)
    answers = _tool_answers(messages)
    text = f"echo: {'; '.join(answers)}" if answers else f"echo: {user}"
    response_format = body.get("response_format")
    if not isinstance(response_format, Mapping):
        return EchoAnswer(text)
    kind = response_format.get("type")
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return EchoAnswer(json.dumps(fitting(schema, text, assignments(user))))
    if kind == "json_object":
        return EchoAnswer(json.dumps({"echo": text}))
    return EchoAnswer(text)
