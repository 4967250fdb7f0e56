"""How the store propagates: the whole algorithm in one file (as Jotai's internals.ts).

* Every atom has one `Node` per store (node.py). A node records the dependencies its
  last read used, each with the version it had then (`deps`, flat pairs); a node's
  `version` grows each time its value changes.
* Dependency tracking: a read function gets the store's one `get`, which appends each
  node it reads to `_collect`, the list of the read in progress (reads nest, so
  `_refresh` saves and restores it).
* Invalidation is a push: a write to a primitive bumps its version and the store's
  `epoch`, then marks every mounted dependent stale (`fresh = STALE`) and queues the
  stale nodes that have listeners (`_mark_from`). Nothing recomputes during the push.
* Recompute in dependency order is a pull: a stale node walks its recorded dependencies
  in order, refreshing each first, and recomputes only when one of them really has a new
  version (`_refresh`), so equal values cut propagation off and a branch that was not
  taken is never computed. Mounted nodes stay `CLEAN` until marked; unmounted nodes are
  verified lazily (`fresh` holds the epoch at which they were last checked).
* Mounting: a node with a listener is mounted, and so is everything it reads; each
  mounted dependency knows its mounted dependents, the edges the push follows
  (mounting.py keeps them as reads change).
* Flush: when the outermost write ends, `_finish` runs the `on_mount` callbacks and
  refreshes each queued node, collecting the listeners whose value really changed; they
  run after the lock is released (delivery.py), in a per-thread queue that also absorbs
  writes made by listeners.
* No graph depth exhausts Python's recursion limit: refreshes (and reads nested inside a
  read) recurse only up to `MAX_NESTING` frames; deeper, the inner work unwinds
  (`Deferred`) to the iterative loop of `_ensure`, which refreshes that node first and
  retries. Marking, mounting and unmounting use explicit stacks.
* Async reads (`async def`) run as tasks (async_reads.py); reads after an `await` are
  tracked by `_async_getter`, and the previous run's edges stay until the run settles.
* One re-entrant lock guards every entry point.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final, TypeVar

from molecules.core.async_reads import start_async
from molecules.core.atom import Atom, Token
from molecules.core.delivery import deliver
from molecules.core.errors import AsyncReadError, NotWritableError
from molecules.core.mounting import Mounts
from molecules.core.node import (
    CLEAN,
    MAX_NESTING,
    NO_VALUE,
    READ_FRAMES,
    STALE,
    Aftermath,
    Deferred,
    ErrorSeen,
    Extra,
    Listener,
    Node,
    ReadContext,
    node_of,
    raise_error,
    same,
)

T = TypeVar("T")


_NONE: Final[list[Any]] = []  # shared and never appended to: no cleanups or errors this time


class StoreCore:
    """The state of one store and the propagation algorithm; `Store` is its public face."""

    def __init__(self) -> None:
        self._tok = Token()
        self._lock = threading.RLock()
        self._acquire, self._release = self._lock.acquire, self._lock.release
        self._epoch = 0
        self._writes = 0  # depth of writes, batches and subscriptions in progress
        self._nesting = 0
        self._floor = 0  # `_nesting` where the innermost `_ensure` loop runs
        self._pending: list[Node] = []
        self._mounts = Mounts()
        self._mounted = self._mounts.mounted
        self._queues: dict[int, list[Listener]] = {}  # deliveries running, by thread
        self._collect: list[Any] | None = None  # the reads of the read in progress
        # One getter per store, cheaper than a closure per recompute.
        self._get = self._make_getter()

    # -- reading ----------------------------------------------------------------------

    def get(self, a: Atom[T]) -> T:
        """The current value of `a` (an awaitable for an atom whose read is async)."""
        # acquire/release rather than `with`: half the cost on the hottest path.
        self._acquire()
        try:
            n: Node = a._node if a._tok is self._tok else node_of(a, self._tok)
            if n.fresh < self._epoch:
                self._ensure(n)
            if n.error is not None:
                raise_error(n)
            value: T = n.value
            return value
        finally:
            self._release()

    def _make_getter(self) -> Callable[[Atom[Any]], Any]:
        tok = self._tok
        store = self
        owned = self._lock._is_owned  # type: ignore[attr-defined]

        def get(b: Atom[Any]) -> Any:
            collect = store._collect
            if collect is None or not owned():
                # A `get` kept past its read, or called from another thread: a plain read.
                return store.get(b)
            d: Node = b._node if b._tok is tok else node_of(b, tok)
            if d.fresh < store._epoch:
                # A read nested in a read costs READ_FRAMES Python frames.
                if store._nesting >= MAX_NESTING - READ_FRAMES:
                    raise Deferred(d)
                store._nesting += READ_FRAMES
                try:
                    store._refresh(d)
                finally:
                    store._nesting -= READ_FRAMES
            # A read repeated right after itself (or after one other) is recorded once.
            if not collect or (collect[-2] is not d and (len(collect) < 4 or collect[-4] is not d)):
                collect.append(d)
                collect.append(d.version)
            if d.error is not None:
                raise_error(d)
            return d.value

        return get

    # -- writing and invalidation -----------------------------------------------------

    def set(self, a: Atom[Any], *args: Any) -> Any:
        """Write `a` (a primitive takes one value); returns what the write function returns."""
        after = None
        try:
            self._acquire()
            try:
                self._writes += 1
                try:
                    n: Node = a._node if a._tok is self._tok else node_of(a, self._tok)
                    if n.mode == -1 and len(args) == 1:
                        # A primitive: the common write, inlined (its equality too).
                        old = n.value
                        value = args[0]
                        if old is value:
                            return None
                        if n.eq is None:
                            try:
                                if old == value:
                                    return None
                            except Exception:
                                pass  # a comparison that raises counts as a change
                        elif same(n.eq, old, value):
                            return None
                        n.value = value
                        n.version += 1
                        self._epoch += 1
                        if n.mounted:
                            self._mark_from(n)
                        return None
                    return self._write(a, args)
                finally:
                    self._writes -= 1
                    if self._writes == 0 and (
                        self._pending or self._mounts.on_mount or self._mounts.cleanups
                    ):
                        after = self._finish()
            finally:
                self._release()
        finally:
            # Even when the write raised, what it committed is delivered.
            if after is not None:
                deliver(after, self._queues)

    def _write(self, a: Atom[Any], args: tuple[Any, ...]) -> Any:
        if a.write is not None:
            return a.write(self.get, self.set, *args)
        if a.read is not None:
            raise NotWritableError(f"{a!r} is read-only: it has no write function")
        raise NotWritableError(
            f"{a!r} is a primitive atom: set it with exactly one value, got {len(args)}"
        )

    def _invalidate(self, n: Node) -> None:
        n.dirty = True  # recompute even if no dependency changed
        n.fresh = STALE
        self._epoch += 1
        if n.mounted:
            self._mark_from(n)

    def _commit(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` under the lock as one write; deliver what it leaves after."""
        after = None
        try:
            with self._lock:
                self._writes += 1
                try:
                    return fn(*args)
                finally:
                    self._writes -= 1
                    after = self._finish() if self._writes == 0 else None
        finally:
            if after is not None:
                self._after(after)

    def _mark_from(self, src: Node) -> None:
        """Mark `src` and everything mounted downstream stale; queue those with listeners."""
        pending = self._pending
        if src.listeners is not None and not src.queued:
            src.queued = True
            pending.append(src)
        if src.read is not None:
            src.fresh = STALE
        dependents = src.dependents
        if not dependents:
            return
        # The first level without a stack: most writes reach a dependent or two.
        stack = None
        for d in dependents:
            if d.fresh != CLEAN:
                continue  # already stale, and so is everything downstream of it
            d.fresh = STALE
            if d.listeners is not None and not d.queued:
                d.queued = True
                pending.append(d)
            if d.dependents:
                if stack is None:
                    stack = list(d.dependents)
                else:
                    stack += d.dependents
        while stack:
            d = stack.pop()
            if d.fresh != CLEAN:
                continue
            d.fresh = STALE
            if d.listeners is not None and not d.queued:
                d.queued = True
                pending.append(d)
            if d.dependents:
                stack += d.dependents

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
        """Bring `n` up to date: check its dependencies in order; recompute if one changed."""
        epoch = self._epoch
        deps = n.deps
        if deps is not None and not n.dirty:
            # A counter, not range(): one dependency is the common case, and a range
            # object costs more than the loop it saves.
            i = 0
            size = len(deps)
            while i < size:
                d: Node = deps[i]
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
        # Recompute (inlined here: one call less per node on the hottest path).
        mode = n.mode
        read: Any = n.read  # not None: only derived nodes are ever stale
        deps = []
        saved = self._collect
        self._collect = deps
        try:
            if mode == 0:
                value = read(self._get)
            elif mode == 1:
                value = read(self._get, ReadContext(self, n.atom))
            else:
                value = self._start_async_read(n, deps)
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
            self._failed(n, deps, exc, epoch)
            return
        except Exception as exc:
            self._failed(n, deps, exc, epoch)
            return
        finally:
            self._collect = saved
        n.dirty = False
        mounted = n.mounted
        n.fresh = CLEAN if mounted else epoch
        old_deps = n.deps
        n.deps = deps
        size = len(deps)
        if mounted and (
            mode == 2
            or old_deps is None
            or len(old_deps) != size
            or (size and (old_deps[0] is not deps[0] or (size > 2 and old_deps[::2] != deps[::2])))
        ):
            self._mounts.retrack(n, old_deps, self._epoch)  # the edges follow this run's reads
        old = n.value
        if n.error is not None or old is NO_VALUE:
            n.error = None
        elif old is value:
            return
        elif n.eq is None:
            try:  # `default_eq`, inlined: this runs on every recompute
                if old == value:
                    return
            except Exception:
                pass  # a comparison that raises counts as a change
        elif same(n.eq, old, value):
            return
        n.value = value
        n.version += 1

    def _failed(self, n: Node, deps: list[Any], error: BaseException, epoch: int) -> None:
        n.dirty = False
        n.fresh = CLEAN if n.mounted else epoch
        old_deps = n.deps
        n.deps = deps
        if n.mounted:
            self._mounts.retrack(n, old_deps, self._epoch)
        if error is not n.error:
            n.error = error
            # Kept so that each re-raise starts from it: raising the same object again
            # would otherwise grow its traceback on every read.
            n.more().tb = error.__traceback__
            n.value = NO_VALUE
            n.version += 1

    # -- async reads: tracking across `await` -----------------------------------------

    def _start_async_read(self, n: Node, deps: list[Any]) -> Any:
        a = n.atom
        run = n.more().run + 1  # counted only once the run really starts

        def get(b: Atom[Any]) -> Any:
            # Edges made here may mount atoms: it settles like a write.
            d: Node = self._commit(self._read_late, n, node_of(b, self._tok), deps, run)
            if d.error is not None:
                raise_error(d)
            return d.value

        coro = a.read(get, ReadContext(self, a)) if a.wants_ctx else a.read(get)  # type: ignore[misc]
        return start_async(n, coro, run, self._abandoned, self._settled)

    def _read_late(self, n: Node, d: Node, deps: list[Any], run: int) -> Node:
        """A read after an `await` still counts as a dependency of run `run` of `n`."""
        if d.fresh < self._epoch:
            self._ensure(d)  # outside any read here: no nesting to respect
        if n.extra is not None and n.extra.run == run:
            deps += (d, d.version)
            if n.mounted and (d.dependents is None or n not in d.dependents):
                self._mounts.add_edge(d, n, self._epoch)
        return d

    def _abandoned(self, n: Node) -> None:
        self._commit(self._invalidate, n)

    def _settled(self, n: Node, extra: Extra) -> None:
        """A run finished: drop the edges of the earlier run that this one did not read."""
        if extra.kept:
            self._commit(self._mounts.drop_kept, n, extra, self._epoch)

    # -- flush: after the outermost write, on_mount callbacks then listeners -----------

    def _finish(self) -> Aftermath | None:
        """Settle a committed write: on_mount callbacks, then which listeners to call.

        Runs under the lock; what must run outside it (listeners, cleanups) and the errors
        of on_mount callbacks are returned for `deliver`.
        """
        mounts = self._mounts
        if not self._pending and not mounts.on_mount and not mounts.cleanups:
            return None
        calls: list[Listener] = []
        errors: list[Exception] = _NONE
        self._writes += 1  # writes made from here are folded into this flush
        try:
            while True:
                if mounts.on_mount:
                    n = mounts.on_mount.pop(0)
                    if n.mounted and (n.extra is None or n.extra.cleanup is None):
                        try:
                            self._mounts.run_on_mount(n, self.set)
                        except Exception as exc:
                            errors = [*errors, exc]
                    continue
                pending = self._pending
                if not pending:
                    break
                self._pending = []
                for n in pending:
                    n.queued = False
                    listeners = n.listeners
                    if listeners is None:
                        continue
                    if n.fresh != CLEAN:
                        try:
                            self._refresh(n)
                        except Deferred:
                            self._ensure(n)
                        except BaseException:
                            # The rest stays queued, for the next flush.
                            self._pending[:0] = pending[pending.index(n) + 1 :]
                            raise
                    # `notify_due`, inlined: this runs for every queued node.
                    seen = n.notified
                    if n.error is None:
                        current = n.value
                        if current is seen:
                            continue
                        if type(seen) is not ErrorSeen:
                            if n.eq is None:
                                try:
                                    if seen == current:
                                        continue
                                except Exception:
                                    pass  # a comparison that raises counts as a change
                            elif same(n.eq, seen, current):
                                continue
                        n.notified = current
                    elif type(seen) is ErrorSeen and seen.error is n.error:
                        continue
                    else:
                        n.notified = ErrorSeen(n.error)
                    calls += listeners
        finally:
            self._writes -= 1
        cleanups = mounts.cleanups
        if cleanups:
            mounts.cleanups = []
        elif not calls and not errors:
            return None  # the write changed nothing anyone listens to
        return calls, cleanups, errors

    def _after(self, after: Aftermath) -> None:
        """Outside the lock: run what a settled write left (delivery.py)."""
        deliver(after, self._queues)
