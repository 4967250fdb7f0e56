"""The instances of one engine: their atoms and lookups, the events that change them, the
tasks that run them, and the collaborators (sources, provider, run store, clock) used.

Every other part of the engine imports this module and nothing above it: turns, editing,
starting and prompt actions write through `Instances.emit` and run I/O with
`Instances.spawn`; selectors read `Instances.state` and the lookups. `ConversationEngine`
builds one `Instances` and wires the actions and selectors onto it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from molecules.core.atom import Atom, Getter, Setter, atom, derived
from molecules.core.family import AtomFamily, atom_family
from molecules.engine.brokers import BrokerResolver
from molecules.engine.entity_cache import EntityCache
from molecules.engine.errors import EngineConfigError, InstanceNotFoundError
from molecules.engine.events import InstanceEvent
from molecules.engine.reducers import reduce_instance
from molecules.engine.run_recorder import TurnRecorder
from molecules.engine.scoped import ScopedVariableCache
from molecules.engine.state import InstanceState, identical
from runnable.chat.execution import ChatProviderLike, TurnDelta, TurnRequest
from runnable.chat.tool_loop import DEFAULT_MAX_TOOL_ROUNDS
from runnable.tools import Decision, ToolRegistry
from runnable.tracking import RunStore
from runnable.variables import Clock

T = TypeVar("T")
EventListener = Callable[[str, InstanceEvent], Any]
ProviderFactory = Callable[[Mapping[str, Any]], ChatProviderLike]


@attrs.define(slots=True)
class TurnControl:
    """The task running an instance's turn, and why it is being stopped (if it is)."""

    turn_id: str
    request: TurnRequest | None = None  # set once the turn's task has rendered it
    task: asyncio.Task[Any] | None = None
    cancel_requested: bool = False
    complete_requested: bool = False
    started: bool = False  # the turn's task began running (a cancel before it must end it)
    # What `complete_execution(iid, response_text, stats)` gave for the reply, if anything.
    response_text: str | None = None
    stats: Mapping[str, Any] | None = None
    # Tool calls waiting for a person: `approve_tool_call` resolves them (approved, result).
    approvals: dict[str, asyncio.Future[Decision]] = attrs.field(factory=dict)


def _run_in_write(get: Getter, set: Setter, write: Callable[..., Any], *args: Any) -> Any:
    return write(get, set, *args)


class Instances:
    """The state every part of the engine shares (see the module docstring)."""

    def __init__(
        self,
        *,
        entities: EntityCache,
        scoped: ScopedVariableCache,
        provider: ChatProviderLike | None,
        provider_for: ProviderFactory | None,
        run_store: RunStore | None,
        brokers: BrokerResolver | None,
        now: Clock | None,
        order: Sequence[str],
        flush_interval: float,
        stream: bool,
        instance_ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        tools: ToolRegistry | None = None,
        max_tool_rounds: int = DEFAULT_MAX_TOOL_ROUNDS,
    ) -> None:
        self.entities = entities
        self.scoped = scoped
        self.provider = provider
        self.provider_for = provider_for
        self.run_store = run_store
        self.brokers = brokers
        self.now = now
        self.order = tuple(order)
        self.flush_interval = flush_interval
        self.stream = stream
        self.instance_ttl = instance_ttl
        self.clock = clock
        self.tools = tools
        self.max_tool_rounds = max_tool_rounds
        self.state: AtomFamily[str, Atom[InstanceState | None]] = atom_family(
            # Identity: a reducer returns the very same state when nothing changed.
            lambda iid: atom(None, eq=identical, name=f"instance({iid})")
        )
        self.turn_control: AtomFamily[str, Atom[TurnControl | None]] = atom_family(
            lambda iid: atom(None, name=f"instance.turn({iid})")
        )
        self.instance_ids: Atom[tuple[str, ...]] = atom((), name="instances")
        self.run_index: Atom[Mapping[str, str]] = atom({}, name="instances.by_run")
        self.prompt_index: Atom[Mapping[str, tuple[str, ...]]] = atom(
            {}, name="instances.by_prompt"
        )
        # When each instance last changed (by `clock`), kept only with an instance_ttl.
        self.touched: AtomFamily[str, Atom[float]] = atom_family(
            lambda iid: atom(0.0, name=f"instance.touched({iid})")
        )
        # The task removing expired instances, per store (keyed by its `set`).
        self.reapers: dict[Any, asyncio.Task[Any]] = {}
        self.emitter: Atom[None] = derived(write=self._write_emit, name="instance.emit")
        self.writer: Atom[None] = derived(write=_run_in_write, name="instance.write")
        """`set(writer, write, *args)` runs `write(get, set, *args)` as one store write."""
        self._listeners: list[EventListener] = []
        self._removed: list[Callable[[str], None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        # The last recording of a turn driven from outside, per instance: the next waits.
        self.recordings: dict[str, asyncio.Task[Any]] = {}

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
        if self.instance_ttl is not None and not isinstance(event, TurnDelta):
            set(self.touched(iid), self.clock())  # a streamed chunk only comes while busy
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

    # Instances

    def require(self, get: Getter, iid: str) -> InstanceState:
        """The instance's state, or `InstanceNotFoundError`."""
        state = get(self.state(iid)) if iid in self.state else None
        if state is None:
            raise InstanceNotFoundError(iid)
        return state

    def register(self, get: Getter, set: Setter, state: InstanceState) -> None:
        """Add a new instance (lookups follow its events)."""
        set(self.state(state.id), state)
        set(self.instance_ids, (*get(self.instance_ids), state.id))
        if state.prompt_id is not None:
            self._reindex_prompt(get, set, state.id, None, state.prompt_id)
        if state.run_id is not None:
            self._reindex_run(get, set, state.id, None, state.run_id)
        if self.instance_ttl is not None:
            set(self.touched(state.id), self.clock())

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
        self.touched.remove(iid)
        for forget in self._removed:
            forget(iid)

    def when_removed(self, forget: Callable[[str], None]) -> None:
        """Call `forget(instance_id)` after an instance is unregistered (to drop its atoms)."""
        self._removed.append(forget)

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
