"""ConversationEngine: prompt instances as atoms, with actions, selectors and run tracking.

```python
engine = ConversationEngine(prompts=InMemorySource({...}), provider=ChatProvider(...),
                            run_store=await RunStore.open())
store = Store()
instance_id = await store.set(engine.actions.start_prompt_instance, "greeter",
                              {"variables": {"topic": "tides"}})
result = await store.set(engine.actions.execute_message, instance_id, "Hello")
store.get(engine.selectors.display_messages(instance_id))
```

How the pieces fit:

* State (`instances.py`, `engine.instances`): one primitive atom per instance
  (`engine.state(instance_id)`, a family) holding an immutable `InstanceState`, and the
  lookups by prompt and run. Every change goes through `Instances.emit`, which folds an
  event with `reduce_instance` inside one store write, so listeners see each event's
  result at once and `engine.listen` observers see the events themselves.
* Actions (`engine.actions`) are write-only atoms, called with `store.set(action, *args)`.
  Synchronous ones return their result. Actions that do I/O make their synchronous
  change first (so the UI shows it at once, and a second `execute_message` is refused
  at once) and return an `asyncio.Task` that runs whether or not it is awaited.
  Their write functions live in `starting.py`, `prompt_action.py`, `turns.py`,
  `editing.py`, `driving.py` and `expiry.py`; each takes the `Instances`.
* Selectors (`engine.selectors`) are families of derived atoms keyed by instance id.
* Handles (`handle.py`): `engine.instance(iid, store)` gives one instance's selectors and
  actions in one object (the Python `usePromptInstance`).
* Turns driven from outside (`driving.py`, `outside.py`): `start_execution`,
  `start_streaming`, `complete_execution`, `apply_event`; their end is recorded.
* Expiry (`expiry.py`): with `instance_ttl`, instances left alone are removed.
* Values live in the store: one engine serves many stores, each with its own instances.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from molecules.core.atom import Atom
from molecules.core.family import AtomFamily
from molecules.core.store import Store
from molecules.engine.actions import EngineActions
from molecules.engine.brokers import BrokerResolver
from molecules.engine.entity_cache import EntityCache
from molecules.engine.errors import EngineConfigError
from molecules.engine.handle import InstanceHandle
from molecules.engine.instances import EventListener, Instances, ProviderFactory, TurnControl
from molecules.engine.scoped import DEFAULT_SCOPED_TTL, ScopedVariableCache, ScopeSource
from molecules.engine.selectors import InstanceSelectors
from molecules.engine.state import InstanceState
from runnable.chat.execution import ChatProviderLike
from runnable.chat.tool_loop import DEFAULT_MAX_TOOL_ROUNDS
from runnable.sources import Source
from runnable.tools import ToolRegistry
from runnable.tracking import RunStore
from runnable.variables import DEFAULT_ORDER, Clock


class ConversationEngine:
    """Prompt instances run as conversations (see the module docstring).

    `prompts`, `builtins` and `actions` are the sources of prompts, built-in prompts and
    prompt actions (or `molecules`, {"prompt"|"builtin"|"action": molecule}, to read them
    with their drafts in the caller's store, as the bridge does); `provider` runs every
    turn (or `provider_for(settings)` picks one per model config); `run_store` records
    runs when an instance's `track_in_runs` is on;
    `brokers` resolves prompt-action brokers; `scoped_sources` ("user", "org", "project")
    give scoped variables, cached `scoped_ttl` seconds per context. `now` is the clock of
    the computed variables; `flush_interval` bounds how long streamed text waits before
    it reaches the run store. With `instance_ttl`, an instance that is not executing,
    has no subscriber and has not changed for that many seconds (of `monotonic`) is
    removed (`expiry.py`).
    it reaches the run store. With `tools`, a turn may call them (`tool_loop.py`), up to
    `max_tool_rounds` rounds; a tool that requires approval pauses the turn in status
    `awaiting_approval` until `actions.approve_tool_call`.
    """

    def __init__(
        self,
        *,
        prompts: Source | None = None,
        builtins: Source | None = None,
        actions: Source | None = None,
        molecules: Mapping[str, Any] | None = None,
        provider: ChatProviderLike | None = None,
        provider_for: ProviderFactory | None = None,
        run_store: RunStore | None = None,
        brokers: BrokerResolver | None = None,
        scoped_sources: Mapping[str, ScopeSource] | None = None,
        scoped_ttl: float = DEFAULT_SCOPED_TTL,
        now: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        order: Sequence[str] = DEFAULT_ORDER,
        flush_interval: float = 0.5,
        stream: bool = True,
        instance_ttl: float | None = None,
        tools: ToolRegistry | None = None,
        max_tool_rounds: int = DEFAULT_MAX_TOOL_ROUNDS,
    ) -> None:
        if flush_interval <= 0:
            raise EngineConfigError(f"flush_interval must be positive, got {flush_interval}")
        if instance_ttl is not None and not instance_ttl > 0:
            raise EngineConfigError(f"instance_ttl must be positive seconds, got {instance_ttl}")
        self.instances = Instances(
            entities=EntityCache(
                {"prompt": prompts, "builtin": builtins, "action": actions}, molecules
            ),
            scoped=ScopedVariableCache(scoped_sources, ttl=scoped_ttl, clock=monotonic),
            provider=provider,
            provider_for=provider_for,
            run_store=run_store,
            brokers=brokers,
            now=now,
            order=order,
            flush_interval=flush_interval,
            stream=stream,
            instance_ttl=instance_ttl,
            clock=monotonic,
            tools=tools,
            max_tool_rounds=max_tool_rounds,
        )
        self.selectors = InstanceSelectors(self.instances)
        self.instances.when_removed(self.selectors.forget)
        self.actions = EngineActions(self.instances)

    def __repr__(self) -> str:
        instances = self.instances
        return (
            f"<ConversationEngine provider={instances.provider!r} "
            f"run_store={instances.run_store!r}>"
        )

    def instance(self, instance_id: str, store: Store) -> InstanceHandle:
        """One instance in `store` as a handle: its selectors and actions in one object."""
        return InstanceHandle(self.selectors, self.actions, instance_id, store)

    @property
    def state(self) -> AtomFamily[str, Atom[InstanceState | None]]:
        """The atom of each instance's state, by instance id."""
        return self.instances.state

    @property
    def turn_control(self) -> AtomFamily[str, Atom[TurnControl | None]]:
        """The atom of each instance's turn in flight, by instance id."""
        return self.instances.turn_control

    @property
    def emitter(self) -> Atom[None]:
        """`store.set(engine.emitter, instance_id, event)` folds one event."""
        return self.instances.emitter

    def listen(self, listener: EventListener) -> Callable[[], None]:
        """Call `listener(instance_id, event)` for every event folded; returns `unlisten`."""
        return self.instances.listen(listener)

    async def drain(self) -> None:
        """Wait for every task this engine started (turns, loads, run endings)."""
        await self.instances.drain()
