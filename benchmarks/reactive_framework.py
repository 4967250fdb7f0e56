"""The interface every benchmark shape is written against, and what adapters share.

Every shape is written once against `Framework` (like the ReactiveFramework of
js-reactivity-benchmark); `reactive_adapters` and `reactive_adapters_push` implement it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Protocol

Get = Callable[[Any], Any]
ComputeFn = Callable[[Get], Any]
EffectFn = Callable[[Any], object]


class Unsupported(Exception):
    """A shape this library cannot express; the table shows n/a."""


class Framework(Protocol):
    """The interface every shape is written against."""

    name: ClassVar[str]
    glitch_free: ClassVar[bool]
    # "dynamic": re-tracks sources on every run; "family": keyed node families.
    features: ClassVar[frozenset[str]]

    @property
    def read(self) -> Callable[[Any], Any]:
        """Read a node's current value."""

    @property
    def write(self) -> Callable[[Any, Any], object]:
        """Write a source node."""

    def signal(self, value: Any) -> Any:
        """A writable source node holding `value`."""

    def computed(self, fn: ComputeFn) -> Any:
        """A node whose value is `fn(get)`."""

    def effect(self, node: Any, fn: EffectFn) -> None:
        """Call `fn(value of node)` now and after each change of `node`."""

    def batch(self) -> AbstractContextManager[object]:
        """A block of writes after which effects run once."""

    def family(self, factory: Callable[[Hashable], Any]) -> Callable[[Hashable], Any]:
        """A keyed cache of nodes made by `factory`."""

    def dispose(self) -> None:
        """Stop every effect this adapter created."""
