"""What every benchmark shape shares: its outcome, effect counter, busy work and node functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from benchmarks.reactive_framework import ComputeFn


class Outcome(NamedTuple):
    """What one iteration saw: wrong reads and effect runs."""

    mismatches: int
    runs: int


Iteration = Callable[[], Outcome]


def busy() -> int:
    """A fixed 100-step loop standing in for expensive user code."""
    total = 0
    for step in range(100):
        total += step
    return total


class Counter:
    """Counts effect runs; `hit` is the effect function."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def hit(self, _value: Any) -> None:
        """One effect run."""
        self.count += 1


# Closure factories: one small function per node, as a user would write it.
def plus(source: Any, k: int) -> ComputeFn:
    """get(source) + k."""
    return lambda get: get(source) + k


def item(source: Any, key: Any) -> ComputeFn:
    """get(source)[key]."""
    return lambda get: get(source)[key]


def same(source: Any) -> ComputeFn:
    """get(source)."""
    return lambda get: get(source)


def difference(left: Any, right: Any) -> ComputeFn:
    """get(left) - get(right)."""
    return lambda get: get(left) - get(right)


def add(left: Any, right: Any) -> ComputeFn:
    """get(left) + get(right)."""
    return lambda get: get(left) + get(right)
