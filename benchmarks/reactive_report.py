"""The benchmark's tables, summary and targets, as Markdown (pasteable into the docs)."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.reactive_adapters import ADAPTERS, DISTRIBUTIONS
from benchmarks.reactive_cases import CASES, CASES_BY_KEY, Case
from benchmarks.reactive_extra import ROUND_TRIPS
from benchmarks.reactive_timing import FLOOR, Measurement

STORE = "molecules"
# The store's two effect shapes: a listener on the node itself, and the user's way (a
# derived atom over what the effect reads, subscribed), each on the pure-Python package and
# on the optional mypyc build; targets are judged for each.
STORE_SHAPES = ("molecules", "molecules-fx", "molecules-compiled", "molecules-fx-compiled")
MINIMAL = "minimal"
GLITCH_FREE_PEERS = ("reaktiv", "observ")
KAIRO_SPEEDUP_TARGET = 2.5
DEEP_FLOOR_TARGET = 10.0
WRITES_TARGET = 500_000


@dataclass
class Target:
    """One stated target and whether this run met it."""

    name: str
    met: bool | None  # None: not measurable in this run
    detail: str


@dataclass
class Summary:
    """Figures derived from the measurements."""

    kairo_geomean_ms: dict[str, float] = field(default_factory=dict)
    kairo_cases: dict[str, int] = field(default_factory=dict)
    # Per store shape: the faster peer's kairo geomean / the shape's, and which peer.
    store_vs_peers: dict[str, float] = field(default_factory=dict)
    faster_peer: dict[str, str] = field(default_factory=dict)
    store_vs_minimal: dict[str, float] = field(default_factory=dict)
    deep_vs_floor: dict[str, float] = field(default_factory=dict)
    writes_per_second: dict[str, float] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(value) for value in values) / len(values))


def summarize(
    cases: list[Case], libraries: list[str], table: dict[tuple[str, str], Measurement]
) -> Summary:
    """Geometric means, ratios, round-trip rates and the verdict on each target."""
    summary = Summary()

    def ms(case: str, library: str) -> float | None:
        found = table.get((case, library))
        return found.ms if found is not None and found.timed else None

    def ok_ms(case: str, library: str) -> float | None:
        found = table.get((case, library))
        return found.ms if found is not None and found.status == "ok" else None

    kairo = [case.key for case in cases if case.group == "kairo"]
    for library in libraries:
        times = [t for t in (ms(key, library) for key in kairo) if t is not None]
        if times:
            summary.kairo_geomean_ms[library] = _geomean(times)
            summary.kairo_cases[library] = len(times)
        trip = ms("roundtrip", library)
        if trip is not None:
            summary.writes_per_second[library] = ROUND_TRIPS / (trip / 1000)

    peers = [p for p in GLITCH_FREE_PEERS if p in libraries]
    commons: dict[str, int] = {}
    for shape in (s for s in STORE_SHAPES if s in libraries):
        common = [
            key
            for key in kairo
            if ok_ms(key, shape) is not None and all(ok_ms(key, p) is not None for p in peers)
        ]
        commons[shape] = len(common)
        if peers and common:
            mine = _geomean([ok_ms(key, shape) or 0.0 for key in common])
            means = {p: _geomean([ok_ms(key, p) or 0.0 for key in common]) for p in peers}
            summary.faster_peer[shape] = min(means, key=means.__getitem__)
            summary.store_vs_peers[shape] = means[summary.faster_peer[shape]] / mine
        both = [k for k in kairo if ok_ms(k, shape) is not None and ok_ms(k, MINIMAL) is not None]
        if both and len(both) == len(kairo):
            summary.store_vs_minimal[shape] = _geomean(
                [ok_ms(k, MINIMAL) or 0.0 for k in both]
            ) / _geomean([ok_ms(k, shape) or 0.0 for k in both])
        deep, floor = ok_ms("deep", shape), ok_ms("deep", FLOOR)
        if deep is not None and floor is not None:
            summary.deep_vs_floor[shape] = deep / floor

    all_kairo = sum(1 for case in CASES if case.group == "kairo")
    summary.targets = _targets(cases, libraries, table, summary, commons, all_kairo)
    return summary


def _targets(
    cases: list[Case],
    libraries: list[str],
    table: dict[tuple[str, str], Measurement],
    summary: Summary,
    commons: dict[str, int],
    kairo: int,
) -> list[Target]:
    targets = []
    for shape in (s for s in STORE_SHAPES if s in libraries):
        losses, extra = [], []  # kairo cases decide; the others are reported beside
        for case in cases:
            lost = losses if case.group == "kairo" else extra
            mine = table.get((case.key, shape))
            if mine is None or mine.status != "ok" or mine.ms is None:
                lost.append(f"{case.key} (store {mine.status if mine else 'missing'})")
                continue
            for peer in GLITCH_FREE_PEERS:
                theirs = table.get((case.key, peer))
                if theirs is not None and theirs.status == "ok" and (theirs.ms or 0) <= mine.ms:
                    lost.append(f"{case.key} ({peer} faster)")
        name = f"{shape}: no kairo case slower than reaktiv/observ"
        if not any(peer in libraries for peer in GLITCH_FREE_PEERS):
            targets.append(Target(name, None, "no glitch-free peer in this run"))
        else:
            detail = "faster on every kairo case" if not losses else "not on: " + ", ".join(losses)
            detail += "; slower on other cases: " + ", ".join(extra) if extra else ""
            targets.append(Target(name, not losses, detail))

        ratio = summary.store_vs_peers.get(shape)
        if ratio is None:
            met, detail = None, "not measured"
        else:
            met = ratio >= KAIRO_SPEEDUP_TARGET if commons[shape] == kairo else None
            peer = summary.faster_peer[shape]
            detail = f"{ratio:.2f}x vs {peer} over {commons[shape]}/{kairo} kairo cases"
            if commons[shape] != kairo:
                detail += " (the verdict needs all of them)"
        name = f"{shape}: kairo geometric mean >= {KAIRO_SPEEDUP_TARGET:g}x faster than peers"
        targets.append(Target(name, met, detail))

        vs_minimal = summary.store_vs_minimal.get(shape)
        targets.append(
            Target(
                f"{shape}: kairo geometric mean at least as fast as the minimal core",
                None if vs_minimal is None else vs_minimal >= 1.0,
                "not measured"
                if vs_minimal is None
                else f"{1 / vs_minimal:.2f}x the minimal core's time",
            )
        )
        deep = summary.deep_vs_floor.get(shape)
        targets.append(
            Target(
                f"{shape}: deep propagation within {DEEP_FLOOR_TARGET:g}x of the plain floor",
                None if deep is None else deep <= DEEP_FLOOR_TARGET,
                "not measured" if deep is None else f"{deep:.1f}x the floor",
            )
        )
        writes = summary.writes_per_second.get(shape)
        targets.append(
            Target(
                f"{shape}: set -> listener >= {WRITES_TARGET:,} writes/s",
                None if writes is None else writes >= WRITES_TARGET,
                "not measured" if writes is None else f"{writes:,.0f} writes/s",
            )
        )
    return targets


def _format_ms(ms: float) -> str:
    if ms >= 100:
        return f"{ms:,.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def _cell(measurement: Measurement | None) -> str:
    if measurement is None:
        return ""
    if measurement.status == "n/a":
        return "n/a"
    if measurement.status in ("fail", "timeout"):
        return measurement.status.upper()
    text = _format_ms(measurement.ms or 0.0)
    if measurement.status == "glitch":
        text += " [g]"
    if measurement.raised_limit:
        text += " [r]"
    return text


def _ratio_cell(measurement: Measurement | None, store: Measurement | None) -> str:
    if measurement is None or store is None or not measurement.timed or not store.timed:
        return _cell(measurement) if measurement is not None and not measurement.timed else ""
    return f"{(measurement.ms or 0.0) / (store.ms or 1.0):.2f}x"


def _column(library: str) -> str:
    if library == FLOOR:
        return "plain Python"
    if library in ADAPTERS and not ADAPTERS[library].glitch_free:
        return f"{library} (not glitch-free)"
    return library


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render(
    cases: list[Case],
    libraries: list[str],
    table: dict[tuple[str, str], Measurement],
    summary: Summary,
) -> str:
    """The Markdown report: times, ratios, summary, targets and notes."""
    header = ["case", "one iteration"] + [_column(library) for library in libraries]
    rule = ["---"] * 2 + ["---:"] * len(libraries)
    lines = ["### Milliseconds per iteration (best run; lower is better)", ""]
    lines += [_row(header), _row(rule)]
    for case in cases:
        cells = [_cell(table.get((case.key, library))) for library in libraries]
        lines.append(_row([case.title, case.work, *cells]))
    lines += ["", "`[g]` values right but effects ran a different number of times than the"]
    lines += ["glitch-free count (see notes); `[r]` RecursionError at the default limit, timed"]
    lines += ["with the limit raised; FAIL: a wrong value, effect count or an error; TIMEOUT: no"]
    lines += ["result within the time limit; n/a: the library cannot express the shape.", ""]

    if STORE in libraries:
        lines += ["### Each library's time / this store's time (higher: this store is faster)", ""]
        lines += [_row(["case", *header[2:]]), _row(["---", *rule[2:]])]
        for case in cases:
            store = table.get((case.key, STORE))
            cells = [_ratio_cell(table.get((case.key, library)), store) for library in libraries]
            lines.append(_row([case.title, *cells]))
        lines.append("")

    lines += ["### Summary", "", _row(["figure", "value"]), _row(["---", "---"])]
    kairo_total = sum(1 for case in cases if case.group == "kairo")
    for library, mean in summary.kairo_geomean_ms.items():
        count = summary.kairo_cases[library]
        of = f" ({count}/{kairo_total} cases)" if count != kairo_total else ""
        lines.append(
            _row([f"kairo geometric mean, {_column(library)}", f"{_format_ms(mean)} ms{of}"])
        )
    for shape, ratio in summary.store_vs_peers.items():
        peer = summary.faster_peer[shape]
        lines.append(
            _row([f"{shape} vs faster of reaktiv/observ (kairo geomean)", f"{ratio:.2f}x ({peer})"])
        )
    for shape, ratio in summary.store_vs_minimal.items():
        lines.append(_row([f"{shape} vs the minimal core (kairo geomean)", f"{ratio:.2f}x"]))
    for shape, ratio in summary.deep_vs_floor.items():
        lines.append(_row([f"deep propagation, {shape} / plain Python", f"{ratio:.1f}x"]))
    for library, rate in summary.writes_per_second.items():
        lines.append(_row([f"set -> listener writes/s, {_column(library)}", f"{rate:,.0f}"]))
    lines += [
        "",
        "### Targets",
        "",
        _row(["target", "result", "detail"]),
        _row(["---", "---", "---"]),
    ]
    for target in summary.targets:
        verdict = "n/a" if target.met is None else ("PASS" if target.met else "MISS")
        lines.append(_row([target.name, verdict, target.detail]))

    notes = [m for m in table.values() if m.note]
    if notes:
        lines += ["", "### Notes", ""]
        lines += [f"- {CASES_BY_KEY[m.case].title}, {m.library}: {m.note}" for m in notes]
    return "\n".join(lines) + "\n"


def _git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(libraries: list[str]) -> dict[str, Any]:
    """Where and with what this run was measured."""
    versions = {}
    for library in libraries:
        if library in DISTRIBUTIONS:
            try:
                versions[library] = metadata.version(DISTRIBUTIONS[library])
            except metadata.PackageNotFoundError:
                versions[library] = "unknown"
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "commit": _git_commit(),
        "versions": versions,
    }


def render_machine(info: dict[str, Any]) -> str:
    """One Markdown paragraph describing the machine."""
    versions = ", ".join(f"{name} {version}" for name, version in info["versions"].items())
    text = (
        f"{info['python']} on {info['platform']}, {info['cpu']} ({info['cpus']} CPUs); "
        f"commit {info['commit']}; {versions}."
    )
    if "load_average" in info:
        before, after = info["load_average"]
        text += f" Load average {before} before, {after} after; {info['rounds']} round(s)."
        if "clock" in info:
            text += f" Timed with {info['clock']}."
    return text + "\n"
