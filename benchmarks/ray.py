"""Dataset rows per second, local vs Ray, against a service that answers in 50 ms.

    python benchmarks/ray.py            # 400 rows per run, a markdown table
    python benchmarks/ray.py --quick    # 80 rows (a smoke run)

The service (one function, `double(n)`, served by `runnable.http.service`) runs in its
own process, so it takes no CPU from the run it serves. Each configuration runs the
same one-node chain (`app_revision:double`) through `bridge.run_dataset`, locally
(`row_concurrency` rows at once) and on Ray (`RayBackend(actors=2)`, the same rows in
flight in all); Ray's actors are started and warmed by one run before the timed one.
Throughput is bounded by rows in flight / latency until the process running the rows
runs out of CPU; the ratio column is Ray / local at equal rows in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this directory comes first on sys.path and this file would shadow the
# `ray` package: the repository root takes its place.
sys.path[0] = str(ROOT)

import ray  # noqa: E402

from bridge import RayBackend, create_default_bridge  # noqa: E402
from molecules import Store  # noqa: E402
from runnable.chain import Chain, Node  # noqa: E402
from runnable.sources import InMemorySource  # noqa: E402
from runnable.types import ExecutionStatus  # noqa: E402

LATENCY = 0.05
CHAIN = Chain(nodes=[Node("app", "app_revision:double")], connections=[])

_SERVICE = f"""
import asyncio, sys, time
import uvicorn
from runnable.http.service import create_service

async def double(n: int) -> int:
    '''Twice n, after {LATENCY} s.'''
    await asyncio.sleep({LATENCY})
    return 2 * n

config = uvicorn.Config(create_service(double), host="127.0.0.1", port=int(sys.argv[1]),
                        log_level="warning", access_log=False)
uvicorn.Server(config).run()
"""


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_service(port: int) -> subprocess.Popen[bytes]:
    """The 50 ms service in a process of its own, on `port`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", _SERVICE, str(port)], env=env, cwd=ROOT)


async def wait_for(url: str) -> None:
    """Return once `url` answers."""
    import httpx

    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                await http.get(f"{url}/openapi.json")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"the service at {url} did not start")


async def rows_per_second(bridge: Any, rows: list[dict[str, Any]], **options: Any) -> float:
    """Run every row once; rows per second (every row must succeed)."""
    started = time.perf_counter()
    result = await (await bridge.run_dataset(CHAIN, rows, store=Store(), **options)).wait()
    elapsed = time.perf_counter() - started
    if result.status is not ExecutionStatus.SUCCESS:
        bad = next(r for r in result.rows if r is None or not r.ok)
        raise RuntimeError(f"the run did not succeed: {result.status}: {bad}")
    return len(rows) / elapsed


async def measure(url: str, count: int, in_flight: list[int]) -> list[tuple[int, float, float]]:
    """(rows in flight, local rows/s, Ray rows/s) for each number of rows in flight."""
    bridge = create_default_bridge({"app_revision": InMemorySource({"double": {"uri": url}})})
    rows = [{"n": n} for n in range(count)]
    found = []
    for flight in in_flight:
        backend = RayBackend(actors=2)
        try:
            per_actor = max(1, flight // 2)
            ray_options = {"backend": backend, "row_concurrency": per_actor}
            await rows_per_second(bridge, rows[: 4 * flight], **ray_options)  # warm the actors
            local = await rows_per_second(bridge, rows, row_concurrency=flight)
            on_ray = await rows_per_second(bridge, rows, **ray_options)
        finally:
            backend.shutdown()
        found.append((flight, local, on_ray))
    return found


def main() -> None:
    """Measure, then print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="80 rows per run")
    parser.add_argument("--port", type=int, default=0, help="the service's port (0: a free one)")
    args = parser.parse_args()
    count = 80 if args.quick else 400
    in_flight = [8] if args.quick else [8, 32]
    service = start_service(args.port or free_port())
    url = f"http://127.0.0.1:{service.args[-1]}"
    env = {"PYTHONPATH": str(ROOT)}
    ray.init(include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    try:
        asyncio.run(wait_for(url))
        table = asyncio.run(measure(url, count, in_flight))
    finally:
        ray.shutdown()
        service.terminate()
        service.wait()
    print(f"\n{count} rows, service latency {LATENCY * 1000:.0f} ms, Ray 2 actors")
    print(f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs\n")
    print("| rows in flight | local rows/s | Ray rows/s | Ray / local |")
    print("|---:|---:|---:|---:|")
    for flight, local, on_ray in table:
        print(f"| {flight} | {local:.0f} | {on_ray:.0f} | {on_ray / local:.2f} |")


if __name__ == "__main__":
    main()
