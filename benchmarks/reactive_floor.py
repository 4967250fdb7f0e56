"""The plain-Python floor: each shape hand-written with no reactive library.

A floor knows its graph, so it does the least work any store could: on a write it calls
the function of each node downstream once, in order, keeps the value, stops where a
value did not change, and calls an effect when its node's value changed. What a store
costs beyond this is the price of finding that order at run time. This file holds the
kairo floors and the registry; the others are in `reactive_floor_extra`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.reactive_floor_extra import (
    cellx,
    create_computeds,
    create_signals,
    family_lookup,
    round_trip,
)
from benchmarks.reactive_shapes import Counter, Iteration, Outcome, busy

Fn = Callable[[Any], Any]


def _offset(k: Any) -> Fn:
    """A node function: its input + k."""
    return lambda value: value + k


def _index(key: Any) -> Fn:
    """A node function: its input[key]."""
    return lambda value: value[key]


def _push_chain(fns: list[Fn], values: list[Any], value: Any) -> bool:
    """Write `value` at values[0] and push it down a chain; True when the end changed."""
    if value == values[0]:
        return False
    values[0] = value
    for index, fn in enumerate(fns, 1):
        value = fn(value)
        if value == values[index]:
            return False
        values[index] = value
    return True


def _chain_values(fns: list[Fn], value: Any) -> list[Any]:
    values = [value]
    for fn in fns:
        value = fn(value)
        values.append(value)
    return values


def avoidable_propagation() -> Iteration:
    """head -> c1 -> c2 (always 0) -> busy c3 -> c4 -> c5 -> busy effect."""
    fns: list[Fn] = [
        lambda head: head,
        lambda c1: 0,
        lambda c2: (busy(), c2 + 1)[1],
        lambda c3: c3 + 2,
        lambda c4: c4 + 3,
    ]
    values = _chain_values(fns, 0)
    counter = Counter()

    def heavy_effect(value: Any) -> None:
        counter.count += 1
        busy()

    heavy_effect(values[-1])

    def write(value: Any) -> None:
        if _push_chain(fns, values, value):
            heavy_effect(values[-1])

    def iteration() -> Outcome:
        bad = 0
        write(1)
        bad += values[-1] != 6
        counter.count = 0
        for i in range(1000):
            write(i)
            bad += values[-1] != 6
        return Outcome(bad, counter.count)

    return iteration


def broad_propagation() -> Iteration:
    """50 branches of head + i -> + 1 -> effect."""
    firsts = [_offset(i) for i in range(50)]
    seconds = [_offset(1) for _ in range(50)]
    head = [0]
    middle = [first(0) for first in firsts]
    last = [second(value) for second, value in zip(seconds, middle, strict=True)]
    counter = Counter()
    for value in last:
        counter.hit(value)
    branches = list(zip(range(50), firsts, seconds, strict=True))

    def write(value: Any) -> None:
        if value == head[0]:
            return
        head[0] = value
        for index, first, second in branches:
            current = first(value)
            if current == middle[index]:
                continue
            middle[index] = current
            current2 = second(current)
            if current2 == last[index]:
                continue
            last[index] = current2
            counter.hit(current2)

    def iteration() -> Outcome:
        bad = 0
        write(1)
        counter.count = 0
        for i in range(50):
            write(i)
            bad += last[-1] != i + 50
        return Outcome(bad, counter.count)

    return iteration


def deep_propagation() -> Iteration:
    """A chain of 50, + 1 each, with an effect on the end."""
    fns = [_offset(1) for _ in range(50)]
    values = _chain_values(fns, 0)
    counter = Counter()
    counter.hit(values[-1])

    def iteration() -> Outcome:
        bad = 0
        if _push_chain(fns, values, 1):
            counter.hit(values[-1])
        counter.count = 0
        for i in range(50):
            if _push_chain(fns, values, i):
                counter.hit(values[-1])
            bad += values[-1] != 50 + i
        return Outcome(bad, counter.count)

    return iteration


def diamond() -> Iteration:
    """5 branches of head + 1 joined by a sum."""
    width = 5
    branch_fns = [_offset(1) for _ in range(width)]
    head = [0]
    branches = [fn(0) for fn in branch_fns]

    def total(values: list[Any]) -> Any:
        result = 0
        for value in values:
            result += value
        return result

    join = [total(branches)]
    counter = Counter()
    counter.hit(join[0])
    indexed = list(enumerate(branch_fns))

    def write(value: Any) -> None:
        if value == head[0]:
            return
        head[0] = value
        changed = False
        for index, fn in indexed:
            new = fn(value)
            if new != branches[index]:
                branches[index] = new
                changed = True
        if changed:
            new = total(branches)
            if new != join[0]:
                join[0] = new
                counter.hit(new)

    def iteration() -> Outcome:
        bad = 0
        write(1)
        bad += join[0] != 2 * width
        counter.count = 0
        for i in range(500):
            write(i)
            bad += join[0] != (i + 1) * width
        return Outcome(bad, counter.count)

    return iteration


def triangle() -> Iteration:
    """A chain of 10 levels (head and 9 computeds) and a sum over every level."""
    width = 10
    fns = [_offset(1) for _ in range(width - 1)]
    levels = _chain_values(fns, 0)

    def total(values: list[Any]) -> Any:
        result = 0
        for value in values:
            result += value
        return result

    join = [total(levels)]
    counter = Counter()
    counter.hit(join[0])
    constant = sum(range(width))

    def write(value: Any) -> None:
        # Every level feeds the sum, so the chain is walked to its end.
        if value == levels[0]:
            return
        levels[0] = value
        for index, fn in enumerate(fns, 1):
            value = fn(value)
            levels[index] = value
        new = total(levels)
        if new != join[0]:
            join[0] = new
            counter.hit(new)

    def iteration() -> Outcome:
        bad = 0
        write(1)
        bad += join[0] != constant + width
        counter.count = 0
        for i in range(100):
            write(i)
            bad += join[0] != constant + i * width
        return Outcome(bad, counter.count)

    return iteration


def mux() -> Iteration:
    """100 heads -> one dict -> 100 index computeds -> + 1 -> 100 effects."""
    count = 100
    heads = [0] * count

    def mux_fn(values: list[Any]) -> dict[int, Any]:
        return {i: value for i, value in enumerate(values)}

    pick_fns = [_index(i) for i in range(count)]
    plus_fns = [_offset(1) for _ in range(count)]
    muxed = [mux_fn(heads)]
    picked = [fn(muxed[0]) for fn in pick_fns]
    split = [fn(value) for fn, value in zip(plus_fns, picked, strict=True)]
    counter = Counter()
    for value in split:
        counter.hit(value)
    nodes = list(zip(range(count), pick_fns, plus_fns, strict=True))

    def write(index: int, value: Any) -> None:
        if value == heads[index]:
            return
        heads[index] = value
        new_mux = mux_fn(heads)
        if new_mux == muxed[0]:
            return
        muxed[0] = new_mux
        for i, pick, plus in nodes:
            new = pick(new_mux)
            if new == picked[i]:
                continue
            picked[i] = new
            new = plus(new)
            if new != split[i]:
                split[i] = new
                counter.hit(new)

    def iteration() -> Outcome:
        bad = 0
        counter.count = 0
        for i in range(10):
            write(i, i)
            bad += split[i] != i + 1
        for i in range(10):
            write(i, i * 2)
            bad += split[i] != i * 2 + 1
        return Outcome(bad, counter.count)

    return iteration


def repeated_observers() -> Iteration:
    """One computed that reads the head 30 times."""
    size = 30
    head = [0]

    def repeated(value: Any) -> Any:
        result = 0
        for _ in range(size):
            result += value
        return result

    current = [repeated(0)]
    counter = Counter()
    counter.hit(current[0])

    def write(value: Any) -> None:
        if value == head[0]:
            return
        head[0] = value
        new = repeated(value)
        if new != current[0]:
            current[0] = new
            counter.hit(new)

    def iteration() -> Outcome:
        bad = 0
        write(1)
        bad += current[0] != size
        counter.count = 0
        for i in range(100):
            write(i)
            bad += current[0] != i * size
        return Outcome(bad, counter.count)

    return iteration


def unstable() -> Iteration:
    """A computed that reads `double` or `inverse` 20 times; only the branch read runs."""
    head = [0]

    def double(value: Any) -> Any:
        return value * 2

    def inverse(value: Any) -> Any:
        return -value

    def flip(value: Any) -> Any:
        branch = double(value) if value % 2 else inverse(value)
        result = 0
        for _ in range(20):
            result += branch
        return result

    current = [flip(0)]
    counter = Counter()
    counter.hit(current[0])

    def write(value: Any) -> None:
        if value == head[0]:
            return
        head[0] = value
        new = flip(value)
        if new != current[0]:
            current[0] = new
            counter.hit(new)

    def iteration() -> Outcome:
        bad = 0
        write(1)
        bad += current[0] != 40
        counter.count = 0
        for i in range(100):
            write(i)
            bad += current[0] != (40 * i if i % 2 else -20 * i)
        return Outcome(bad, counter.count)

    return iteration


FLOORS: dict[str, Callable[[], Iteration]] = {
    "avoidable": avoidable_propagation,
    "broad": broad_propagation,
    "deep": deep_propagation,
    "diamond": diamond,
    "triangle": triangle,
    "mux": mux,
    "repeated": repeated_observers,
    "unstable": unstable,
    "cellx": cellx,
    "create_atoms": create_signals,
    "create_derived": create_computeds,
    "family": family_lookup,
    "roundtrip": round_trip,
}
