"""The playground server under many browsers: shared watches and joined run streams.

    python benchmarks/server.py                  # 500 watchers, 1,000 writes, 100 joined
    python benchmarks/server.py --quick          # 50 watchers, 100 writes, 10 joined

What is measured, against `runnable-bridge serve`'s app (the echo model, a SQLite file)
served by uvicorn in a process of its own; the writer is this process and every watcher
is in other processes (raw HTTP/1.1 EventSource connections read by a plain selector
loop, `--procs` processes), so nothing else shares the server's GIL:

1. Watches: W clients watch one selector (`GET /runnables/prompt:greeter/watch?selectors=
   entity`); this process then makes N writes (PATCH, one after another). The latency of
   write i is from the moment its PATCH is sent to the moment the LAST watcher has a
   value at least as new (watches coalesce: a client that skipped value i and got i+1
   has it). p50, p99 and max over the writes; the target is p99 <= 50 ms. Memory per
   watcher is the server process's RSS growth from before the watchers connect to when
   all of them have their first value, divided by W. The server's CPU time (user +
   system) over the writes, per write, is the figure the machine's load swings least.
   Peer: the same watchers through a per-client-queue design that sends every value to
   every client (what `/watch` did before feeds), side by side, with the ratio; and the
   floor: the same bytes written to the same sockets by a bare asyncio loop.
2. Joined run: one run of the echo model (`--words` words, 10 ms apart) followed by J
   clients (started before the run, told its id when it starts) that all join it; the
   fan-out lag of a chunk is from the first client receiving it to the last one
   receiving it (p50, p99), and every client must receive every chunk (no loss).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.serve import ServeOptions, playground_in_thread  # noqa: E402

WATCH_PATH = "/runnables/prompt:greeter/watch?selectors=entity"
_VERSION = re.compile(rb'"name":"v(\d+)"')
_EVENT_ID = re.compile(rb"id: (\d+)\r?\nevent: (\w+)")


# -- client processes ---------------------------------------------------------------------


async def _open(url: str, path: str, headers: dict[str, str] | None = None) -> Any:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port), limit=1 << 22)
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Accept: text/event-stream"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    return reader, writer


def _watchers(url: str, path: str, count: int, last: int) -> list[float]:
    """Run `count` watchers; per write i, when the last of them first held a value >= i.

    A plain selector loop over non-blocking sockets, not asyncio streams: the clients
    share two CPUs with the server, and the lighter they are, the more the figures
    measure the server (a browser holds one connection, on its own machine). Prints
    READY once every watcher has its first event.
    """
    host, port = url.removeprefix("http://").split(":")
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n"
    selector = selectors.DefaultSelector()
    held = [-1] * count
    ready = [False] * count
    tails = [b""] * count
    first_seen = [[0.0] * (last + 1) for _ in range(count)]
    socks = [socket.create_connection((host, int(port))) for _ in range(count)]
    for index, sock in enumerate(socks):
        sock.sendall(request.encode())
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, index)
    not_ready = count
    open_count = count
    while open_count:
        for key, _ in selector.select():
            index = key.data
            sock = socks[index]
            data = sock.recv(1 << 16)
            now = time.monotonic()
            found = _VERSION.findall(tails[index] + data)
            tails[index] = data[-64:]
            if not ready[index] and (found or b"event: entity" in data):
                ready[index] = True
                not_ready -= 1
                if not not_ready:
                    print("READY", flush=True)
            seen = first_seen[index]
            for raw in found:
                version = min(int(raw), last)
                while held[index] < version:
                    held[index] += 1
                    seen[held[index]] = now
            if not data or held[index] >= last:
                selector.unregister(sock)
                sock.close()
                open_count -= 1
    return [max(times) for times in zip(*first_seen, strict=True)]


async def _joiner(url: str, run_id: str, ready: asyncio.Event) -> dict[int, float]:
    """When this client received each event of the run, by event id."""
    reader, writer = await _open(url, f"/runs/{run_id}/events")
    seen: dict[int, float] = {}
    buffer = b""
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            now = time.monotonic()
            buffer += data
            for raw_id, name in _EVENT_ID.findall(buffer):
                seen.setdefault(int(raw_id), now)
                ready.set()
                if name == b"done":
                    return seen
            # Keep an event cut in two by the read; ids already seen are not counted twice.
            buffer = buffer[-256:]
    finally:
        writer.close()
    return seen


async def _joiners(args: argparse.Namespace) -> None:
    # Started (interpreter up, modules imported) before the run is: its id comes on stdin.
    print("UP", flush=True)
    run_id = (await asyncio.to_thread(sys.stdin.readline)).strip()
    readies = [asyncio.Event() for _ in range(args.count)]
    tasks = [asyncio.create_task(_joiner(args.url, run_id, r)) for r in readies]
    await asyncio.gather(*(ready.wait() for ready in readies))
    print("READY", flush=True)
    print(json.dumps(await asyncio.gather(*tasks)), flush=True)


def _spawn(kind: str, url: str, count: int, last: int, **extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, __file__, "--client", kind, "--url", url]
    command += ["--count", str(count), "--last", str(last)]
    for key, value in extra.items():
        command += [f"--{key.replace('_', '-')}", value]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _rest(client: subprocess.Popen[str]) -> str:
    # Not communicate(timeout=...): it reads the pipe underneath the buffer that
    # readline() already filled, and would lose what is in it.
    assert client.stdout is not None
    out = client.stdout.read()
    client.wait(timeout=120)
    return out


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _cpu_s(pid: int | str = "self") -> float:
    # user + system time of a process (/proc/<pid>/stat fields 14 and 15, in clock ticks)
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- the watch benchmark -------------------------------------------------------------------


async def _write_all(url: str, writes: int) -> list[float]:
    sent: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        for i in range(writes):
            sent.append(time.monotonic())
            answer = await http.patch("/runnables/prompt:greeter", json={"name": f"v{i}"})
            answer.raise_for_status()
    return sent


def measure_watch(
    url: str, path: str, watchers: int, writes: int, procs: int, server_pid: int
) -> dict[str, float]:
    """Latency from write to the last watcher, and memory per watcher (see the docstring)."""
    before = _rss_mb(server_pid)
    clients = [_spawn("watch", url, n, writes - 1, path=path) for n in _split(watchers, procs) if n]
    for client in clients:
        assert client.stdout is not None
        assert client.stdout.readline().strip() == "READY"
    time.sleep(0.5)  # every watcher has its first value; let the server settle
    per_watcher_kb = (_rss_mb(server_pid) - before) * 1000 / watchers
    started, cpu = time.monotonic(), _cpu_s(server_pid)
    sent = asyncio.run(_write_all(url, writes))
    elapsed = time.monotonic() - started
    cpu_ms = (_cpu_s(server_pid) - cpu) * 1000 / writes
    lasts: list[list[float]] = []
    for client in clients:
        out = _rest(client)
        lasts.append(json.loads(out.strip().splitlines()[-1]))
    last_by_write = [max(times) for times in zip(*lasts, strict=True)]
    latencies = [(got - at) * 1000 for got, at in zip(last_by_write, sent, strict=True)]
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": _pct(latencies, 0.99),
        "max_ms": max(latencies),
        "writes_per_s": writes / elapsed,
        "kb_per_watcher": per_watcher_kb,
        "cpu_ms_per_write": cpu_ms,
    }


# -- the peer: a queue per client, every value to every client -----------------------------


def queue_per_client_app(bridge: Any, store: Any) -> Any:
    """An app whose watch gives each client its own unbounded queue of every value."""
    from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler
    from sse_starlette import EventSourceResponse, ServerSentEvent
    from starlette.applications import Starlette
    from starlette.routing import Route

    from bridge.server.json import json_text

    async def watch(request: Any) -> Any:
        atom = bridge.runnable("prompt").selectors["data"]("greeter")
        queue: asyncio.Queue[Any] = asyncio.Queue()
        scheduler = AsyncIOThreadSafeScheduler(asyncio.get_running_loop())
        subscription = store.observe(atom, scheduler=scheduler).subscribe(queue.put_nowait)

        async def events() -> AsyncIterator[Any]:
            try:
                while True:
                    yield ServerSentEvent(json_text(await queue.get()), event="entity")
            finally:
                subscription.dispose()

        return EventSourceResponse(events(), ping=0)

    async def patch(request: Any) -> Any:
        from starlette.responses import JSONResponse

        store.set(bridge.runnable("prompt").actions["update"], "greeter", await request.json())
        return JSONResponse({})

    return Starlette(
        routes=[
            Route("/runnables/prompt:greeter/watch", watch),
            Route("/runnables/prompt:greeter", patch, methods=["PATCH"]),
        ]
    )


def serve_peer() -> contextlib.AbstractContextManager[str]:
    """Serve `queue_per_client_app` (in a thread): its URL."""
    from bridge.defaults import create_default_bridge
    from bridge.serve.seeds import EXAMPLE_PROMPTS
    from molecules import Store
    from runnable.http.serving import serve_in_thread
    from runnable.sources import InMemorySource

    bridge = create_default_bridge({"prompt": InMemorySource(EXAMPLE_PROMPTS)})
    store = Store()
    asyncio.run(bridge.load("prompt:greeter", store=store))
    return serve_in_thread(queue_per_client_app(bridge, store))


# -- the servers, each in a process of its own ---------------------------------------------


def _serve(kind: str) -> None:
    """Serve `ours` (the playground) or the `peer`; print the URL; stop when stdin closes."""
    with contextlib.ExitStack() as stack:
        if kind == "ours":
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            options = ServeOptions(port=0, db=str(Path(tmp) / "bench.sqlite"), echo_delay=0.01)
            url = stack.enter_context(playground_in_thread(options))
        else:
            url = stack.enter_context(serve_peer())
        print(url, flush=True)
        # This thread waits without the GIL: the server thread has the process to itself.
        sys.stdin.read()


@contextlib.contextmanager
def _server_process(kind: str) -> Iterator[tuple[str, int]]:
    """`_serve(kind)` in a new process: its URL and pid."""
    command = [sys.executable, __file__, "--serve", kind]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdin is not None and server.stdout is not None
    try:
        url = server.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the {kind} server did not start")
        yield url, server.pid
    finally:
        server.stdin.close()
        server.wait(timeout=60)


# -- the floor: raw asyncio writes of the same bytes, no HTTP framework ----------------------


def measure_floor(watchers: int, writes: int, procs: int) -> dict[str, float]:
    """The same watchers and writes, each write put on every socket by a bare asyncio loop."""

    async def run() -> dict[str, float]:
        writers: list[asyncio.StreamWriter] = []

        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
            writer.write(_floor_event(-1))
            writers.append(writer)

        server = await asyncio.start_server(accepted, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        before = _rss_mb()
        clients = [
            _spawn("watch", url, n, writes - 1, path="/") for n in _split(watchers, procs) if n
        ]
        for client in clients:
            assert client.stdout is not None
            await asyncio.to_thread(client.stdout.readline)
        per_watcher_kb = (_rss_mb() - before) * 1000 / watchers
        sent: list[float] = []
        started, cpu = time.monotonic(), _cpu_s()
        for i in range(writes):
            sent.append(time.monotonic())
            event = _floor_event(i)
            for writer in writers:
                writer.write(event)
            await asyncio.gather(*(writer.drain() for writer in writers))
            await asyncio.sleep(0)
        elapsed = time.monotonic() - started
        cpu_ms = (_cpu_s() - cpu) * 1000 / writes
        lasts = [json.loads((await asyncio.to_thread(_rest, c)).splitlines()[-1]) for c in clients]
        server.close()
        last_by_write = [max(times) for times in zip(*lasts, strict=True)]
        latencies = [(got - at) * 1000 for got, at in zip(last_by_write, sent, strict=True)]
        return {
            "p50_ms": statistics.median(latencies),
            "p99_ms": _pct(latencies, 0.99),
            "max_ms": max(latencies),
            "writes_per_s": writes / elapsed,
            "kb_per_watcher": per_watcher_kb,
            "cpu_ms_per_write": cpu_ms,
        }

    return asyncio.run(run())


def _floor_event(version: int) -> bytes:
    # About the size of the greeter's `entity` event.
    body = json.dumps(
        {"id": "greeter", "name": f"v{version}", "padding": "x" * 300}, separators=(",", ":")
    )
    return f"id: {version + 1}\r\nevent: entity\r\ndata: {body}\r\n\r\n".encode()


# -- the joined run --------------------------------------------------------------------------


def measure_joined(url: str, joined: int, words: int, procs: int) -> dict[str, float]:
    """Fan-out lag of each chunk over `joined` clients of one run (see the docstring)."""
    clients = [_spawn("join", url, n, 0) for n in _split(joined, procs) if n]
    for client in clients:
        assert client.stdout is not None
        assert client.stdout.readline().strip() == "UP"
    text = " ".join(f"w{i}" for i in range(words))
    answer = httpx.post(
        f"{url}/runnables/prompt:summarize/runs", json={"inputs": {"text": text}}, timeout=30
    )
    answer.raise_for_status()
    for client in clients:
        assert client.stdin is not None
        client.stdin.write(answer.json()["run_id"] + "\n")
        client.stdin.flush()
    for client in clients:
        assert client.stdout is not None
        assert client.stdout.readline().strip() == "READY"
    # Events sent before every client had joined arrive as a backlog: they are checked
    # for loss, but only the later ones measure the fan-out.
    everyone_in = time.monotonic()
    results: list[dict[int, float]] = []
    for client in clients:
        out = _rest(client)
        results += [
            {int(k): v for k, v in seen.items()}
            for seen in json.loads(out.strip().splitlines()[-1])
        ]
    total = max(max(seen) for seen in results) + 1
    lags: list[float] = []
    lost = 0
    for event in range(total):
        got = [seen[event] for seen in results if event in seen]
        lost += len(results) - len(got)
        if got and min(got) > everyone_in:
            lags.append((max(got) - min(got)) * 1000)
    return {
        "events": float(total),
        "measured": float(len(lags)),
        "lag_p50_ms": statistics.median(lags) if lags else float("nan"),
        "lag_p99_ms": _pct(lags, 0.99) if lags else float("nan"),
        "lost": float(lost),
    }


# -- the report ----------------------------------------------------------------------------


def _row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def report(
    args: argparse.Namespace,
    ours: dict[str, float],
    peer: dict[str, float] | None,
    floor: dict[str, float] | None,
    joined: dict[str, float],
) -> str:
    """The figures as markdown."""
    out = [
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs "
        f"(load average {os.getloadavg()[0]:.1f}); "
        f"{args.watchers} watchers in {args.procs} client processes, {args.writes} writes",
        "",
        _row(
            ["watch", "p50 ms", "p99 ms", "max ms", "writes/s", "server CPU ms/write", "KB/watcher"]
        ),
        _row(["---"] * 7),
    ]
    fmt: Callable[[dict[str, float]], list[str]] = lambda m: [  # noqa: E731
        f"{m['p50_ms']:.1f}",
        f"{m['p99_ms']:.1f}",
        f"{m['max_ms']:.1f}",
        f"{m['writes_per_s']:.0f}",
        f"{m['cpu_ms_per_write']:.2f}",
        f"{m['kb_per_watcher']:.1f}",
    ]
    out.append(_row(["shared coalescing feeds (ours)", *fmt(ours)]))
    if peer is not None and floor is not None:
        out.append(_row(["a queue per client, every value (peer)", *fmt(peer)]))
        out.append(_row(["bare asyncio writes, no HTTP stack (floor)", *fmt(floor)]))
        out.append("")
        out.append(
            f"p99 ratio peer/ours: {peer['p99_ms'] / ours['p99_ms']:.2f}x; "
            f"ours/floor: {ours['p99_ms'] / floor['p99_ms']:.2f}x; "
            f"target p99 <= 50 ms: {'met' if ours['p99_ms'] <= 50 else 'NOT met'}"
        )
    out += [
        "",
        f"joined run: {args.joined} clients, {joined['events']:.0f} events each "
        f"({joined['measured']:.0f} sent after every client had joined); fan-out lag "
        f"p50 {joined['lag_p50_ms']:.1f} ms, p99 {joined['lag_p99_ms']:.1f} ms; "
        f"events lost: {joined['lost']:.0f}",
    ]
    return "\n".join(out)


def _measure(args: argparse.Namespace) -> dict[str, float]:
    if args.measure == "floor":
        return measure_floor(args.watchers, args.writes, args.procs)
    if args.measure == "peer":
        with _server_process("peer") as (url, pid):
            path = "/runnables/prompt:greeter/watch"
            return measure_watch(url, path, args.watchers, args.writes, args.procs, pid)
    with _server_process("ours") as (url, pid):
        if args.measure == "watch":
            return measure_watch(url, WATCH_PATH, args.watchers, args.writes, args.procs, pid)
        return measure_joined(url, args.joined, args.words, args.procs)


def _in_process_of_its_own(args: argparse.Namespace, what: str) -> dict[str, float]:
    # Each measurement in a fresh process: memory figures do not inherit another's heap.
    command = [sys.executable, __file__, "--measure", what]
    for name in ("watchers", "writes", "joined", "words", "procs"):
        command += [f"--{name}", str(getattr(args, name))]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600)
    found: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    """Run the benchmark (or, with --client or --measure, one of its parts)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--watchers", type=int, default=500)
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--joined", type=int, default=100)
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--measure", choices=["watch", "peer", "floor", "joined"])
    parser.add_argument("--client", choices=["watch", "join"])
    parser.add_argument("--serve", choices=["ours", "peer"])
    parser.add_argument("--url")
    parser.add_argument("--path", default=WATCH_PATH)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--last", type=int, default=0)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve)
        return
    if args.client == "watch":
        # The last watcher of this process, per write.
        print(json.dumps(_watchers(args.url, args.path, args.count, args.last)), flush=True)
        return
    if args.client:
        asyncio.run(_joiners(args))
        return
    if args.measure:
        print(json.dumps(_measure(args)))
        return
    if args.quick:
        args.watchers, args.writes, args.joined, args.words = 50, 100, 10, 300
    ours = _in_process_of_its_own(args, "watch")
    peer = None if args.no_peer else _in_process_of_its_own(args, "peer")
    floor = None if args.no_peer else _in_process_of_its_own(args, "floor")
    joined = _in_process_of_its_own(args, "joined")
    print(report(args, ours, peer, floor, joined))


if __name__ == "__main__":
    main()
