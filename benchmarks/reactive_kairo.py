"""The kairo shapes of js-reactivity-benchmark (`benches/kairo`), written once against `Framework`.

Each `build` makes the graph and returns `iteration`, one timed `iter()` that writes,
reads back, and returns an `Outcome` (how many reads disagreed with the expected value,
and how many effect runs the iteration saw). Single writes are not wrapped in a batch:
every library here settles after each write anyway, so a batch would only add its own
overhead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.reactive_framework import Framework
from benchmarks.reactive_shapes import Counter, Iteration, Outcome, busy, item, plus


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
