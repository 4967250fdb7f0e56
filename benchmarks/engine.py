"""The conversation engine under load: many instances streaming at once.

    python benchmarks/engine.py                 # 1,000 instances, markdown on stdout
    python benchmarks/engine.py --quick         # 100 instances (a smoke run)
    python benchmarks/engine.py --instances 500 --words 50 --postgres URL
    python benchmarks/engine.py --repeat 3      # streaming, tracked or not, 3 times: medians

What is measured, each in a fresh engine and store:

1. Streaming over HTTP: N instances each run one turn at the same time against the local
   OpenAI-compatible test server (its own process, so it does not share this process's
   GIL); every chunk is parsed from SSE, folded into the instance's atom, and seen by one
   subscriber per instance. Events per second counts every event folded (queued, started,
   each chunk, completed), over the wall time of the whole batch.
2. Folding only: the same events without HTTP, straight into the store, to show what the
   state layer costs per event.
3. Memory per instance: Python heap (tracemalloc) per loaded idle instance, and per
   instance after one turn (three messages) with its selectors mounted.
4. Run tracking: step 1 with a `RunStore` on a SQLite file and on PostgreSQL; writes per
   second counts every write the engine makes (run, task, streamed-text flushes, task
   end, run update) over the batch's wall time. The untracked and tracked batches run
   interleaved (`--repeat N` times each, medians reported), so a slow spell of a shared
   machine does not land on one side of the ratio only.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from molecules import Store  # noqa: E402
from molecules.engine import ConversationEngine  # noqa: E402
from runnable.chat.completion import ChatCompletion, TokenUsage  # noqa: E402
from runnable.chat.execution import TurnCompleted, TurnDelta, TurnStarted  # noqa: E402
from runnable.chat.provider import ChatProvider  # noqa: E402
from runnable.messages import ChatMessage  # noqa: E402
from runnable.retry import RetryPolicy  # noqa: E402
from runnable.tracking import RunStore  # noqa: E402

POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
PROMPT = {
    "id": "bench",
    "name": "Bench",
    "messages": [{"role": "system", "content": "Repeat the words of {{who}}."}],
    "settings": {"model": "gpt-4o-mini"},
    "variable_defaults": {"who": "the user"},
}

SERVER_SCRIPT = """
import sys, time
sys.path.insert(0, sys.argv[1])
from runnable.testing.openai_chat import ChatCompletionsApp, ChatServerState
from runnable.http.serving import serve_in_thread
with serve_in_thread(ChatCompletionsApp(ChatServerState())) as url:
    print(url, flush=True)
    sys.stdin.read()
"""


@contextmanager
def chat_server() -> Iterator[str]:
    """The test chat server in its own process; unscripted, it echoes the user's words."""
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT, str(ROOT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        yield child.stdout.readline().strip() + "/v1"
    finally:
        child.kill()
        child.wait()


@asynccontextmanager
async def provider_for(base_url: str, instances: int) -> AsyncIterator[ChatProvider]:
    limits = httpx.Limits(max_connections=instances, max_keepalive_connections=instances)
    client = httpx.AsyncClient(limits=limits, timeout=120.0)
    try:
        yield ChatProvider(base_url, "sk-bench", client=client, retry=RetryPolicy(max_retries=0))
    finally:
        await client.aclose()


async def start_all(engine: ConversationEngine, store: Store, n: int) -> list[str]:
    return list(
        await asyncio.gather(
            *(store.set(engine.actions.start_prompt_instance, PROMPT) for _ in range(n))
        )
    )


async def streaming(
    base_url: str, n: int, words: int, run_store: RunStore | None = None
) -> dict[str, float]:
    """Phase 1 (and 4 with a run store): N instances, one turn each, all at once."""
    async with provider_for(base_url, n) as provider:
        engine = ConversationEngine(provider=provider, run_store=run_store)
        store = Store()
        events = 0

        def count(iid: str, event: Any) -> None:
            nonlocal events
            events += 1

        ids = await start_all(engine, store, n)
        unsubs = [store.sub(engine.selectors.live_stats(i), lambda: None) for i in ids]
        engine.listen(count)
        message = " ".join(f"w{i}" for i in range(words - 1))  # echo: `words` chunks
        gc.collect()
        started = time.perf_counter()
        tasks = [store.set(engine.actions.execute_message, i, message) for i in ids]
        results = await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        for unsub in unsubs:
            unsub()
        failed = [r for r in results if r.status != "success"]
        if failed:
            raise RuntimeError(f"{len(failed)} turns failed, e.g. {failed[0].error}")
        chunks = sum(
            len(store.get(engine.selectors.conversation_messages(i))[-1].content.split())
            for i in ids
        )  # type: ignore[union-attr]
        await engine.drain()
    return {"seconds": elapsed, "events": events, "chunks": chunks, "turns": n}


def folding(n: int, words: int, instance_ttl: float | None = None) -> dict[str, float]:
    """Phase 2: the same events straight into the store (no HTTP, no provider); with
    `instance_ttl` the engine also notes when each instance last changed."""

    async def run() -> dict[str, float]:
        engine = ConversationEngine(instance_ttl=instance_ttl)
        store = Store()
        ids = await start_all(engine, store, n)
        unsubs = [store.sub(engine.selectors.live_stats(i), lambda: None) for i in ids]
        emit = engine.emitter
        turn_ids = {i: uuid.uuid4().hex for i in ids}
        gc.collect()
        started = time.perf_counter()
        for i in ids:
            store.set(emit, i, TurnStarted(turn_id=turn_ids[i], messages=[], user_input="x"))
        for w in range(words):
            text = f"w{w} "
            for i in ids:
                store.set(emit, i, TurnDelta(turn_id=turn_ids[i], text=text, elapsed_ms=1.0))
        usage = TokenUsage(tokens_in=5, tokens_out=words)
        for i in ids:
            done = ChatCompletion(text="", usage=usage)
            message = ChatMessage(role="assistant", content="done")
            store.set(emit, i, TurnCompleted(turn_id=turn_ids[i], message=message, completion=done))
        elapsed = time.perf_counter() - started
        for unsub in unsubs:
            unsub()
        return {"seconds": elapsed, "events": n * (words + 2)}

    return asyncio.run(run())


async def memory(base_url: str, n: int, words: int) -> dict[str, float]:
    """Phase 3: heap per idle instance, and per instance after one turn, selectors mounted.

    The HTTP client is closed before the last measure: its connection pool is sized to the
    concurrency, not to the number of instances.
    """
    engine_store: list[Any] = []
    async with provider_for(base_url, n) as provider:
        engine = ConversationEngine(provider=provider)
        store = Store()
        engine_store += [engine, store]
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        ids = await start_all(engine, store, n)
        gc.collect()
        idle = tracemalloc.get_traced_memory()[0]
        message = " ".join(f"w{i}" for i in range(words - 1))
        await asyncio.gather(*(store.set(engine.actions.execute_message, i, message) for i in ids))
        unsubs = [
            store.sub(selector(i), lambda: None)
            for i in ids
            for selector in (
                engine.selectors.display_messages,
                engine.selectors.status,
                engine.selectors.merged_variables,
                engine.selectors.stats,
            )
        ]
    await engine.drain()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    for unsub in unsubs:
        unsub()
    return {"idle_kb": (idle - base) / n / 1024, "after_turn_kb": (after - base) / n / 1024}


async def tracked(
    base_url: str, n: int, words: int, url: str, schema: str | None
) -> dict[str, float]:
    run_store = RunStore(url, schema=schema)
    await run_store.init()
    try:
        result = await streaming(base_url, n, words, run_store)
        result["writes"] = run_store.writes
        result["transactions"] = run_store.transactions
        return result
    finally:
        await run_store.close()


async def postgres_schema(create: bool, schema: str) -> bool:
    import asyncpg
    from sqlalchemy.engine import make_url

    dsn = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        sql = f'CREATE SCHEMA "{schema}"' if create else f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'
        await conn.execute(sql)
    finally:
        await conn.close()
    return True


def run_stores(scratch: str, schema: str) -> list[tuple[str, str, str | None]]:
    """The run stores a benchmark compares, as (label, url, schema): a SQLite file in
    `scratch`, and PostgreSQL in `schema` (made here) when it is reachable."""
    stores: list[tuple[str, str, str | None]] = [
        ("SQLite file", f"sqlite+aiosqlite:///{Path(scratch) / 'runs.sqlite'}", None)
    ]
    if asyncio.run(postgres_schema(True, schema)):
        stores.append(("PostgreSQL (local)", POSTGRES_URL, schema))
    return stores


def medians(runs: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Each variant's median of each figure over its runs."""
    return {
        label: {key: statistics.median(r[key] for r in found) for key in found[0]}
        for label, found in runs.items()
    }


def report(n: int, words: int, repeat: int = 1) -> str:
    lines = [
        f"Python {platform.python_version()}, {platform.machine()}, {platform.system()}, "
        f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the start); "
        f"{n:,} instances, one turn of {words} chunks each.",
        "",
        "| phase | wall s | events/s | chunks/s | turns/s |",
        "|---|---:|---:|---:|---:|",
    ]
    with chat_server() as base_url, tempfile.TemporaryDirectory() as scratch:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        rows = run_stores(scratch, schema)
        have_pg = len(rows) > 1
        batches: dict[str, list[dict[str, float]]] = {"bare": []}
        try:
            for _ in range(repeat):
                batches["bare"].append(asyncio.run(streaming(base_url, n, words)))
                for label, url, db_schema in rows:
                    found = asyncio.run(tracked(base_url, n, words, url, db_schema))
                    batches.setdefault(label, []).append(found)
        finally:
            if have_pg:
                asyncio.run(postgres_schema(False, schema))
        median = medians(batches)
        stream = median["bare"]
        lines.append(
            f"| streaming over HTTP, no tracking | {stream['seconds']:.2f} | "
            f"{stream['events'] / stream['seconds']:,.0f} | "
            f"{stream['chunks'] / stream['seconds']:,.0f} | {n / stream['seconds']:,.0f} |"
        )
        # Alternating, best of three: the two rows differ only in the ttl bookkeeping.
        folds: dict[float | None, list[dict[str, float]]] = {None: [], 3600.0: []}
        for _ in range(3):
            for ttl, runs in folds.items():
                runs.append(folding(n, words, instance_ttl=ttl))
        for label, ttl in (("folding only (no HTTP)", None), ("folding, instance_ttl set", 3600.0)):
            fold = min(folds[ttl], key=lambda r: r["seconds"])
            lines.append(
                f"| {label} | {fold['seconds']:.2f} | {fold['events'] / fold['seconds']:,.0f} | | |"
            )
        mem = asyncio.run(memory(base_url, n, words))
        lines += [
            "",
            "| memory (Python heap, tracemalloc) | KiB per instance |",
            "|---|---:|",
            f"| loaded, idle | {mem['idle_kb']:.1f} |",
            f"| after one turn, 4 selectors mounted | {mem['after_turn_kb']:.1f} |",
            "",
            "| run store | wall s | writes | writes/s | writes per turn | transactions "
            "| turns/s | tracked / untracked |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for label, _, _ in rows:
            t = median[label]
            lines.append(
                f"| {label} | {t['seconds']:.2f} | {t['writes']:,.0f} | "
                f"{t['writes'] / t['seconds']:,.0f} | {t['writes'] / n:.1f} | "
                f"{t['transactions']:,.0f} | {n / t['seconds']:,.0f} | "
                f"{stream['seconds'] / t['seconds']:.2f} |"
            )
        if not have_pg:
            lines.append(f"| PostgreSQL | not reachable at {POSTGRES_URL} | | | | | | |")
    lines += ["", f"Load average at the end: {os.getloadavg()[0]:.1f}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--words", type=int, default=50, help="chunks per reply")
    parser.add_argument("--quick", action="store_true", help="100 instances")
    parser.add_argument(
        "--repeat", type=int, default=1, help="untracked and tracked batches each (medians)"
    )
    args = parser.parse_args()
    n = 100 if args.quick else args.instances
    print(report(n, args.words, max(1, args.repeat)))


if __name__ == "__main__":
    main()
