"""The plain-Python floor of the shapes beyond kairo: cellx, creation, family, round trip."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from benchmarks.reactive_extra import (
    CELLX_AFTER,
    CELLX_BEFORE,
    CELLX_LAYERS,
    CREATED,
    FAMILY_KEYS,
    LOOKUPS,
    ROUND_TRIPS,
)
from benchmarks.reactive_shapes import Iteration, Outcome

Fn = Callable[[Any], Any]


def _ignore(_value: Any) -> None:
    """An effect that only reads."""


def cellx() -> Iteration:
    """cellx: 1,000 layers of 4 nodes and 4 effects, then one batch of 4 writes."""

    def iteration() -> Outcome:
        start = [1, 2, 3, 4]
        layers: list[tuple[Fn, ...]] = []
        values = [start]
        for _ in range(CELLX_LAYERS):
            fns: tuple[Fn, ...] = (
                lambda m: m[1],
                lambda m: m[0] - m[2],
                lambda m: m[1] + m[3],
                lambda m: m[2],
            )
            layers.append(fns)
            previous = values[-1]
            layer = [fn(previous) for fn in fns]
            for value in layer:
                _ignore(value)
            values.append(layer)
        before = tuple(values[-1])
        values[0] = [4, 3, 2, 1]
        for depth, fns in enumerate(layers, 1):
            previous, layer = values[depth - 1], values[depth]
            for index, fn in enumerate(fns):
                new = fn(previous)
                if new != layer[index]:
                    layer[index] = new
                    _ignore(new)
        after = tuple(values[-1])
        return Outcome((before != CELLX_BEFORE) + (after != CELLX_AFTER), 0)

    return iteration


def create_signals() -> Iteration:
    """100,000 one-slot cells."""

    def iteration() -> Outcome:
        nodes = [[i] for i in range(CREATED)]
        return Outcome(int(nodes[-1][0] != CREATED - 1), 0)

    return iteration


_UNSET: Any = object()


def create_computeds() -> Iteration:
    """100,000 cached function cells over one source, each read once."""

    def iteration() -> Outcome:
        source = [1]

        def plus_one(value: Any) -> Any:
            return value + 1

        nodes = [[plus_one, _UNSET] for _ in range(CREATED)]
        total = 0
        for node in nodes:
            if node[1] is _UNSET:
                node[1] = node[0](source[0])
            total += node[1]
        return Outcome(int(total != 2 * CREATED), 0)

    return iteration


def family_lookup() -> Iteration:
    """A dict behind a get-or-create function."""
    cache: dict[Hashable, list[Any]] = {}

    def family(key: Hashable) -> list[Any]:
        node = cache.get(key)
        if node is None:
            node = cache[key] = [key]
        return node

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


def round_trip() -> Iteration:
    """A value and a listener called on each change."""
    node = [0]
    seen = [0, 0]

    def listener(value: Any) -> None:
        seen[0] += 1
        seen[1] = value

    def write(value: Any) -> None:
        if value != node[0]:
            node[0] = value
            listener(value)

    def iteration() -> Outcome:
        seen[0] = 0
        for i in range(1, ROUND_TRIPS + 1):
            write(i)
        return Outcome(int(seen[1] != ROUND_TRIPS), seen[0])

    return iteration
