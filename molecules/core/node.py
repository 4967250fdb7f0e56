"""The per-store state of an atom (`Node`) and the small objects the store passes around."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final, NoReturn

import attrs

from molecules.core.atom import Atom, Token

# Final: the compiled build (`make compiled`) reads these as C constants, not globals.
# Larger than any epoch, and the largest int mypyc keeps unboxed.
CLEAN: Final = (1 << 62) - 1  # a mounted node that no write has touched since it was verified
STALE: Final = -1
NO_VALUE: Final[Any] = object()
MAX_NESTING: Final = 240  # Python frames (of the default limit of 1,000)
READ_FRAMES: Final = 5  # budgeted per read nested in a read (refresh, read, get: 3, and slack)
CLAIM_LOCK = threading.Lock()


def same(eq: Any, old: Any, new: Any) -> bool:
    """The atom's equality (`eq`, else identity then `==`); a comparison that raises differs."""
    if eq is None:
        if old is new:
            return True
        try:
            return bool(old == new)
        except Exception:
            return False
    try:
        return bool(eq(old, new))
    except Exception:
        return False


class Deferred(BaseException):
    """Unwinds a read nested too deeply; the outer loop refreshes `node` and retries."""

    def __init__(self, node: Node) -> None:
        self.node = node


class Listener:
    __slots__ = ("active", "fn")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.active = True


@attrs.frozen(slots=True)
class ReadContext:
    """Second argument of a read function that takes two: the store and the atom being read.

    `store.refresh(ctx.atom)` from a callback makes the atom compute again (used by
    `loadable` when an awaited future settles).
    """

    # The `Store` (not named here: node.py sits below store.py, imports run one way).
    store: Any
    atom: Atom[Any]


class Extra:
    """Rarely used per-node state, kept off the node so that plain nodes stay small."""

    __slots__ = ("cleanup", "kept", "loop", "run", "task", "tb")

    def __init__(self) -> None:
        self.cleanup: Callable[[], Any] | None = None
        self.tb: TracebackType | None = None
        # Async reads: the loop they run on, and the previous run's dependencies, whose
        # edges stay until the current run settles (its reads come after `await`s).
        self.loop: asyncio.AbstractEventLoop | None = None
        self.kept: list[Node] = []
        self.run = 0
        self.task: asyncio.Task[Any] | None = None


class Node:
    __slots__ = (
        "atom",
        "dependents",
        "deps",
        "dirty",
        "eq",
        "error",
        "extra",
        "fresh",
        "listeners",
        "mode",
        "mounted",
        "notified",
        "queued",
        "read",
        "value",
        "version",
    )

    def __init__(self, a: Atom[Any]) -> None:
        self.atom = a
        # The atom's fields the hot paths read, copied (atoms never change): a slot of the
        # node is cheaper to reach than the atom's, and native in the compiled build.
        self.read: Callable[..., Any] | None = a.read
        self.eq: Callable[[Any, Any], bool] | None = a.eq
        # How `read` is called (as Atom.mode), or -1: a primitive without a write function.
        self.mode: int = -1 if a.read is None and a.write is None else a.mode
        self.error: BaseException | None = None
        self.version = 0
        # Flat pairs [dep, dep_version, dep, dep_version, ...]: one list per node, not two.
        self.deps: list[Any] | None = None
        self.dependents: dict[Node, None] | None = None
        self.listeners: list[Listener] | None = None
        self.notified: Any = None  # what listeners last heard: the value, or the error
        self.queued = False
        self.mounted = False
        self.dirty = False
        self.extra: Extra | None = None
        if a.read is None:
            self.value: Any = a.init
            self.fresh = CLEAN
        else:
            self.value = NO_VALUE
            self.fresh = STALE

    def more(self) -> Extra:
        extra = self.extra
        if extra is None:
            extra = self.extra = Extra()
        return extra


def node_of(a: Atom[Any], tok: Token) -> Node:
    """The node of `a` in the store whose token is `tok`, made on first use."""
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
        found: Node | None = more.get(tok)
        if found is None:
            found = more[tok] = Node(a)
        return found


def raise_error(n: Node) -> NoReturn:
    """Raise the node's error with the traceback it had when the read failed."""
    error = n.error
    assert error is not None
    raise error.with_traceback(n.extra.tb if n.extra is not None else None)


class ErrorSeen:
    """What listeners last heard when it was an error (never handed to an atom's `eq`)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


# What a settled write leaves to do outside the lock: (listeners to call, cleanups to run,
# errors of on_mount callbacks). A plain tuple: one is made per write.
Aftermath = tuple[list[Listener], list[Callable[[], Any]], list[Exception]]
