"""The kind registry: which kinds of runnable a bridge knows, and how a ref names one.

A ref is a `RunnableRef`, a "kind:id" text, or a bare id. The registry checks kinds as
they are registered and parses refs against them; it holds no atoms and runs nothing.
A kind may also be named in camelCase (`appRevision` for `app_revision`, as Agenta's own
code and configs spell them): the registry reads it as the registered name.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Mapping
from typing import Any

from bridge.errors import InvalidRunnableTypeError, UnknownRunnableTypeError
from bridge.types import RefLike, RunnableType
from runnable.types import RunnableRef

__all__ = ["KindRegistry", "check_kind", "kind_name"]

_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class KindRegistry:
    """Kinds by name (name -> RunnableType), safe to change while the bridge is in use."""

    def __init__(self, runnables: Mapping[str, RunnableType] | None = None) -> None:
        self._lock = threading.RLock()
        self._types: dict[str, RunnableType] = {}
        for kind, runnable_type in (runnables or {}).items():
            check_kind(kind, runnable_type)
            self._types[kind] = runnable_type

    @property
    def kinds(self) -> tuple[str, ...]:
        """The registered kind names, in registration order."""
        with self._lock:
            return tuple(self._types)

    def items(self) -> list[tuple[str, RunnableType]]:
        """A snapshot of (kind, RunnableType) pairs, in registration order."""
        with self._lock:
            return list(self._types.items())

    def __contains__(self, kind: object) -> bool:
        return isinstance(kind, str) and self.canonical(kind) in self._types

    def canonical(self, kind: str) -> str:
        """The registered name `kind` stands for: itself, or the snake_case of a camelCase alias."""
        return kind_name(kind, self._types)

    def type(self, kind: str) -> RunnableType:
        """The RunnableType of `kind` (or its camelCase alias); else `UnknownRunnableTypeError`."""
        found = self._types.get(self.canonical(kind))
        if found is None:
            raise UnknownRunnableTypeError(kind, list(self._types))
        return found

    def register(self, kind: str, runnable_type: RunnableType) -> None:
        """Add a kind, or replace one."""
        check_kind(kind, runnable_type)
        with self._lock:
            self._types[kind] = runnable_type

    def unregister(self, kind: str) -> None:
        """Remove a kind (`UnknownRunnableTypeError` if it is not registered)."""
        with self._lock:
            self.type(kind)
            del self._types[kind]

    def parse(self, ref: RefLike) -> RunnableRef:
        """`ref` as a RunnableRef (an unregistered kind: `UnknownRunnableTypeError`)."""
        parsed = RunnableRef.parse(dict(ref) if isinstance(ref, Mapping) else ref)
        if parsed.kind is not None:
            self.type(parsed.kind)
            kind = self.canonical(parsed.kind)
            if kind != parsed.kind:
                return RunnableRef(kind, parsed.id)
        return parsed

    def kind_of(self, entity: Any) -> str:
        """The kind whose `entity_type` `entity` is (the most specific one)."""
        matches = [
            (kind, t.entity_type)
            for kind, t in self.items()
            if t.entity_type is not None and isinstance(entity, t.entity_type)
        ]
        for kind, entity_type in matches:
            if type(entity) is entity_type:
                return kind
        if len(matches) == 1:
            return matches[0][0]
        raise InvalidRunnableTypeError(
            f"cannot tell the kind of a {type(entity).__name__}; pass kind=..."
        )


def kind_name(kind: str, known: Collection[str]) -> str:
    """`kind` if it is known, else the known snake_case name its camelCase spells, else `kind`."""
    if kind in known:
        return kind
    snake = _CAMEL_HUMP.sub("_", kind).lower()
    return snake if snake in known else kind


def check_kind(kind: Any, runnable_type: Any) -> None:
    """Refuse a kind name with ':' or blank, or a type that is not a RunnableType."""
    if not isinstance(kind, str) or not kind.strip() or ":" in kind:
        raise InvalidRunnableTypeError(
            f"a runnable kind must be a non-empty name without ':', got {kind!r}"
        )
    if not isinstance(runnable_type, RunnableType):
        raise InvalidRunnableTypeError(
            f"kind {kind!r} must be registered with a RunnableType, "
            f"got {type(runnable_type).__name__}"
        )
