"""What run tracking costs: the run store alone, and a recorded dataset against the same unrecorded.

    python benchmarks/tracking.py                 # 10,000 rows, markdown on stdout
    python benchmarks/tracking.py --quick         # 1,000 rows (a smoke run)
    python benchmarks/tracking.py --rows 5000 --writers 1000
    python benchmarks/tracking.py --repeat 3      # each dataset variant 3 times, medians

1. The run store alone: `--writers` tasks at once, each writing one run the way a turn
   does (create the run, add a task, append streamed text twice, end the task, end the
   run), every write awaited. Writes per second over the wall time, on a SQLite file and
   on PostgreSQL, with the number of transactions the store committed.
2. A dataset: `--rows` rows through `bridge.run_dataset`, each row a prompt (the local
   OpenAI-compatible server, in its own process) then two evaluators reading its output;
   the same rows unrecorded (`create_default_bridge()` without a run store), then recorded
   on SQLite and on PostgreSQL (`create_default_bridge(run_store=...)`), in one run of the
   script. The overhead is recorded wall time / unrecorded wall time - 1, and the same
   for this process's CPU time (steadier on a shared machine). With `--repeat N` the
   variants run N times, interleaved (each repeat starting with the next variant), the
   figures are medians, and each overhead is the median of the N ratios of a recorded run
   to the unrecorded run of the same repeat.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.engine import (  # noqa: E402
    POSTGRES_URL,
    chat_server,
    medians,
    postgres_schema,
    run_stores,
)
from bridge import create_default_bridge  # noqa: E402
from molecules import Store  # noqa: E402
from runnable.chat.provider import ChatProvider  # noqa: E402
from runnable.retry import RetryPolicy  # noqa: E402
from runnable.sources import InMemorySource  # noqa: E402
from runnable.tracking import RunStatus, RunStore  # noqa: E402
from runnable.types import ExecutionStatus  # noqa: E402

PROMPT = {
    "name": "greeter",
    "messages": [{"role": "user", "content": "Greet {{name}}"}],
    "settings": {"model": "gpt-4o-mini", "temperature": 0},
}
EVALUATORS = {
    "e1": {"name": "says-hi", "evaluator_key": "regex", "settings": {"pattern": "Greet"}},
    "e2": {"name": "names-ada", "evaluator_key": "regex", "settings": {"pattern": "Ada"}},
}
CHAIN = {
    "nodes": [
        {"id": "greet", "ref": "prompt:p1"},
        {"id": "hi", "ref": "evaluator_revision:e1"},
        {"id": "ada", "ref": "evaluator_revision:e2"},
    ],
    "connections": [
        {
            "source": "greet",
            "target": target,
            "input_mappings": [{"target_key": "output", "source_path": "output"}],
        }
        for target in ("hi", "ada")
    ],
}


async def store_alone(url: str, schema: str | None, writers: int) -> dict[str, float]:
    """Phase 1: `writers` runs written at once, six awaited writes each."""
    store = await RunStore.open(url, schema=schema)

    async def one(i: int) -> None:
        run = await store.create_run(name=f"run {i}", inputs={"i": i})
        task = await store.add_task(run.id, node_id="turn-1", request={"model": "m"})
        await store.append_partial(task.id, "Hello ", ttft_ms=12.0)
        await store.append_partial(task.id, "world.")
        await store.finish_task(task.id, RunStatus.SUCCESS, {"text": "Hello world."})
        await store.finish_run(run.id, RunStatus.SUCCESS)

    try:
        before = store.transactions
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(writers)))
        elapsed = time.perf_counter() - started
        return {
            "seconds": elapsed,
            "writes": store.writes,
            "transactions": store.transactions - before,
        }
    finally:
        await store.close()


async def dataset(
    base_url: str, rows: int, run_store: RunStore | None, row_concurrency: int
) -> dict[str, float]:
    """Phase 2: the dataset, recorded in `run_store` or not; wall seconds."""
    async with ChatProvider(
        base_url, "sk-bench", retry=RetryPolicy(max_retries=0), timeout=120.0
    ) as provider:
        bridge = create_default_bridge(
            {
                "prompt": InMemorySource({"p1": PROMPT}),
                "evaluator_revision": InMemorySource(EVALUATORS),
            },
            provider=provider,
            run_store=run_store,
        )
        data = [{"name": "Ada" if i % 2 else f"Bob {i}"} for i in range(rows)]
        cpu = time.process_time()
        started = time.perf_counter()
        run = await bridge.run_dataset(CHAIN, data, store=Store(), row_concurrency=row_concurrency)
        result = await run.wait()
        if bridge.recorder is not None:
            await bridge.recorder.drain()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        if result.status is not ExecutionStatus.SUCCESS:
            raise RuntimeError(f"the dataset did not succeed: {result.status}")
        if bridge.recorder is not None and bridge.recorder.errors:
            raise RuntimeError(f"recording failed: {bridge.recorder.errors[0]}")
    found: dict[str, float] = {"seconds": elapsed, "cpu": cpu}
    if run_store is not None:
        found["writes"] = run_store.writes
        found["transactions"] = run_store.transactions
        assert await run_store.count_runs(parent_run_id=result.run_id) == rows
    return found


async def recorded(
    base_url: str, rows: int, url: str, schema: str | None, row_concurrency: int
) -> dict[str, float]:
    run_store = await RunStore.open(url, schema=schema)
    try:
        return await dataset(base_url, rows, run_store, row_concurrency)
    finally:
        await run_store.close()


def report(rows: int, writers: int, concurrency: list[int], repeat: int = 1) -> str:
    lines = [
        f"Python {platform.python_version()}, {platform.machine()}, {platform.system()}, "
        f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the start).",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        databases = run_stores(scratch, schema)
        have_pg = len(databases) > 1
        try:
            lines += [
                "",
                f"| run store alone, {writers:,} runs at once | wall s | writes | writes/s "
                "| transactions | writes per transaction |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            for label, url, db_schema in databases:
                s = asyncio.run(store_alone(url, db_schema, writers))
                lines.append(
                    f"| {label} | {s['seconds']:.2f} | {s['writes']:,} | "
                    f"{s['writes'] / s['seconds']:,.0f} | {s['transactions']:,} | "
                    f"{s['writes'] / max(1, s['transactions']):.0f} |"
                )
            with chat_server() as base_url:
                for flight in concurrency:
                    lines += dataset_table(base_url, rows, flight, databases, repeat)
        finally:
            if have_pg:
                asyncio.run(postgres_schema(False, schema))
    if not have_pg:
        lines.append(f"\nPostgreSQL not reachable at {POSTGRES_URL}.")
    lines += ["", f"Load average at the end: {os.getloadavg()[0]:.1f}."]
    return "\n".join(lines)


def dataset_table(
    base_url: str,
    rows: int,
    flight: int,
    databases: list[tuple[str, str, str | None]],
    repeat: int = 1,
) -> list[str]:
    """The dataset unrecorded, then recorded in each database, `flight` rows at once;
    each variant `repeat` times (interleaved, in a rotated order), medians.

    An overhead is the median over the repeats of recorded / unrecorded - 1 within one
    repeat: runs of one repeat are minutes apart at most, so a slow spell of a shared
    machine weighs on both sides of each ratio, where a ratio of medians can pair a
    recorded run from a slow spell with an unrecorded one from a quick spell.
    """
    lines = [
        "",
        f"| dataset, {rows:,} rows (a prompt, two evaluators), row_concurrency={flight} "
        "| wall s | rows/s | CPU s | writes | writes/s | transactions | overhead (wall) "
        "| overhead (CPU) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    variants: list[tuple[str, str | None, str | None]] = [("bare", None, None), *databases]
    runs: dict[str, list[dict[str, float]]] = {label: [] for label, _, _ in variants}
    for turn in range(repeat):
        for label, url, db_schema in (
            variants[turn % len(variants) :] + variants[: turn % len(variants)]
        ):
            if url is None:
                runs[label].append(asyncio.run(dataset(base_url, rows, None, flight)))
            else:
                runs[label].append(asyncio.run(recorded(base_url, rows, url, db_schema, flight)))
    median = medians(runs)
    bare = median["bare"]
    lines.append(
        f"| not recorded | {bare['seconds']:.2f} | {rows / bare['seconds']:,.0f} "
        f"| {bare['cpu']:.2f} | | | | | |"
    )
    for label, _, _ in databases:
        t = median[label]
        over = {
            key: statistics.median(
                r[key] / b[key] - 1 for r, b in zip(runs[label], runs["bare"], strict=True)
            )
            for key in ("seconds", "cpu")
        }
        lines.append(
            f"| recorded, {label} | {t['seconds']:.2f} | {rows / t['seconds']:,.0f} "
            f"| {t['cpu']:.2f} | {t['writes']:,.0f} | {t['writes'] / t['seconds']:,.0f} "
            f"| {t['transactions']:,.0f} | {over['seconds']:+.0%} | {over['cpu']:+.0%} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--writers", type=int, default=2_000, help="runs written at once")
    parser.add_argument("--quick", action="store_true", help="1,000 rows, 500 runs")
    parser.add_argument(
        "--row-concurrency",
        type=int,
        action="append",
        help="rows in flight (repeatable; default: 4, the library's default, and 32)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each dataset variant (medians)"
    )
    args = parser.parse_args()
    rows, writers = (1_000, 500) if args.quick else (args.rows, args.writers)
    print(report(rows, writers, args.row_concurrency or [4, 32], max(1, args.repeat)))


if __name__ == "__main__":
    main()
