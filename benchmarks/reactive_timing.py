"""Timing one shape on one library: best of several runs, every outcome checked.

A run calls the iteration k times (k chosen so a run lasts about `run_seconds`) with the
garbage collector off, as timeit does; the reported time is the best run divided by k.
Shapes marked `fresh` build a new adapter (and graph) for every run, so k is 1 and only
the iteration itself is timed.

A library that raises RecursionError at the default recursion limit is timed again
with the limit raised (the whole benchmark runs in a thread with a large stack), and
the table marks it: the default limit is what an application gets.

`measure_isolated` runs each pair in its own interpreter, so one library's global state
(schedulers, caches, garbage) cannot slow the next, and a graph on which a library's
work grows exponentially (cellx on eager-push libraries) ends as a timeout.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from benchmarks.reactive_adapters import ADAPTERS
from benchmarks.reactive_cases import Case
from benchmarks.reactive_floor import FLOORS
from benchmarks.reactive_framework import Unsupported
from benchmarks.reactive_shapes import Iteration, Outcome

FLOOR = "floor"
RAISED_RECURSION_LIMIT = 200_000
THREAD_STACK_BYTES = 512 * 1024 * 1024

T = TypeVar("T")


@dataclass(frozen=True)
class Budget:
    """How long to spend on each (shape, library) pair."""

    min_runs: int
    max_runs: int
    seconds: float
    run_seconds: float
    collect: bool = True  # a full gc.collect() before each run (off for smoke tests)


FULL = Budget(min_runs=2, max_runs=20, seconds=0.5, run_seconds=0.05)
QUICK = Budget(min_runs=1, max_runs=2, seconds=0.05, run_seconds=0.005)


@dataclass
class Measurement:
    """The result of one (shape, library) pair."""

    case: str
    library: str
    # "ok"; "glitch": values right, effect counts differ; "fail"; "timeout"; "n/a"
    status: str
    ms: float | None = None
    runs: int | None = None  # effect runs seen in one iteration
    samples: int = 0
    note: str = ""
    raised_limit: bool = False

    @property
    def timed(self) -> bool:
        """Whether `ms` is a time worth showing."""
        return self.status in ("ok", "glitch") and self.ms is not None


Setup = Callable[[], tuple[Iteration, Callable[[], None]]]


def _setup_for(case: Case, library: str) -> Setup:
    if library == FLOOR:
        floor = FLOORS[case.key]
        return lambda: (floor(), _nothing)

    factory = ADAPTERS[library]

    def setup() -> tuple[Iteration, Callable[[], None]]:
        adapter = factory()
        missing = case.requires - adapter.features
        if missing:
            adapter.dispose()
            raise Unsupported(f"{library} cannot express {', '.join(sorted(missing))} graphs")
        return case.build(adapter), adapter.dispose

    return setup


def _nothing() -> None:
    """Nothing to dispose."""


CLOCK_VARIABLE = "REACTIVE_BENCH_CLOCK"


def run_clock() -> Callable[[], float]:
    """The clock runs are timed with: wall time, or with `--cpu` (inherited by workers
    through the environment) the CPU time of this thread, which time spent waiting for
    a CPU taken by other work on a loaded machine does not count."""
    return time.thread_time if os.environ.get(CLOCK_VARIABLE) == "cpu" else time.perf_counter


def _timed_run(
    iteration: Iteration, repeat: int, outcomes: list[Outcome], collect: bool = True
) -> float:
    if collect:
        gc.collect()
    gc.disable()
    try:
        clock = run_clock()
        start = clock()
        for _ in range(repeat):
            outcomes.append(iteration())
        return (clock() - start) / repeat
    finally:
        gc.enable()


def _time(case: Case, setup: Setup, budget: Budget) -> tuple[float, int, list[Outcome]]:
    outcomes: list[Outcome] = []
    best = float("inf")
    samples = 0
    started = time.perf_counter()
    if case.fresh:
        while samples < budget.max_runs:
            iteration, dispose = setup()
            best = min(best, _timed_run(iteration, 1, outcomes, budget.collect))
            dispose()
            samples += 1
            if samples >= budget.min_runs and time.perf_counter() - started > budget.seconds:
                break
        return best, samples, outcomes
    iteration, dispose = setup()
    try:
        warm = _timed_run(iteration, 1, outcomes, budget.collect)
        repeat = max(1, int(budget.run_seconds / max(warm, 1e-9)))
        while samples < budget.max_runs:
            best = min(best, _timed_run(iteration, repeat, outcomes, budget.collect))
            samples += 1
            if samples >= budget.min_runs and time.perf_counter() - started > budget.seconds:
                break
    finally:
        dispose()
    return best, samples, outcomes


def _glitch_free(library: str) -> bool:
    return library == FLOOR or ADAPTERS[library].glitch_free


def _judge(
    case: Case, library: str, best: float, samples: int, outcomes: list[Outcome]
) -> Measurement:
    ms = best * 1000
    wrong = max(outcome.mismatches for outcome in outcomes)
    runs = sorted({outcome.runs for outcome in outcomes})
    odd = [seen for seen in runs if seen != case.expected_runs]
    shown_runs = odd[0] if case.expected_runs is not None and odd else runs[-1]
    measurement = Measurement(case.key, library, "ok", ms, shown_runs, samples)
    if wrong:
        measurement.status = "fail"
        measurement.note = f"{wrong} wrong value(s) in one iteration"
    elif case.expected_runs is not None and runs != [case.expected_runs]:
        seen_text = " or ".join(f"{seen:,}" for seen in runs)
        text = f"effects ran {seen_text} times per iteration, expected {case.expected_runs:,}"
        measurement.status = "fail" if _glitch_free(library) else "glitch"
        measurement.note = text
    return measurement


def measure(case: Case, library: str, budget: Budget) -> Measurement:
    """Time `case` on `library` (an adapter name or "floor") and check every outcome."""
    setup = _setup_for(case, library)
    try:
        return _judge(case, library, *_time(case, setup, budget))
    except Unsupported as error:
        return Measurement(case.key, library, "n/a", note=str(error))
    except RecursionError:
        pass
    except Exception as error:  # a peer's bug must not stop the whole table
        return Measurement(case.key, library, "fail", note=f"{type(error).__name__}: {error}")
    default = sys.getrecursionlimit()
    note = f"RecursionError at the default recursion limit ({default:,})"
    sys.setrecursionlimit(RAISED_RECURSION_LIMIT)
    try:
        measurement = _judge(case, library, *_time(case, setup, budget))
    except Exception as error:
        return Measurement(case.key, library, "fail", note=f"{note}; then {type(error).__name__}")
    finally:
        sys.setrecursionlimit(default)
    measurement.raised_limit = True
    measurement.note = f"{note}; timed with it raised to {RAISED_RECURSION_LIMIT:,}"
    return measurement


def run_with_large_stack(fn: Callable[[], T]) -> T:
    """Run `fn` in a thread whose C stack can hold a raised recursion limit."""
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(fn())
        except BaseException as error:
            errors.append(error)

    previous = threading.stack_size(THREAD_STACK_BYTES)
    try:
        thread = threading.Thread(target=target, name="reactive-benchmark")
        thread.start()
    finally:
        threading.stack_size(previous)
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def measure_isolated(case: Case, library: str, quick: bool, timeout: float) -> Measurement:
    """`measure` in a fresh interpreter (reactive.py --worker), stopped after `timeout` s."""
    command = [sys.executable, str(Path(__file__).with_name("reactive.py"))]
    command += ["--worker", f"{case.key}:{library}"] + (["--quick"] if quick else [])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Measurement(case.key, library, "timeout", note=f"no result within {timeout:g} s")
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Measurement(
            case.key, library, "fail", note=f"worker exited {done.returncode}: {last}"
        )
    return Measurement(**json.loads(lines[-1]))


def worker(case: Case, library: str, quick: bool) -> str:
    """The JSON line a `--worker` run prints."""
    budget = QUICK if quick else FULL
    measurement = run_with_large_stack(lambda: measure(case, library, budget))
    return json.dumps(asdict(measurement))
