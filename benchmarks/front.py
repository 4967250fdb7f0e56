"""What the front of `serve --workers N` costs: requests through it against straight to a worker.

    python benchmarks/front.py                  # 8 connections, 5 s a mode, 3 rounds
    python benchmarks/front.py --quick          # 4 connections, 2 s a mode, 1 round

Runs `runnable-bridge serve --workers 2` (the echo model, a SQLite file in a temporary
folder) and measures, from this process (raw HTTP/1.1 over kept-alive connections, on
uvloop when installed):

1. Requests/s of `GET /info` with C connections, each sending its next request when the
   last is answered, in three modes: straight to worker 0's Unix socket (no front);
   through the front to worker 0 (no session); through the front with the connections'
   sessions spread over both workers. Beside each: the front's and the workers' CPU time
   per request (from /proc), the figure least moved by other jobs on the machine.
2. A streamed run's chunk latency: one run of the echo model (`--words` words, 40 ms
   apart) followed at once through the front and straight from its worker's socket; the
   front's added latency of a chunk is the difference of its two arrival times (p50,
   p99, max), over the chunks sent live (the first ten, replayed on joining, left out).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import aconnect_sse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.serve.front import worker_for  # noqa: E402

_READY = re.compile(r"(\d+) workers ready behind \S+ \((\S+)\)")
_CONTENT_LENGTH = re.compile(rb"(?i)content-length: (\d+)")
_TICK = os.sysconf("SC_CLK_TCK")


def _session(worker: int) -> str:
    return next(f"bench{i}" for i in range(10_000) if worker_for(f"bench{i}", 2) == worker)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


async def _client(
    target: tuple[str, int] | str, session: str | None, until: float, latencies: list[float]
) -> None:
    if isinstance(target, str):
        reader, writer = await asyncio.open_unix_connection(target)
    else:
        reader, writer = await asyncio.open_connection(*target)
    extra = f"X-Session: {session}\r\n" if session else ""
    request = f"GET /info HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode()
    try:
        while time.monotonic() < until:
            sent = time.monotonic()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = _CONTENT_LENGTH.search(head)
            assert length is not None, head
            await reader.readexactly(int(length.group(1)))
            latencies.append(time.monotonic() - sent)
    finally:
        writer.close()


async def _load(
    target: tuple[str, int] | str,
    sessions: list[str | None],
    seconds: float,
    pids: dict[str, int],
) -> dict[str, float]:
    latencies: list[float] = []
    cpu = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(*(_client(target, s, until, latencies) for s in sessions))
    elapsed = time.monotonic() - started
    count = len(latencies)
    latencies.sort()
    found = {
        "rps": count / elapsed,
        "p50_ms": latencies[count // 2] * 1000,
        "p99_ms": latencies[int(count * 0.99)] * 1000,
    }
    for name, pid in pids.items():
        found[f"{name}_us"] = (_cpu_seconds(pid) - cpu[name]) / count * 1e6
    return found


async def _follow(client: httpx.AsyncClient, run_id: str) -> dict[int, float]:
    seen: dict[int, float] = {}
    async with aconnect_sse(client, "GET", f"/runs/{run_id}/events") as source:
        async for event in source.aiter_sse():
            seen[int(event.id)] = time.monotonic()
            if event.event == "done":
                break
    return seen


async def _chunk_latency(url: str, sockets: list[str], words: int) -> dict[str, float]:
    session = _session(1)
    headers = {"X-Session": session}
    direct_transport = httpx.AsyncHTTPTransport(uds=sockets[1])
    async with (
        httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as front,
        httpx.AsyncClient(
            base_url="http://worker", headers=headers, timeout=60, transport=direct_transport
        ) as direct,
    ):
        inputs = {"name": " ".join(f"w{i}" for i in range(words))}
        started = await front.post("/runnables/prompt:greeter/runs", json={"inputs": inputs})
        run_id = started.json()["run_id"]
        through, straight = await asyncio.gather(_follow(front, run_id), _follow(direct, run_id))
    live = sorted(i for i in through if i in straight)[10:]
    added = sorted((through[i] - straight[i]) * 1000 for i in live)
    return {
        "events": len(live),
        "p50_ms": statistics.median(added),
        "p99_ms": added[int(len(added) * 0.99)],
        "max_ms": added[-1],
    }


def _start(folder: Path) -> tuple[subprocess.Popen[bytes], str, list[str]]:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OPENAI_BASE_URL", None)
    stderr = folder / "stderr.txt"
    command = [sys.executable, "-m", "bridge", "serve", "--workers", "2", "--port", str(port)]
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--db", str(folder / "bench.sqlite")],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    deadline = time.monotonic() + 120
    while not (found := _READY.search(stderr.read_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start:\n{stderr.read_text()}")
        time.sleep(0.1)
    sockets = [os.path.join(found.group(2), f"worker-{i}.sock") for i in range(2)]
    return process, f"http://127.0.0.1:{port}", sockets


async def _measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    process, url, sockets = _start(folder)
    try:
        pid_of = {
            w: httpx.get(f"{url}/info", headers={"X-Session": _session(w)}).json()["worker_pid"]
            for w in (0, 1)
        }
        pids = {"front": process.pid, "worker0": pid_of[0], "worker1": pid_of[1]}
        port = int(url.rsplit(":", 1)[1])
        none: list[str | None] = [None] * args.connections
        spread: list[str | None] = [_session(i % 2) for i in range(args.connections)]
        modes: dict[str, tuple[tuple[str, int] | str, list[str | None]]] = {
            "straight to worker 0 (Unix socket)": (sockets[0], none),
            "through the front, worker 0": (("127.0.0.1", port), none),
            "through the front, sessions on both workers": (("127.0.0.1", port), spread),
        }
        await _load(sockets[0], none, 1.0, pids)  # warm up
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in modes}
        for _ in range(args.rounds):
            for name, (target, sessions) in modes.items():
                rounds[name].append(await _load(target, sessions, args.seconds, pids))
        best = {name: max(found, key=lambda r: r["rps"]) for name, found in rounds.items()}
        return {"load": best, "chunks": await _chunk_latency(url, sockets, args.words)}
    finally:
        process.terminate()
        process.wait(timeout=30)


def report(args: argparse.Namespace, found: dict[str, Any], load_average: str) -> str:
    """The figures as markdown."""
    lines = [
        f"GET /info, {args.connections} kept-alive connections, {args.seconds:g} s a mode, "
        f"best of {args.rounds} (load average {load_average}):",
        "",
        "| mode | requests/s | p50 ms | p99 ms | front CPU µs/req | workers CPU µs/req |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in found["load"].items():
        workers = r["worker0_us"] + r["worker1_us"]
        lines.append(
            f"| {name} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
            f"| {r['front_us']:.0f} | {workers:.0f} |"
        )
    load = found["load"]
    names = list(load)
    ratio = load[names[0]]["rps"] / load[names[1]]["rps"]
    spread = load[names[2]]["rps"] / load[names[1]]["rps"]
    chunks = found["chunks"]
    lines += [
        "",
        f"straight / through the front (one worker): {ratio:.2f}x; "
        f"both workers / one worker through the front: {spread:.2f}x",
        "",
        f"Streamed run, {args.words} words: the front adds p50 {chunks['p50_ms']:.2f} ms, "
        f"p99 {chunks['p99_ms']:.2f} ms, max {chunks['max_ms']:.2f} ms per chunk "
        f"({chunks['events']:.0f} live events).",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark and print its report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--words", type=int, default=120)
    args = parser.parse_args()
    if args.quick:
        args.connections, args.seconds, args.rounds, args.words = 4, 2.0, 1, 40
    load_before = _load_average()
    with tempfile.TemporaryDirectory(prefix="rb-bench-front-") as folder:
        try:
            import uvloop
        except ImportError:
            found = asyncio.run(_measure(args, Path(folder)))
        else:
            found = uvloop.run(_measure(args, Path(folder)))
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(report(args, found, f"{load_before} before, {_load_average()} after"))


def _load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


if __name__ == "__main__":
    main()
