"""The benchmark shapes, each written once against `Framework`.

The kairo shapes follow js-reactivity-benchmark's `benches/kairo`: each `build` makes the
graph and returns `iteration`, one timed `iter()` that writes, reads back, and returns an
`Outcome` (how many reads disagreed with the expected value, and how many effect runs
the iteration saw). Single writes are not wrapped in a batch: every library here settles
after each write anyway, so a batch would only add its own overhead.

The other shapes (cellx, creation, family lookup, round trip) build their graph inside
`iteration`, or need it fresh for each timed run: `Case.fresh` says which.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from benchmarks.reactive_adapters import ComputeFn, Framework


class Outcome(NamedTuple):
    """What one iteration saw: wrong reads and effect runs."""

    mismatches: int
    runs: int


Iteration = Callable[[], Outcome]


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


def avoidable_propagation(fw: Framework) -> Iteration:
    """head -> c1 -> c2 (always 0) -> busy c3 -> c4 -> c5 -> busy effect."""
    head = fw.signal(0)
    c1 = fw.computed(lambda get: get(head))
    c2 = fw.computed(lambda get: (get(c1), 0)[1])
    c3 = fw.computed(lambda get: (busy(), get(c2) + 1)[1])
    c4 = fw.computed(lambda get: get(c3) + 2)
    c5 = fw.computed(lambda get: get(c4) + 3)
    counter = Counter()

    def heavy_effect(value: Any) -> None:
        counter.count += 1
        busy()

    fw.effect(c5, heavy_effect)
    read, write = fw.read, fw.write

    def iteration() -> Outcome:
        bad = 0
        write(head, 1)
        bad += read(c5) != 6
        counter.count = 0
        for i in range(1000):
            write(head, i)
            bad += read(c5) != 6
        return Outcome(bad, counter.count)

    return iteration


def broad_propagation(fw: Framework) -> Iteration:
    """50 branches of head + i -> + 1 -> effect."""
    head = fw.signal(0)
    last = head
    counter = Counter()
    for i in range(50):
        current = fw.computed(plus(head, i))
        current2 = fw.computed(plus(current, 1))
        fw.effect(current2, counter.hit)
        last = current2
    read, write = fw.read, fw.write

    def iteration() -> Outcome:
        bad = 0
        write(head, 1)
        counter.count = 0
        for i in range(50):
            write(head, i)
            bad += read(last) != i + 50
        return Outcome(bad, counter.count)

    return iteration


def deep_propagation(fw: Framework) -> Iteration:
    """A chain of 50 computeds, + 1 each, with an effect on the end."""
    head = fw.signal(0)
    current = head
    for _ in range(50):
        current = fw.computed(plus(current, 1))
    counter = Counter()
    fw.effect(current, counter.hit)
    read, write = fw.read, fw.write

    def iteration() -> Outcome:
        bad = 0
        write(head, 1)
        counter.count = 0
        for i in range(50):
            write(head, i)
            bad += read(current) != 50 + i
        return Outcome(bad, counter.count)

    return iteration


def diamond(fw: Framework) -> Iteration:
    """5 branches of head + 1 joined by a sum, with an effect on the sum."""
    width = 5
    head = fw.signal(0)
    branches = [fw.computed(lambda get: get(head) + 1) for _ in range(width)]

    def total(get: Callable[[Any], Any]) -> Any:
        result = 0
        for branch in branches:
            result += get(branch)
        return result

    join = fw.computed(total)
    counter = Counter()
    fw.effect(join, counter.hit)
    read, write = fw.read, fw.write

    def iteration() -> Outcome:
        bad = 0
        write(head, 1)
        bad += read(join) != 2 * width
        counter.count = 0
        for i in range(500):
            write(head, i)
            bad += read(join) != (i + 1) * width
        return Outcome(bad, counter.count)

    return iteration


def triangle(fw: Framework) -> Iteration:
    """A chain of 10 levels and a sum that reads every level."""
    width = 10
    head = fw.signal(0)
    current = head
    levels: list[Any] = []
    for _ in range(width):
        levels.append(current)
        current = fw.computed(plus(current, 1))

    def total(get: Callable[[Any], Any]) -> Any:
        result = 0
        for level in levels:
            result += get(level)
        return result

    join = fw.computed(total)
    counter = Counter()
    fw.effect(join, counter.hit)
    read, write = fw.read, fw.write
    constant = sum(range(width))

    def iteration() -> Outcome:
        bad = 0
        write(head, 1)
        bad += read(join) != constant + width
        counter.count = 0
        for i in range(100):
            write(head, i)
            bad += read(join) != constant + i * width
        return Outcome(bad, counter.count)

    return iteration


def mux(fw: Framework) -> Iteration:
    """100 heads -> one dict -> 100 index computeds -> + 1 -> 100 effects."""
    heads = [fw.signal(0) for _ in range(100)]
    muxed = fw.computed(lambda get: {i: get(head) for i, head in enumerate(heads)})
    picked = [fw.computed(item(muxed, i)) for i in range(len(heads))]
    split = [fw.computed(plus(p, 1)) for p in picked]
    counter = Counter()
    for node in split:
        fw.effect(node, counter.hit)
    read, write = fw.read, fw.write

    def iteration() -> Outcome:
        bad = 0
        counter.count = 0
        for i in range(10):
            write(heads[i], i)
            bad += read(split[i]) != i + 1
        for i in range(10):
            write(heads[i], i * 2)
            bad += read(split[i]) != i * 2 + 1
        return Outcome(bad, counter.count)

    return iteration


def repeated_observers(fw: Framework) -> Iteration:
    """One computed that reads the head 30 times."""
    size = 30
    head = fw.signal(0)

    def repeated(get: Callable[[Any], Any]) -> Any:
        result = 0
        for _ in range(size):
            result += get(head)
        return result

    current = fw.computed(repeated)
    counter = Counter()
    fw.effect(current, counter.hit)
    read, write = fw.read, fw.write

    def iteration() -> Outcome:
        bad = 0
        write(head, 1)
        bad += read(current) != size
        counter.count = 0
        for i in range(100):
            write(head, i)
            bad += read(current) != i * size
        return Outcome(bad, counter.count)

    return iteration


def unstable(fw: Framework) -> Iteration:
    """A computed that reads `double` or `inverse` 20 times, depending on parity."""
    head = fw.signal(0)
    double = fw.computed(lambda get: get(head) * 2)
    inverse = fw.computed(lambda get: -get(head))

    def flip(get: Callable[[Any], Any]) -> Any:
        result = 0
        for _ in range(20):
            result += get(double) if get(head) % 2 else get(inverse)
        return result

    current = fw.computed(flip)
    counter = Counter()
    fw.effect(current, counter.hit)
    read, write = fw.read, fw.write

    def iteration() -> Outcome:
        bad = 0
        write(head, 1)
        bad += read(current) != 40
        counter.count = 0
        for i in range(100):
            write(head, i)
            bad += read(current) != (40 * i if i % 2 else -20 * i)
        return Outcome(bad, counter.count)

    return iteration


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
