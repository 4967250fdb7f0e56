"""`InstanceHandle`: one prompt instance in one store, in one object (`usePromptInstance`).

```python
chat = engine.instance(instance_id, store)
chat.get("display_messages")              # any selector by name; chat.selectors.status is its atom
chat.observe("streaming_text").subscribe(print)
await chat.update_variable("topic", "tides")
result = await chat.send("Keep it short.")  # appended to the input box, then sent
```

The handle holds no state of its own: every read goes to the store through the engine's
selectors, and every method is the engine action of the same meaning. The methods are
coroutines so that a caller can await what an action leaves running (the turn, the end
of the run) the same way whichever method it called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reactivex import Observable

from molecules.core.atom import Atom
from molecules.core.store import Store
from molecules.engine.actions import EngineActions
from molecules.engine.errors import InstanceNotFoundError
from molecules.engine.selectors import InstanceSelectors
from molecules.engine.state import InstanceState, InstanceStatus
from runnable.messages import ChatMessage, Resource
from runnable.types import ExecutionResult
from runnable.variables import variable_values

__all__ = ["InstanceHandle", "InstanceSelectorAtoms"]


class InstanceSelectorAtoms:
    """The selector atoms of one instance: `atoms.status` is `engine.selectors.status(iid)`."""

    def __init__(self, selectors: InstanceSelectors, instance_id: str) -> None:
        self._selectors = selectors
        self._iid = instance_id

    def __getattr__(self, name: str) -> Atom[Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._selectors.family(name)(self._iid)

    def __dir__(self) -> list[str]:
        return list(self._selectors.names)


class InstanceHandle:
    """Reads and actions of one instance in one store (see the module docstring)."""

    def __init__(
        self,
        selectors: InstanceSelectors,
        actions: EngineActions,
        instance_id: str,
        store: Store,
    ) -> None:
        if not selectors.exists(store.get, instance_id):
            raise InstanceNotFoundError(instance_id)
        self.instance_id = instance_id
        self.store = store
        self.selectors = InstanceSelectorAtoms(selectors, instance_id)
        self._actions = actions

    def __repr__(self) -> str:
        return f"<InstanceHandle {self.instance_id} status={self.status}>"

    # Reads

    def get(self, name: str) -> Any:
        """The current value of the selector `name` for this instance."""
        return self.store.get(getattr(self.selectors, name))

    def observe(self, name: str) -> Observable[Any]:
        """The selector `name` as a reactivex Observable: its value now, then each change."""
        return self.store.observe(getattr(self.selectors, name))

    def sub(self, name: str, listener: Callable[[], Any]) -> Callable[[], None]:
        """Call `listener()` after each change of the selector `name`; returns `unsubscribe`."""
        return self.store.sub(getattr(self.selectors, name), listener)

    @property
    def state(self) -> InstanceState | None:
        """The whole state (None once the instance is removed)."""
        state: InstanceState | None = self.get("state")
        return state

    @property
    def status(self) -> InstanceStatus:
        """idle, initializing, ready, executing, streaming, completed or error."""
        status: InstanceStatus = self.get("status")
        return status

    @property
    def display_messages(self) -> tuple[ChatMessage, ...]:
        """The conversation as shown: history, the question in flight, the reply so far."""
        messages: tuple[ChatMessage, ...] = self.get("display_messages")
        return messages

    @property
    def variables(self) -> dict[str, Any]:
        """Each variable's value, from the highest layer that has it."""
        return variable_values(self.get("merged_variables"))

    @property
    def current_input(self) -> str:
        """The text of the next message."""
        text: str = self.get("current_input")
        return text

    # Actions

    async def send(self, text: str | None = None) -> ExecutionResult:
        """Send the current input (with `text` appended) and return the turn's result."""
        result: ExecutionResult = await self.store.set(
            self._actions.execute_message, self.instance_id, text
        )
        return result

    async def update_variable(self, name: str, value: Any) -> None:
        """Set one user variable (None removes the user's value)."""
        self.store.set(self._actions.update_variable, self.instance_id, name, value)

    async def update_variables(self, values: Mapping[str, Any]) -> None:
        """Set several user variables at once."""
        self.store.set(self._actions.update_variables, self.instance_id, values)

    async def set_input(self, text: str) -> None:
        """Set the text of the next message."""
        self.store.set(self._actions.set_current_input, self.instance_id, text)

    async def add_resource(self, resource: Resource | Mapping[str, Any]) -> int:
        """Attach a resource to the next message; returns its position."""
        index: int = self.store.set(self._actions.add_resource, self.instance_id, resource)
        return index

    async def cancel(self) -> ExecutionResult | None:
        """Stop the turn in flight (what was streamed stays); its result, or None."""
        task = self.store.set(self._actions.cancel, self.instance_id)
        if task is None:
            return None
        result: ExecutionResult = await task
        return result

    async def clear(self) -> None:
        """Start the conversation over (the run so far gets its final status)."""
        ending = self.store.set(self._actions.clear_conversation, self.instance_id)
        if ending is not None:
            await ending

    async def remove(self) -> None:
        """Remove the instance (cancelling its turn); returns once its run has ended."""
        ending = self.store.set(self._actions.remove_instance, self.instance_id)
        if ending is not None:
            await ending
