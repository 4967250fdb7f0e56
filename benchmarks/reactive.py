"""Reactive benchmark: this project's atom store against reaktiv, observ, psygnal, RxPY and
a hand-written plain-Python floor, on the kairo shapes of js-reactivity-benchmark, a
1,000-layer cellx graph, node creation, family lookup and a set -> listener round trip.

    .venv/bin/python benchmarks/reactive.py            # the full table (a few minutes)
    .venv/bin/python benchmarks/reactive.py --quick    # a smoke run
    .venv/bin/python benchmarks/reactive.py --only deep --libs molecules,floor --profile

Every library's values and kairo effect counts are checked; a library that fails a
check is shown as FAIL and never counts as a win.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: import this checkout's packages, not an installed copy.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.reactive_adapters import ADAPTERS, probe
from benchmarks.reactive_cases import CASES, CASES_BY_KEY, Case
from benchmarks.reactive_report import machine, render, render_machine, summarize
from benchmarks.reactive_timing import (
    CLOCK_VARIABLE,
    FLOOR,
    FULL,
    QUICK,
    Measurement,
    measure_isolated,
    worker,
)

LIBRARIES = (*ADAPTERS, FLOOR)


def _split(values: list[str] | None) -> list[str]:
    return [part for value in values or [] for part in value.split(",") if part]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few repetitions (a smoke run)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="CASE",
        help=f"run only these cases (repeat or comma-separate): {', '.join(CASES_BY_KEY)}",
    )
    parser.add_argument(
        "--libs",
        action="append",
        metavar="LIB",
        help=f"run only these libraries: {', '.join(LIBRARIES)}",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON")
    parser.add_argument(
        "--timeout",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="give up on a (case, library) pair after this long (default 15)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        metavar="N",
        help="passes over the whole table, best time kept (default 2, 1 with --quick)",
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time with each run's CPU time instead of wall time (for a loaded machine)",
    )
    parser.add_argument("--worker", metavar="CASE:LIB", help=argparse.SUPPRESS)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of timing, profile the store on the selected cases (cProfile)",
    )
    args = parser.parse_args(argv)
    for key in _split(args.only):
        if key not in CASES_BY_KEY:
            parser.error(f"unknown case {key!r}; choose from {', '.join(CASES_BY_KEY)}")
    for library in _split(args.libs):
        if library not in LIBRARIES:
            parser.error(f"unknown library {library!r}; choose from {', '.join(LIBRARIES)}")
    return args


def _merge(old: Measurement | None, new: Measurement) -> Measurement:
    """Best time across rounds; a failure in any round stands."""
    if old is None or not old.timed or not new.timed:
        return new
    best = new if (new.ms or 0.0) < (old.ms or 0.0) else old
    best.samples = old.samples + new.samples
    return best


def run(
    cases: list[Case],
    libraries: list[str],
    quick: bool,
    timeout: float,
    rounds: int = 1,
    progress: bool = True,
) -> dict[tuple[str, str], Measurement]:
    """Measure every (case, library) pair, each in its own interpreter, `rounds` times.

    Rounds go over the whole table in turn, so a burst of load from elsewhere on the
    machine spoils one round of a pair rather than its only one.
    """
    table: dict[tuple[str, str], Measurement] = {}
    for round_number in range(rounds):
        for case in cases:
            for library in libraries:
                previous = table.get((case.key, library))
                if previous is not None and not previous.timed:
                    continue  # n/a, timeout and failures are not retried
                result = measure_isolated(case, library, quick, timeout)
                table[(case.key, library)] = _merge(previous, result)
                if progress:
                    shown = f"{result.ms:.3f} ms" if result.ms is not None else ""
                    print(
                        f"  {round_number + 1}/{rounds} {case.key:<15} {library:<10} "
                        f"{result.status:<7} {shown}",
                        file=sys.stderr,
                        flush=True,
                    )
    return table


def profile(cases: list[Case], libraries: list[str], iterations: int = 20, top: int = 25) -> None:
    """Print each library's hottest functions on each case (sorted by own time)."""
    for case, library in [(case, library) for case in cases for library in libraries]:
        adapter = ADAPTERS[library]()
        iteration = case.build(adapter)
        iteration()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(1 if case.fresh else iterations):
            iteration()
        profiler.disable()
        adapter.dispose()
        print(f"\n## {case.title}, {library}: cProfile, sorted by own time\n")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the Markdown report."""
    args = _parse(argv)
    if args.worker:
        key, library = args.worker.split(":")
        print(worker(CASES_BY_KEY[key], library, args.quick))
        return 0
    if args.cpu:
        os.environ[CLOCK_VARIABLE] = "cpu"  # workers inherit it
    only = _split(args.only)
    cases = [case for case in CASES if not only or case.key in only]
    wanted = _split(args.libs) or list(LIBRARIES)
    libraries = []
    for library in wanted:
        reason = None if library == FLOOR else probe(library)
        if reason is None:
            libraries.append(library)
        else:
            print(f"skipping {library}: {reason}", file=sys.stderr)
    if args.profile:
        # The store's own shapes unless libraries are named (the floor has no adapter).
        chosen = _split(args.libs) or ["molecules"]
        profile(cases, [library for library in chosen if library in ADAPTERS])
        return 0
    budget = QUICK if args.quick else FULL
    rounds = args.rounds or (1 if args.quick else 2)
    load_before = os.getloadavg()[0]
    table = run(cases, libraries, args.quick, args.timeout, rounds)
    load_after = os.getloadavg()[0]
    summary = summarize(cases, libraries, table)
    info = machine(libraries)
    info["load_average"] = [round(load_before, 2), round(load_after, 2)]
    info["rounds"] = rounds
    info["clock"] = "CPU time" if args.cpu else "wall time"
    print(render_machine(info))
    print(render(cases, libraries, table, summary))
    if args.json:
        document = {
            "machine": info,
            "budget": asdict(budget),
            "rounds": rounds,
            "measurements": [asdict(measurement) for measurement in table.values()],
            "summary": asdict(summary),
        }
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
