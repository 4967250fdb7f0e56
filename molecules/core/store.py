"""The Store: values of atoms, dependency tracking, propagation and subscriptions.

The propagation story lives in this file (node.py holds the per-atom state, mounting.py
the subscriber edges, async_reads.py the async reads). In short:

* Every atom has one `Node` per store. A node records the dependencies its last read
  used, each with the version it had then (`deps`, flat pairs); a node's `version` grows
  each time its value changes.
* Writes are push-pull. A write to a primitive bumps its version and the store's `epoch`,
  then marks every mounted dependent stale (`fresh = STALE`) and queues the stale nodes
  that have listeners. Nothing recomputes during the push.
* Reads pull. A stale node walks its recorded dependencies in order, refreshing each
  first; it recomputes only when one of them really has a new version, so equal values
  cut propagation off and a branch that was not taken is never computed.
* Mounted nodes are kept up to date by marks (`fresh = CLEAN` until marked); unmounted
  nodes are verified lazily: `fresh` holds the epoch at which they were last checked.
* No graph depth exhausts Python's recursion limit: refreshes (and reads nested inside a
  read) recurse only up to `MAX_NESTING` levels; deeper, the inner work unwinds
  (`Deferred`) to an iterative loop that refreshes that node first and then retries;
  marking, mounting and unmounting use explicit stacks.
* One re-entrant lock guards every method; listeners run after the write committed,
  outside the lock, in a per-thread queue that also absorbs writes made by listeners.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from molecules.core.async_reads import AsyncReads
from molecules.core.atom import Atom
from molecules.core.errors import AsyncReadError, ListenerError, NotWritableError
from molecules.core.mounting import Mounting
from molecules.core.node import (
    CLAIM_LOCK,
    CLEAN,
    MAX_NESTING,
    NO_VALUE,
    READ_FRAMES,
    STALE,
    Aftermath,
    Deferred,
    ErrorSeen,
    Listener,
    Node,
    ReadContext,
    Token,
    raise_error,
    same,
)

if TYPE_CHECKING:
    from reactivex import Observable
    from reactivex.abc import SchedulerBase

T = TypeVar("T")


class _NotReading:
    """`_collect` outside any read: a `get` kept past its read records nothing."""

    __slots__ = ()

    def append(self, _: Any) -> None:
        """Record nothing."""


_NOT_READING = _NotReading()
_NONE: list[Any] = []  # shared and never appended to: no cleanups this time


class Store(Mounting, AsyncReads):
    """Holds the values of atoms; read with `get`, write with `set`, watch with `sub`."""

    def __init__(self) -> None:
        self._tok = Token()
        self._lock = threading.RLock()
        self._epoch = 0
        self._writes = 0  # depth of writes and batches in progress
        self._nesting = 0
        self._floor = 0  # `_nesting` where the innermost `_ensure` loop runs
        self._pending: list[Node] = []
        self._on_mount: list[Node] = []
        self._cleanups: list[Callable[[], Any]] = []
        self._mounted: dict[Atom[Any], Node] = {}
        self._local = threading.local()
        # One getter per store: the dependencies of the read in progress go to `_collect`
        # (saved and restored around each read, since reads nest). Cheaper than a closure
        # per recompute.
        self._collect: Any = _NOT_READING
        self._get = self._make_getter()

    def _make_getter(self) -> Callable[[Atom[Any]], Any]:
        tok = self._tok
        node_of = self._node
        nested = self._refresh_nested
        store = self
        owned = self._lock._is_owned  # type: ignore[attr-defined]

        def get(b: Atom[Any]) -> Any:
            collect = store._collect
            if collect is _NOT_READING or not owned():
                # A `get` kept past its read, or called from another thread: a plain read.
                return store.get(b)
            d = b._node if b._tok is tok else node_of(b)
            if d.fresh < store._epoch:
                nested(d)
            collect.append(d)
            collect.append(d.version)
            if d.error is not None:
                raise_error(d)
            return d.value

        return get

    # -- public API -------------------------------------------------------------------

    def get(self, a: Atom[T]) -> T:
        """The current value of `a` (an awaitable for an atom whose read is async)."""
        with self._lock:
            n = a._node if a._tok is self._tok else self._node(a)
            if n.fresh < self._epoch:
                self._ensure(n)
            if n.error is not None:
                raise_error(n)
            value: T = n.value
            return value

    def set(self, a: Atom[Any], *args: Any) -> Any:
        """Write `a` (a primitive takes one value); returns what the write function returns."""
        after = None
        try:
            with self._lock:
                self._writes += 1
                try:
                    return self._write(a, args)
                finally:
                    self._writes -= 1
                    after = self._finish() if self._writes == 0 else None
        finally:
            # Even when the write raised, what it committed is delivered.
            if after is not None:
                self._after(after)

    def _write(self, a: Atom[Any], args: tuple[Any, ...]) -> Any:
        if a.write is not None:
            return a.write(self.get, self.set, *args)
        if a.read is not None:
            raise NotWritableError(f"{a!r} is read-only: it has no write function")
        if len(args) != 1:
            raise NotWritableError(
                f"{a!r} is a primitive atom: set it with exactly one value, got {len(args)}"
            )
        n = a._node if a._tok is self._tok else self._node(a)
        old = n.value
        value = args[0]
        if old is not value and not same(a.eq, old, value):
            n.value = value
            n.version += 1
            self._epoch += 1
            if n.mounted:
                self._mark_from(n, include_self=True)
        return None

    def sub(self, a: Atom[Any], listener: Callable[[], Any]) -> Callable[[], None]:
        """Call `listener()` after each committed change of `a`; returns `unsubscribe`.

        If an `on_mount` that this subscription triggers raises, the subscription is
        undone and `ListenerError` raised.
        """
        rec = Listener(listener)
        with self._lock:
            self._writes += 1
            try:
                n = self._node(a)
                if n.fresh < self._epoch:
                    self._ensure(n)
                if n.listeners is None:
                    n.listeners = [rec]
                else:
                    n.listeners.append(rec)
                n.notified = n.value if n.error is None else ErrorSeen(n.error)
                if not n.mounted:
                    self._mount(n)
            finally:
                self._writes -= 1
                after = self._finish() if self._writes == 0 else None

        # Released on unsubscribe, so a kept `unsubscribe` does not keep the atom alive.
        held: list[Node] = [n]

        def unsubscribe() -> None:
            with self._lock:
                if not held:
                    return
                n = held.pop()
                rec.active = False
                listeners = n.listeners
                if listeners is not None:
                    listeners.remove(rec)
                    if not listeners:
                        n.listeners = None
                        if not n.dependents:
                            self._unmount(n)
                cleanups, self._cleanups = self._cleanups, []
            if cleanups:
                self._after(Aftermath([], cleanups, []))

        if after is not None:
            mount_failed = bool(after.errors)  # on_mount errors; listeners' come later
            try:
                self._after(after)
            except ListenerError:
                if mount_failed:
                    unsubscribe()
                raise
        return unsubscribe

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes: listeners are notified once, after the block, with settled values."""
        after = None
        try:
            with self._lock:
                self._writes += 1
                try:
                    yield
                finally:
                    self._writes -= 1
                    if self._writes == 0:
                        after = self._finish()
        finally:
            if after is not None:
                self._after(after)

    def refresh(self, a: Atom[Any]) -> None:
        """Make a derived atom read again (on next use, or now if mounted)."""
        if a.read is None:
            return
        after = None
        try:
            with self._lock:
                self._writes += 1
                try:
                    n = self._node(a)
                    n.dirty = True  # recompute even if no dependency changed
                    n.fresh = STALE
                    self._epoch += 1
                    if n.mounted:
                        self._mark_from(n, include_self=True)
                finally:
                    self._writes -= 1
                    after = self._finish() if self._writes == 0 else None
        finally:
            if after is not None:
                self._after(after)

    def observe(self, a: Atom[T], scheduler: SchedulerBase | None = None) -> Observable[T]:
        """A reactivex Observable: the current value on subscribe, then each change."""
        from molecules.core.observe import observe_atom

        return observe_atom(self, a, scheduler)

    def is_mounted(self, a: Atom[Any]) -> bool:
        """True while `a` has a subscriber in this store, directly or through dependents."""
        with self._lock:
            return a in self._mounted

    # -- nodes ------------------------------------------------------------------------

    def _node(self, a: Atom[Any]) -> Node:
        tok = self._tok
        if a._tok is tok:
            node: Node = a._node
            return node
        # Two stores may meet the same atom at once, each under its own lock.
        with CLAIM_LOCK:
            if a._tok is None:
                node = Node(a)
                a._node = node
                a._tok = tok
                return node
            if a._tok is tok:
                return a._node  # type: ignore[no-any-return]
            more = getattr(a, "_more", None)
            if more is None:
                more = a._more = weakref.WeakKeyDictionary()
            found = more.get(tok)
            if found is None:
                found = more[tok] = Node(a)
            return found

    # -- pull: bring a node up to date ------------------------------------------------

    def _ensure(self, root: Node) -> None:
        # Refreshes recurse at most MAX_NESTING levels; a deeper one unwinds to here
        # (`Deferred`), its node is refreshed from this loop, and the outer one retried.
        stack = [root]
        floor, self._floor = self._floor, self._nesting
        try:
            while stack:
                n = stack[-1]
                if n.fresh >= self._epoch:
                    stack.pop()
                    continue
                try:
                    self._refresh(n)
                except Deferred as deferred:
                    stack.append(deferred.node)
                    continue
                stack.pop()
        finally:
            self._floor = floor

    def _refresh(self, n: Node) -> None:
        epoch = self._epoch
        deps = n.deps
        if deps is not None and not n.dirty:
            i = 0
            size = len(deps)
            while i < size:
                d = deps[i]
                if d.fresh < epoch:
                    if self._nesting >= MAX_NESTING:
                        raise Deferred(d)
                    self._nesting += 1
                    try:
                        self._refresh(d)
                    finally:
                        self._nesting -= 1
                if d.version != deps[i + 1]:
                    break  # a dependency changed: recompute
                i += 2
            else:
                n.fresh = CLEAN if n.mounted else epoch
                return
        self._compute(n)
        n.fresh = CLEAN if n.mounted else epoch

    def _refresh_nested(self, n: Node) -> None:
        # `_nesting` counts Python frames: a dependency check costs 1, a read nested in a
        # read READ_FRAMES.
        if self._nesting >= MAX_NESTING - READ_FRAMES:
            raise Deferred(n)
        self._nesting += READ_FRAMES
        try:
            self._refresh(n)
        finally:
            self._nesting -= READ_FRAMES

    def _compute(self, n: Node) -> None:
        a = n.atom
        deps: list[Any] = []
        read: Any = a.read
        error: BaseException | None = None
        value: Any = NO_VALUE
        mode = a.mode
        try:
            if mode == 2:
                run = n.more().run + 1  # counted only once the run really starts
                aget = self._async_getter(n, deps, run)
                coro = read(aget, ReadContext(self, a)) if a.wants_ctx else read(aget)
                value = self._start_async(n, coro, run)
            else:
                saved = self._collect
                self._collect = deps
                try:
                    get = self._get
                    value = read(get) if mode == 0 else read(get, ReadContext(self, a))
                finally:
                    self._collect = saved
        except Deferred:
            raise
        except AsyncReadError:
            n.dirty = True  # not a value of the atom: the next read in a loop retries
            n.fresh = STALE
            raise
        except RecursionError as exc:
            if self._nesting > self._floor:
                # Reads deeper than the frame budget guessed: retry from the outer loop.
                raise Deferred(n) from None
            error = exc
        except Exception as exc:
            error = exc
        n.dirty = False
        old_deps = n.deps
        n.deps = deps
        if mode == 2:
            if n.mounted and old_deps:
                # The new run reads after `await`s: the old edges stay until it settles.
                extra = n.more()
                extra.kept = list(dict.fromkeys([*extra.kept, *old_deps[::2]]))
        elif n.mounted and (
            not old_deps
            or not deps
            or old_deps[0] is not deps[0]
            or len(old_deps) != len(deps)
            or (len(deps) > 2 and old_deps[::2] != deps[::2])
        ):
            self._rewire(n, old_deps[::2] if old_deps else [], deps[::2])
        if error is not None:
            if error is not n.error:
                n.error = error
                # Kept so that each re-raise starts from it: raising the same object
                # again would otherwise grow its traceback on every read.
                n.more().tb = error.__traceback__
                n.value = NO_VALUE
                n.version += 1
            return
        old = n.value
        if n.error is not None or old is NO_VALUE:
            n.error = None
        elif old is value:
            return
        elif a.eq is None:
            # `default_eq`, inlined: this runs on every recompute.
            try:
                if old == value:
                    return
            except Exception:
                pass  # a comparison that raises counts as a change
        elif same(a.eq, old, value):
            return
        n.value = value
        n.version += 1

    # -- push: mark stale -------------------------------------------------------------

    def _mark_from(self, src: Node, *, include_self: bool) -> None:
        pending = self._pending
        if include_self:
            if src.listeners is not None and not src.queued:
                src.queued = True
                pending.append(src)
            if src.atom.read is not None:
                src.fresh = STALE
        if not src.dependents:
            return
        stack = list(src.dependents)
        while stack:
            d = stack.pop()
            if d.fresh != CLEAN:
                continue  # already stale, and so is everything downstream of it
            d.fresh = STALE
            if d.listeners is not None and not d.queued:
                d.queued = True
                pending.append(d)
            if d.dependents:
                stack.extend(d.dependents)

    # -- after a write: mount callbacks, then listeners -------------------------------

    def _finish(self) -> Aftermath | None:
        """Settle a committed write: on_mount callbacks, then which listeners to call.

        Runs under the lock; what must run outside it (listeners, cleanups) and the errors
        of on_mount callbacks are returned for `_after`.
        """
        if not self._pending and not self._on_mount and not self._cleanups:
            return None
        calls: list[Listener] = []
        errors: list[Exception] = []
        self._writes += 1  # writes made from here are folded into this flush
        try:
            while True:
                if self._on_mount:
                    n = self._on_mount.pop(0)
                    if n.mounted and (n.extra is None or n.extra.cleanup is None):
                        try:
                            self._run_on_mount(n)
                        except Exception as exc:
                            errors.append(exc)
                    continue
                if not self._pending:
                    break
                pending, self._pending = self._pending, []
                for i, n in enumerate(pending):
                    n.queued = False
                    if n.listeners is None:
                        continue
                    if n.fresh != CLEAN:
                        try:
                            self._refresh(n)
                        except Deferred:
                            self._ensure(n)
                        except BaseException:
                            self._pending[:0] = pending[i + 1 :]  # still queued: next flush
                            raise
                    seen = n.notified
                    if n.error is not None:
                        if type(seen) is ErrorSeen and seen.error is n.error:
                            continue
                        n.notified = ErrorSeen(n.error)
                    else:
                        current = n.value
                        if current is seen or (
                            type(seen) is not ErrorSeen and same(n.atom.eq, seen, current)
                        ):
                            continue
                        n.notified = current
                    calls.extend(n.listeners)
        finally:
            self._writes -= 1
        cleanups = self._cleanups
        if cleanups:
            self._cleanups = []
        elif not errors:
            return Aftermath(calls, _NONE, errors)  # the common case: nothing else to do
        return Aftermath(calls, cleanups, errors)

    def _after(self, after: Aftermath) -> None:
        """Outside the lock: run cleanups, then listeners; raise what failed, together."""
        calls, cleanups, errors = after
        if not cleanups and not errors:
            if calls:
                self._dispatch(calls, errors)
            return
        for cleanup in cleanups:
            try:
                cleanup()
            except Exception as exc:
                errors.append(exc)
        if calls:
            self._dispatch(calls, errors)
        elif errors:
            raise ListenerError(errors)

    def _dispatch(self, calls: list[Listener], errors: list[Exception]) -> None:
        local = self._local
        queue: list[Listener] | None = getattr(local, "queue", None)
        if queue is not None:
            queue.extend(calls)  # a listener wrote: the outer loop delivers these
            if errors:
                raise ListenerError(errors)
            return
        local.queue = queue = calls
        try:
            i = 0
            while i < len(queue):
                rec = queue[i]
                i += 1
                if rec.active:
                    try:
                        rec.fn()
                    except Exception as exc:
                        errors.append(exc)
        finally:
            local.queue = None
        if errors:
            raise ListenerError(errors)
