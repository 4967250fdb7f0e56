"""Errors raised by the conversation engine (part of the `MoleculesError` family).

```
MoleculesError
└── EngineError
    ├── InstanceNotFoundError       (LookupError) no instance has this id
    ├── InstanceExistsError         start with an instance id that is taken
    ├── InstanceBusyError           execute_message while the instance is executing
    ├── InstanceNotReadyError       execute before the prompt loaded, or variables missing
    ├── ChatNotAllowedError         a second turn where the config forbids chat
    ├── ResourceNotFoundError       (IndexError) no resource at this position
    ├── PromptEntityNotFoundError   (LookupError) no prompt, built-in or action by this id
    ├── ToolCallNotAwaitingError    (LookupError) a call that awaits no approval
    └── EngineConfigError           the engine lacks what an action needs
```
```

Provider, tracking and template failures during a turn are not raised by actions: they
end the turn (`status="error"`, `error` set) and the turn's task returns an error result.
"""

from __future__ import annotations

from collections.abc import Sequence

from molecules.core.errors import MoleculesError


class EngineError(MoleculesError):
    """Base of every error the conversation engine raises."""


class InstanceNotFoundError(EngineError, LookupError):
    """No instance has the given id (never started, or removed)."""

    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id
        super().__init__(f"no prompt instance with id {instance_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class InstanceExistsError(EngineError, ValueError):
    """An instance with this id already exists."""


class InstanceBusyError(EngineError):
    """The instance is executing a turn; wait for it, or cancel it first."""

    def __init__(self, instance_id: str, status: str) -> None:
        self.instance_id = instance_id
        super().__init__(
            f"prompt instance {instance_id!r} is {status}: wait for the turn or cancel it"
        )


class InstanceNotReadyError(EngineError):
    """The instance cannot execute yet; `missing` names variables without a value."""

    def __init__(self, instance_id: str, reason: str, missing: Sequence[str] = ()) -> None:
        self.instance_id = instance_id
        self.missing = list(missing)
        super().__init__(f"prompt instance {instance_id!r} is not ready: {reason}")


class ChatNotAllowedError(EngineError):
    """The instance's execution config has `allow_chat=False` and it already has a turn."""


class ResourceNotFoundError(EngineError, IndexError):
    """No resource at the given position of an instance's resources."""

    def __init__(self, instance_id: str, index: int, count: int) -> None:
        self.instance_id = instance_id
        self.index = index
        super().__init__(
            f"prompt instance {instance_id!r} has {count} resource(s); no resource at {index}"
        )


class PromptEntityNotFoundError(EngineError, LookupError):
    """No prompt, built-in prompt or prompt action has the given id."""

    def __init__(self, kind: str, entity_id: str, where: str) -> None:
        self.kind = kind
        self.entity_id = entity_id
        super().__init__(f"no {kind} with id {entity_id!r} in {where}")

    def __str__(self) -> str:
        return str(self.args[0])


class ToolCallNotAwaitingError(EngineError, LookupError):
    """`approve_tool_call` named a call that is not awaiting approval on that instance."""

    def __init__(self, instance_id: str, call_id: str, awaiting: Sequence[str]) -> None:
        self.instance_id = instance_id
        self.call_id = call_id
        waiting = ", ".join(map(repr, awaiting)) or "none"
        super().__init__(
            f"prompt instance {instance_id!r} has no tool call {call_id!r} awaiting approval "
            f"(awaiting: {waiting})"
        )

    def __str__(self) -> str:
        return str(self.args[0])


class EngineConfigError(EngineError):
    """The engine was not given what an action needs (a provider, a source, a run store)."""


# Earlier names, kept working.
InstanceNotFound = InstanceNotFoundError
ResourceNotFound = ResourceNotFoundError
EntityNotFound = PromptEntityNotFoundError
ToolCallNotAwaiting = ToolCallNotAwaitingError
