"""The shapes beyond kairo: cellx, node creation, family lookup and a set -> listener trip.

cellx and creation build their graph inside `iteration`, so each timed run needs a
fresh adapter (`Case.fresh`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from benchmarks.reactive_framework import Framework
from benchmarks.reactive_shapes import Iteration, Outcome, add, difference, same

CELLX_LAYERS = 1000
CELLX_BEFORE = (-3, -6, -2, 2)
CELLX_AFTER = (-2, -4, 2, 3)


def cellx(fw: Framework) -> Iteration:
    """cellx: 1,000 layers of 4 computeds and 4 effects, then one batch of 4 writes."""
    read, write = fw.read, fw.write

    def iteration() -> Outcome:
        start = [fw.signal(1), fw.signal(2), fw.signal(3), fw.signal(4)]
        layer = start
        for _ in range(CELLX_LAYERS):
            p1, p2, p3, p4 = layer
            layer = [
                fw.computed(same(p2)),
                fw.computed(difference(p1, p3)),
                fw.computed(add(p2, p4)),
                fw.computed(same(p3)),
            ]
            for node in layer:
                fw.effect(node, _ignore)
        before = tuple(read(node) for node in layer)
        with fw.batch():
            for node, value in zip(start, (4, 3, 2, 1), strict=True):
                write(node, value)
        after = tuple(read(node) for node in layer)
        return Outcome((before != CELLX_BEFORE) + (after != CELLX_AFTER), 0)

    return iteration


def _ignore(_value: Any) -> None:
    """An effect that only reads."""


CREATED = 100_000


def create_signals(fw: Framework) -> Iteration:
    """100,000 source nodes."""

    def iteration() -> Outcome:
        signal = fw.signal
        nodes = [signal(i) for i in range(CREATED)]
        return Outcome(int(fw.read(nodes[-1]) != CREATED - 1), 0)

    return iteration


def create_computeds(fw: Framework) -> Iteration:
    """100,000 computeds over one source, each read once (lazy stores run them here)."""

    def iteration() -> Outcome:
        source = fw.signal(1)
        computed, read = fw.computed, fw.read

        def plus_one(get: Callable[[Any], Any]) -> Any:
            return get(source) + 1

        nodes = [computed(plus_one) for _ in range(CREATED)]
        total = 0
        for node in nodes:
            total += read(node)
        return Outcome(int(total != 2 * CREATED), 0)

    return iteration


FAMILY_KEYS = 1000
LOOKUPS = 100_000


def family_lookup(fw: Framework) -> Iteration:
    """100,000 lookups of 1,000 existing family keys."""
    family = fw.family(lambda key: fw.signal(key))
    keys: list[Hashable] = [f"user-{i}" for i in range(FAMILY_KEYS)]
    first = [family(key) for key in keys]
    rounds = LOOKUPS // FAMILY_KEYS

    def iteration() -> Outcome:
        found = None
        for _ in range(rounds):
            for key in keys:
                found = family(key)
        return Outcome(int(found is not first[-1] or family(keys[0]) is not first[0]), 0)

    return iteration


ROUND_TRIPS = 10_000


def round_trip(fw: Framework) -> Iteration:
    """10,000 writes to one node, each reaching a listener that reads it."""
    node = fw.signal(0)
    seen = [0, 0]  # runs, last value

    def listener(value: Any) -> None:
        seen[0] += 1
        seen[1] = value

    fw.effect(node, listener)
    write = fw.write

    def iteration() -> Outcome:
        seen[0] = 0
        for i in range(1, ROUND_TRIPS + 1):
            write(node, i)
        return Outcome(int(seen[1] != ROUND_TRIPS), seen[0])

    return iteration
