"""Atoms: small config objects that describe a piece of state; a Store holds their values."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Getter(Protocol):
    """The `get` handed to read and write functions: `get(atom)` returns the atom's value."""

    def __call__(self, atom: Atom[T], /) -> T: ...


class Setter(Protocol):
    """The `set` handed to write functions: `set(atom, *args)` writes and returns the result."""

    def __call__(self, atom: Atom[Any], /, *args: Any) -> Any: ...


# read(get) or read(get, ctx: ReadContext); write(get, set, *args)
Read = Callable[..., Any]
Write = Callable[..., Any]
Equality = Callable[[Any, Any], bool]
OnMount = Callable[[Callable[..., Any]], Callable[[], Any] | None]


def default_eq(old: Any, new: Any) -> bool:
    """Identity, then `==`; a comparison that raises or is not a bool counts as different."""
    if old is new:
        return True
    try:
        return bool(old == new)
    except Exception:
        return False


class Token:
    """Identifies a store inside atoms without keeping the store alive.

    Defined here, in a module the compiled build (`make compiled`) leaves as Python:
    atoms hold it weakly, and a mypyc class cannot be weakly referenced.
    """

    __slots__ = ("__weakref__",)


class Atom(Generic[T_co]):
    """One piece of state: primitive (holds a value) or derived (read and/or write functions).

    An atom holds no value itself; a `Store` keeps the value. The per-store state lives in
    slots on the atom so that a store never keeps an unmounted atom alive.
    """

    _node: Any
    _more: weakref.WeakKeyDictionary[object, Any] | None

    __slots__ = (
        "__weakref__",
        "_more",
        "_node",
        "_tok",
        "eq",
        "init",
        "mode",
        "mounts",
        "name",
        "on_mount",
        "read",
        "write",
    )

    def __init__(
        self,
        init: Any,
        read: Read | None,
        write: Write | None,
        *,
        eq: Equality | None = None,
        on_mount: OnMount | None = None,
        name: str | None = None,
    ) -> None:
        self.init = init
        self.read = read
        self.write = write
        self.eq = eq
        self.on_mount = on_mount
        self.name = name
        # How the store calls `read`: 0 read(get), 1 read(get, ctx), 2 async (one check).
        if read is None:
            self.mode = 0
        elif is_coroutine_function(read):
            self.mode = 2
        else:
            self.mode = 1 if _required_positional(read) >= 2 else 0
        # How many stores have this atom mounted: families never evict a mounted member.
        self.mounts = 0
        # Per-store state: the first store to touch the atom keeps its node in `_node`
        # (the fast path, valid while `_tok` is that store's token); other stores use the
        # weak dictionary `_more`. Both are set on first use only, so atoms stay cheap.
        self._tok: object | None = None

    @property
    def is_async(self) -> bool:
        """True when the read is `async def` (`store.get` then gives an awaitable)."""
        return self.mode == 2

    @property
    def wants_ctx(self) -> bool:
        """True when the read takes `(get, ctx)` rather than `(get)`."""
        read = self.read
        return self.mode == 1 or (
            read is not None and self.mode == 2 and _required_positional(read) >= 2
        )

    @property
    def is_primitive(self) -> bool:
        """True for an atom that holds a value (no read function)."""
        return self.read is None

    @property
    def is_writable(self) -> bool:
        """True when `store.set` accepts this atom."""
        return self.read is None or self.write is not None

    def __repr__(self) -> str:
        kind = "atom" if self.read is None else "derived"
        label = self.name or f"@{id(self):x}"
        return f"<{kind} {label}>"


def atom(
    initial: T,
    *,
    eq: Equality | None = None,
    on_mount: OnMount | None = None,
    name: str | None = None,
) -> Atom[T]:
    """A primitive atom holding `initial`, readable and writable."""
    # Direct slot stores: a keyword call through Atom.__init__ costs twice as much, and
    # apps make atoms by the hundred thousand (one per family member).
    a: Atom[T] = _new_atom(Atom)
    a.init = initial
    a.read = a.write = a._tok = None
    a.eq, a.on_mount, a.name = eq, on_mount, name
    a.mode = a.mounts = 0
    return a


def derived(
    read: Callable[..., T] | None = None,
    write: Write | None = None,
    *,
    eq: Equality | None = None,
    on_mount: OnMount | None = None,
    name: str | None = None,
) -> Atom[T]:
    """A derived atom: `read(get)` computes its value, `write(get, set, *args)` handles writes.

    With only `write`, the atom is write-only (its value is None).
    """
    if read is None and write is None:
        raise TypeError("derived() needs a read function, a write function, or both")
    if read is None:
        return Atom(None, _write_only_read, write, eq=eq, on_mount=on_mount, name=name)
    return Atom(None, read, write, eq=eq, on_mount=on_mount, name=name)


def _write_only_read(get: Getter) -> None:
    return None


_new_atom = object.__new__


def is_coroutine_function(fn: Callable[..., Any]) -> bool:
    """True for an `async def` function (or one marked as such), checked cheaply."""
    code = getattr(fn, "__code__", None)
    if code is not None and code.co_flags & inspect.CO_COROUTINE:
        return True
    if code is not None and not hasattr(fn, "_is_coroutine_marker"):
        return False  # the common case, without inspect's slower checks
    # Wrappers marked with inspect.markcoroutinefunction (Python 3.12+), partials...
    return inspect.iscoroutinefunction(fn)


def _required_positional(fn: Callable[..., Any]) -> int:
    """How many positional parameters `fn` requires (a read may take `get` or `get, ctx`)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return 1
    defaults = getattr(fn, "__defaults__", None) or ()
    count: int = code.co_argcount - len(defaults)
    return count - 1 if hasattr(fn, "__self__") else count
