"""Tools: Python functions a model may call, with their JSON schema from type hints.

```python
tools = ToolRegistry()

@tools.register
def weather(city: str, unit: Literal["C", "F"] = "C") -> dict[str, Any]:
    "The weather in a city now."
    ...

tools.register(send_email, requires_approval=True)
bridge = create_default_bridge(provider=ChatProvider(...), tools=tools)
```

A function is read as `runnable.service` reads the functions it serves
(`runnable.http.served.ServedFunction`): its parameters give the arguments' schema and
are validated with pydantic, a plain function runs in a worker thread, its result is
written as JSON. `ToolRegistry.run(call)` never raises for what the model or the tool
did wrong: arguments that are not JSON or fail the schema, an unknown tool, or an
exception inside the tool each become a `ToolResult` whose text tells the model what
went wrong, so a turn goes on instead of crashing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar, overload

import attrs

from runnable.chat.completion import ToolCall
from runnable.errors import ServiceDefinitionError, ServiceRequestError
from runnable.http.served import ServedFunction
from runnable.messages import ChatMessage
from runnable.redaction import redact_text

__all__ = ["Decision", "Tool", "ToolRegistry", "ToolResult", "denied_result", "run_tool_calls"]

F = TypeVar("F", bound=Callable[..., Any])

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


@attrs.frozen(slots=True)
class Tool:
    """One registered function: its name, description, schema and approval rule."""

    name: str
    description: str
    function: ServedFunction
    parameters: dict[str, Any]
    requires_approval: bool = False

    def spec(self) -> dict[str, Any]:
        """The OpenAI tool spec (`{"type": "function", "function": {...}}`)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@attrs.frozen(slots=True)
class ToolResult:
    """What one tool call gave back: the text for the model, and whether the call worked."""

    call_id: str
    name: str
    content: str
    ok: bool = True

    def message(self) -> ChatMessage:
        """The `tool` message that answers the call."""
        return ChatMessage.model_validate(
            {"role": "tool", "tool_call_id": self.call_id, "content": self.content}
        )


def denied_result(call: ToolCall) -> ToolResult:
    """The answer to a call that was not approved (the model is told so)."""
    return ToolResult(
        call.id, call.name, f"error: the call to {call.name} was not approved by the user", False
    )


def _result_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _argument_problems(exc: ServiceRequestError) -> str:
    # `loc` is ["body", "inputs", <argument>, ...]: the model only knows the arguments.
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc'][2:]) or 'arguments'}: {item['msg']}"
        for item in exc.detail
    )


class ToolRegistry:
    """The tools a bridge offers its prompts and conversations (see the module docstring)."""

    def __init__(self, tools: Iterable[Callable[..., Any]] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for function in tools:
            self.register(function)

    @overload
    def register(self, function: F) -> F: ...

    @overload
    def register(
        self,
        function: None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        requires_approval: bool = False,
    ) -> Callable[[F], F]: ...

    @overload
    def register(
        self,
        function: F,
        *,
        name: str | None = None,
        description: str | None = None,
        requires_approval: bool = False,
    ) -> F: ...

    def register(
        self,
        function: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        requires_approval: bool = False,
    ) -> Any:
        """Register `function` (plain or async) and return it; usable as a decorator.

        The tool is named `name` (default: the function's name) and described by
        `description` (default: its docstring's first line). `ServiceDefinitionError`
        names a function that cannot be a tool, or a name already taken.
        """
        if function is None:
            return lambda f: self.register(
                f, name=name, description=description, requires_approval=requires_approval
            )
        self.add(function, name=name, description=description, requires_approval=requires_approval)
        return function

    def add(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        requires_approval: bool = False,
    ) -> dict[str, Any]:
        """Register `function` as `register` does; returns its OpenAI tool spec."""
        served = ServedFunction.of(function, name)
        label = served.name
        if not label or not set(label) <= _NAME_CHARS or len(label) > 64:
            raise ServiceDefinitionError(
                f"tool name {label!r}: use 1 to 64 letters, digits, '_' or '-'"
            )
        if label in self._tools:
            raise ServiceDefinitionError(f"a tool named {label!r} is already registered")
        doc = description if description is not None else served.summary
        tool = Tool(label, doc, served, served.arguments_schema(), requires_approval)
        self._tools[label] = tool
        return tool.spec()

    def specs(self, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The OpenAI specs of every tool (or of those `names`, in that order)."""
        if names is None:
            return [tool.spec() for tool in self._tools.values()]
        return [self._tools[n].spec() for n in names if n in self._tools]

    def get(self, name: str) -> Tool | None:
        """The tool of that name, or None."""
        return self._tools.get(name)

    def requires_approval(self, name: str) -> bool:
        """True when a call to `name` waits for a person's approval."""
        tool = self._tools.get(name)
        return tool is not None and tool.requires_approval

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def __repr__(self) -> str:
        return f"ToolRegistry({list(self._tools)})"

    async def run(self, call: ToolCall) -> ToolResult:
        """Run one call; whatever goes wrong comes back as a result for the model."""
        tool = self._tools.get(call.name)
        if tool is None:
            known = ", ".join(self._tools) or "none"
            return ToolResult(
                call.id,
                call.name,
                f"error: there is no tool named {call.name!r} (tools: {known})",
                False,
            )
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError as exc:
            text = f"error: the arguments of {call.name} are not JSON ({exc})"
            return ToolResult(call.id, call.name, text, False)
        if not isinstance(arguments, dict):
            text = f"error: the arguments of {call.name} must be a JSON object"
            return ToolResult(call.id, call.name, text, False)
        try:
            tool.function.validate_inputs(arguments)
        except ServiceRequestError as exc:
            text = f"error: invalid arguments for {call.name}: {_argument_problems(exc)}"
            return ToolResult(call.id, call.name, text, False)
        try:
            value = await tool.function.call(arguments)
        except Exception as exc:  # the tool's failure is news for the model, not a crash
            message = redact_text(str(exc)) or "no message"
            text = f"error: {call.name} raised {type(exc).__name__}: {message}"
            return ToolResult(call.id, call.name, text, False)
        return ToolResult(call.id, call.name, _result_text(value))


Decision = tuple[bool, Any]
"""A person's answer to a call that needs approval: (approved, result to use or None)."""


async def _decided(
    registry: ToolRegistry,
    call: ToolCall,
    approve: Callable[[ToolCall], Awaitable[Decision]] | None,
) -> ToolResult:
    if not registry.requires_approval(call.name):
        return await registry.run(call)
    if approve is None:
        text = f"error: {call.name} needs a person's approval, and nobody can give it here"
        return ToolResult(call.id, call.name, text, False)
    approved, result = await approve(call)
    if not approved:
        return denied_result(call)
    if result is not None:
        return ToolResult(call.id, call.name, _result_text(result))
    return await registry.run(call)


async def run_tool_calls(
    registry: ToolRegistry,
    calls: Sequence[ToolCall],
    approve: Callable[[ToolCall], Awaitable[Decision]] | None = None,
) -> AsyncIterator[ToolResult]:
    """Run `calls` concurrently; yield each result as it is ready.

    A call to a tool that requires approval first awaits `approve(call)`; without
    `approve` it is answered with an error saying nobody can approve it. Cancelling
    the reader cancels the calls still running.
    """
    tasks = [asyncio.ensure_future(_decided(registry, call, approve)) for call in calls]
    try:
        for next_done in asyncio.as_completed(tasks):
            yield await next_done
    finally:
        for task in tasks:
            task.cancel()
