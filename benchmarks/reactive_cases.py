"""The benchmark's cases: each shape with its title, group, expected effect runs and needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from benchmarks.reactive_extra import (
    ROUND_TRIPS,
    cellx,
    create_computeds,
    create_signals,
    family_lookup,
    round_trip,
)
from benchmarks.reactive_framework import Framework
from benchmarks.reactive_kairo import (
    avoidable_propagation,
    broad_propagation,
    deep_propagation,
    diamond,
    mux,
    repeated_observers,
    triangle,
    unstable,
)
from benchmarks.reactive_shapes import Iteration


class Case(NamedTuple):
    """A benchmark shape: how to build it on an adapter, and what it must observe."""

    key: str
    title: str
    group: str  # "kairo" or "extra"
    work: str  # what one iteration does, for the table
    build: Callable[[Framework], Iteration]
    expected_runs: int | None = None
    fresh: bool = False  # each timed run needs a new adapter (graph built inside it)
    requires: frozenset[str] = frozenset()


DYNAMIC = frozenset({"dynamic"})

CASES: tuple[Case, ...] = (
    Case("avoidable", "avoidable propagation", "kairo", "1,001 writes", avoidable_propagation),
    Case("broad", "broad propagation", "kairo", "51 writes", broad_propagation, 2500),
    Case("deep", "deep propagation", "kairo", "51 writes", deep_propagation, 50),
    Case("diamond", "diamond", "kairo", "501 writes", diamond, 500),
    Case("triangle", "triangle", "kairo", "101 writes", triangle, 100),
    Case("mux", "mux", "kairo", "20 writes", mux),
    Case("repeated", "repeated observers", "kairo", "101 writes", repeated_observers, 100),
    Case("unstable", "unstable", "kairo", "101 writes", unstable, 100, requires=DYNAMIC),
    Case("cellx", "cellx 1,000 layers", "extra", "build + 1 batch", cellx, fresh=True),
    Case("create_atoms", "create atoms", "extra", "100,000 atoms", create_signals, fresh=True),
    Case(
        "create_derived",
        "create + read derived",
        "extra",
        "100,000 derived",
        create_computeds,
        fresh=True,
    ),
    Case(
        "family",
        "family lookup",
        "extra",
        "100,000 lookups",
        family_lookup,
        requires=frozenset({"family"}),
    ),
    Case("roundtrip", "set -> listener", "extra", "10,000 writes", round_trip, ROUND_TRIPS),
)

CASES_BY_KEY = {case.key: case for case in CASES}
