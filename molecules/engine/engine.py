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

* State: one primitive atom per instance (`engine.state(instance_id)`, a family) holding
  an immutable `InstanceState`. Every change goes through `emit`, which folds an event
  with `reduce_instance` inside one store write, so listeners see each event's result
  at once and `engine.listen` observers see the events themselves.
* Actions (`engine.actions`) are write-only atoms, called with `store.set(action, *args)`.
  Synchronous ones return their result. Actions that do I/O make their synchronous
  change first (so the UI shows it at once, and a second `execute_message` is refused
  at once) and return an `asyncio.Task` that runs whether or not it is awaited.
* Selectors (`engine.selectors`) are families of derived atoms keyed by instance id.
* Values live in the store: one engine serves many stores, each with its own instances.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import attrs

from molecules.core.atom import Atom, Getter, Setter, atom, derived
from molecules.core.family import AtomFamily, atom_family
from molecules.engine.actions import EngineActions
from molecules.engine.brokers import BrokerResolver
from molecules.engine.entity_cache import EntityCache
from molecules.engine.errors import EngineConfigError, InstanceNotFound
from molecules.engine.events import InstanceEvent
from molecules.engine.reducers import reduce_instance
from molecules.engine.run_recorder import TurnRecorder
from molecules.engine.scoped import DEFAULT_SCOPED_TTL, ScopedVariableCache, ScopeSource
from molecules.engine.selectors import InstanceSelectors, same
from molecules.engine.state import InstanceState
from runnable.chat.execution import ChatProviderLike, TurnRequest
from runnable.sources import Source
from runnable.tracking import RunStore
from runnable.variables import DEFAULT_ORDER, Clock

logger = logging.getLogger(__name__)

T = TypeVar("T")
EventListener = Callable[[str, InstanceEvent], Any]
ProviderFactory = Callable[[Mapping[str, Any]], ChatProviderLike]


@attrs.define(slots=True)
class TurnControl:
    """The task running an instance's turn, and why it is being stopped (if it is)."""

    turn_id: str
    request: TurnRequest
    task: asyncio.Task[Any] | None = None
    cancel_requested: bool = False
    complete_requested: bool = False


class ConversationEngine:
    """Prompt instances run as conversations (see the module docstring).

    `prompts`, `builtins` and `actions` are the sources of prompts, built-in prompts and
    prompt actions; `provider` runs every turn (or `provider_for(settings)` picks one per
    model config); `run_store` records runs when an instance's `track_in_runs` is on;
    `brokers` resolves prompt-action brokers; `scoped_sources` ("user", "org", "project")
    give scoped variables, cached `scoped_ttl` seconds per context. `now` is the clock of
    the computed variables; `flush_interval` bounds how long streamed text waits before
    it reaches the run store.
    """

    def __init__(
        self,
        *,
        prompts: Source | None = None,
        builtins: Source | None = None,
        actions: Source | None = None,
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
    ) -> None:
        if flush_interval <= 0:
            raise EngineConfigError(f"flush_interval must be positive, got {flush_interval}")
        self.entities = EntityCache({"prompt": prompts, "builtin": builtins, "action": actions})
        self.scoped = ScopedVariableCache(scoped_sources, ttl=scoped_ttl, clock=monotonic)
        self.provider = provider
        self.provider_for = provider_for
        self.run_store = run_store
        self.brokers = brokers
        self.now = now
        self.order = tuple(order)
        self.flush_interval = flush_interval
        self.stream = stream
        self.state: AtomFamily[str, Atom[InstanceState | None]] = atom_family(
            # Identity: a reducer returns the very same state when nothing changed.
            lambda iid: atom(None, eq=same, name=f"instance({iid})")
        )
        self.turn_control: AtomFamily[str, Atom[TurnControl | None]] = atom_family(
            lambda iid: atom(None, name=f"instance.turn({iid})")
        )
        self.instance_ids: Atom[tuple[str, ...]] = atom((), name="instances")
        self.run_index: Atom[Mapping[str, str]] = atom({}, name="instances.by_run")
        self.prompt_index: Atom[Mapping[str, tuple[str, ...]]] = atom(
            {}, name="instances.by_prompt"
        )
        self.emitter: Atom[None] = derived(write=self._write_emit, name="instance.emit")
        self._listeners: list[EventListener] = []
        self._background: set[asyncio.Task[Any]] = set()
        self.selectors = InstanceSelectors(self)
        self.actions = EngineActions(self)

    def __repr__(self) -> str:
        return f"<ConversationEngine provider={self.provider!r} run_store={self.run_store!r}>"

    # Events

    def listen(self, listener: EventListener) -> Callable[[], None]:
        """Call `listener(instance_id, event)` for every event folded; returns `unlisten`.

        Listeners run inside the store's write: keep them quick and do not write from them.
        """
        self._listeners.append(listener)

        def unlisten() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unlisten

    def emit(
        self, get: Getter, set: Setter, iid: str, event: InstanceEvent
    ) -> InstanceState | None:
        """Fold `event` into instance `iid` (inside a write); None if the instance is gone."""
        if iid not in self.state:
            return None
        slot = self.state(iid)
        old = get(slot)
        if old is None:
            return None
        new = reduce_instance(old, event)
        if new is not old:
            set(slot, new)
            if new.run_id != old.run_id:
                self._reindex_run(get, set, iid, old.run_id, new.run_id)
            if new.prompt_id != old.prompt_id:
                self._reindex_prompt(get, set, iid, old.prompt_id, new.prompt_id)
        for listener in self._listeners:
            listener(iid, event)
        return new

    def _write_emit(self, get: Getter, set: Setter, iid: str, event: InstanceEvent) -> None:
        self.emit(get, set, iid, event)

    def emitter_for(self, set: Setter, iid: str) -> Callable[[InstanceEvent], None]:
        """A function that folds events into `iid` from outside a write (async code)."""
        emitter = self.emitter
        return lambda event: set(emitter, iid, event)

    def _reindex_run(
        self, get: Getter, set: Setter, iid: str, old: str | None, new: str | None
    ) -> None:
        index = dict(get(self.run_index))
        if old is not None and index.get(old) == iid:
            del index[old]
        if new is not None:
            index[new] = iid
        set(self.run_index, index)

    # Instances

    def require(self, get: Getter, iid: str) -> InstanceState:
        """The instance's state, or `InstanceNotFound`."""
        state = get(self.state(iid)) if iid in self.state else None
        if state is None:
            raise InstanceNotFound(iid)
        return state

    def _reindex_prompt(
        self, get: Getter, set: Setter, iid: str, old: str | None, new: str | None
    ) -> None:
        index = dict(get(self.prompt_index))
        if old is not None:
            kept = tuple(i for i in index.get(old, ()) if i != iid)
            if kept:
                index[old] = kept
            else:
                index.pop(old, None)
        if new is not None:
            index[new] = (*index.get(new, ()), iid)
        set(self.prompt_index, index)

    def register(self, get: Getter, set: Setter, state: InstanceState) -> None:
        """Add a new instance (lookups follow its events)."""
        set(self.state(state.id), state)
        set(self.instance_ids, (*get(self.instance_ids), state.id))

    def unregister(self, get: Getter, set: Setter, state: InstanceState) -> None:
        """Forget an instance: its atoms, and its place in the lookups."""
        iid = state.id
        set(self.instance_ids, tuple(i for i in get(self.instance_ids) if i != iid))
        if state.prompt_id is not None:
            self._reindex_prompt(get, set, iid, state.prompt_id, None)
        if state.run_id is not None:
            self._reindex_run(get, set, iid, state.run_id, None)
        set(self.state(iid), None)
        self.state.remove(iid)
        self.turn_control.remove(iid)
        self.selectors.forget(iid)

    # Collaborators

    def provider_for_settings(self, settings: Mapping[str, Any]) -> ChatProviderLike:
        """The provider that runs a turn with these model settings."""
        if self.provider_for is not None:
            return self.provider_for(settings)
        if self.provider is None:
            raise EngineConfigError(
                "the engine has no chat provider: pass provider= or provider_for="
            )
        return self.provider

    def recorder(
        self, state: InstanceState, emit: Callable[[InstanceEvent], Any]
    ) -> TurnRecorder | None:
        """A recorder for the next turn, or None when this instance is not tracked."""
        if self.run_store is None or not state.config.track_in_runs:
            return None
        return TurnRecorder(self.run_store, emit, flush_interval=self.flush_interval)

    def now_value(self) -> datetime | Clock | None:
        """The clock computed variables are read from."""
        return self.now

    # Tasks

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """Run `coro` as a task of this engine (kept alive until it ends)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            raise EngineConfigError(
                "this action does I/O: call it from code running in an asyncio loop"
            ) from None
        task = loop.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def drain(self) -> None:
        """Wait for every task this engine started (turns, loads, run endings)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
