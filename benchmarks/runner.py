"""Graph runner overhead side by side: runnable-bridge, LangChain, Haystack, bare asyncio.

    python benchmarks/runner.py            # everything, one run, a markdown report
    python benchmarks/runner.py --quick    # fewer repetitions (a smoke run)

Engine overhead per node: every node is a no-op that passes its input on, so the time
per node is what the engine costs. Two graphs: a 10-node chain and a 1,000-node random
DAG (seeded; each node reads 0-3 of the 50 nodes before it). Peers run the same graphs
the way their users would write them: LangChain as a `RunnableSequence` (the chain) and
a sequence of `RunnablePassthrough.assign` levels, each a `RunnableParallel` (the DAG);
Haystack as a `Pipeline` with one component per node and one connection per edge.

Streaming: chunks from a provider stream (pre-parsed `ChatDelta` events, as
`ChatProvider.stream` yields them) through the runner and the run molecule into a
store with one subscriber; with `--http`, the same through the local OpenAI-compatible
test server over HTTP (bounded by SSE parsing and a server on the same cores).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import random
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from molecules import Store
from molecules.run import run_molecule
from runnable.chain import Chain, Node, topological_levels
from runnable.chat.completion import ChatDelta
from runnable.runner import NodeContext, plan_graph, run_graph

Graph = tuple[list[str], list[tuple[str, str]]]


def chain_graph(n: int = 10) -> Graph:
    """n nodes, each reading the one before."""
    ids = [f"n{i}" for i in range(n)]
    return ids, [(ids[i], ids[i + 1]) for i in range(n - 1)]


def random_dag(n: int = 1000, seed: int = 7) -> Graph:
    """n nodes; node i reads 0-3 distinct nodes among the 50 before it."""
    rng = random.Random(seed)
    ids = [f"n{i}" for i in range(n)]
    edges = []
    for i in range(1, n):
        window = list(range(max(0, i - 50), i))
        for p in rng.sample(window, min(len(window), rng.randint(0, 3))):
            edges.append((ids[p], ids[i]))
    return ids, edges


# -- engines: each returns an async "run once" function for a graph ---------------------


def bridge_engine(graph: Graph, *, plan_each_run: bool) -> Callable[[], Awaitable[Any]]:
    ids, edges = graph
    chain = Chain(ids, edges)
    plan = plan_graph(chain)

    async def noop(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        return inputs

    async def once() -> Any:
        run = run_graph(chain if plan_each_run else plan, noop)
        await run.wait()
        return run

    return once


def asyncio_engine(graph: Graph) -> Callable[[], Awaitable[Any]]:
    """The floor: a coroutine per node awaiting its parents' tasks (no cap, no events)."""
    ids, edges = graph
    parents: dict[str, list[str]] = {i: [] for i in ids}
    for a, b in edges:
        parents[b].append(a)
    order = Chain(ids, edges).order()
    sequential = all(len(parents[i]) == (0 if k == 0 else 1) for k, i in enumerate(order))

    async def noop(value: Any) -> Any:
        return value

    if sequential:

        async def once_chain() -> Any:
            value: Any = {}
            for _ in order:
                value = await noop(value)
            return value

        return once_chain

    async def once() -> Any:
        tasks: dict[str, asyncio.Task[Any]] = {}

        async def node(node_id: str) -> Any:
            inputs = {p: await tasks[p] for p in parents[node_id]}
            return await noop(inputs)

        loop = asyncio.get_running_loop()
        for node_id in order:
            tasks[node_id] = loop.create_task(node(node_id))
        return await asyncio.gather(*tasks.values())

    return once


def langchain_engine(graph: Graph) -> Callable[[], Awaitable[Any]]:
    from langchain_core.runnables import RunnableLambda, RunnablePassthrough, RunnableSequence

    ids, edges = graph

    async def passthrough(value: Any) -> Any:
        return value

    if all(a == ids[k] and b == ids[k + 1] for k, (a, b) in enumerate(edges)):
        steps = [RunnableLambda(passthrough) for _ in ids]
        sequence: Any = RunnableSequence(*steps)
    else:
        levels = topological_levels(ids, edges)
        parents: dict[str, list[str]] = {i: [] for i in ids}
        for a, b in edges:
            parents[b].append(a)

        def reader(node_id: str) -> Any:
            async def read(state: dict[str, Any]) -> Any:
                return [state[p] for p in parents[node_id]]

            return RunnableLambda(read)

        stages = [
            RunnablePassthrough.assign(**{node_id: reader(node_id) for node_id in level})
            for level in levels
        ]
        sequence = RunnableSequence(*stages) if len(stages) > 1 else stages[0]

    async def once() -> Any:
        return await sequence.ainvoke({})

    return once


def haystack_engine(graph: Graph) -> Callable[[], Awaitable[Any]]:
    from haystack import Pipeline, component  # type: ignore[import-untyped]

    ids, edges = graph
    parents: dict[str, list[str]] = {i: [] for i in ids}
    for a, b in edges:
        parents[b].append(a)

    @component
    class Passthrough:
        def __init__(self, n_inputs: int) -> None:
            component.set_input_types(self, **{f"x{i}": Any for i in range(n_inputs)})

        @component.output_types(out=Any)  # type: ignore[untyped-decorator]
        def run(self, **inputs: Any) -> dict[str, Any]:
            return {"out": inputs}

    pipeline = Pipeline(max_runs_per_component=10**6)
    for node_id in ids:
        pipeline.add_component(node_id, Passthrough(max(1, len(parents[node_id]))))
    for node_id in ids:
        for k, parent in enumerate(parents[node_id]):
            pipeline.connect(f"{parent}.out", f"{node_id}.x{k}")
    roots: dict[str, dict[str, Any]] = {
        node_id: {"x0": {}} for node_id in ids if not parents[node_id]
    }

    async def once() -> Any:
        # Haystack 2.9's Pipeline.run is synchronous; it runs in the loop thread like ours.
        return pipeline.run(roots)

    return once


# -- timing ----------------------------------------------------------------------------


async def per_node_us(
    once: Callable[[], Awaitable[Any]], nodes: int, runs: int, rounds: int
) -> float:
    """The best of `rounds` (microseconds per node, each round `runs` runs).

    The best, not the mean: on a shared machine other work only ever adds time, so the
    fastest round is the closest to what the engine itself costs (as `timeit` advises).
    """
    await once()  # warm-up: imports, caches, first-call costs
    samples = []
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        for _ in range(runs):
            await once()
        samples.append((time.perf_counter() - started) / (runs * nodes) * 1e6)
    return min(samples)


async def overhead_table(quick: bool) -> list[tuple[str, str, float]]:
    rows: list[tuple[str, str, float]] = []
    cases = [
        ("10-node chain", chain_graph(), 100 if quick else 400),
        ("1,000-node DAG", random_dag(), 2 if quick else 5),
    ]
    for label, graph, runs in cases:
        nodes = len(graph[0])
        heavy_runs = max(1, runs // 5)
        engines: list[tuple[str, Callable[[], Awaitable[Any]], int]] = [
            ("runnable-bridge (plan reused)", bridge_engine(graph, plan_each_run=False), runs),
            ("runnable-bridge (plan per run)", bridge_engine(graph, plan_each_run=True), runs),
            ("bare asyncio", asyncio_engine(graph), runs),
            ("langchain-core 0.3.86", langchain_engine(graph), heavy_runs),
            ("haystack-ai 2.9.0", haystack_engine(graph), heavy_runs),
        ]
        for name, once, n_runs in engines:
            value = await per_node_us(once, nodes, n_runs, 3 if quick else 5)
            rows.append((label, name, value))
            print(f"  {label:16} {name:32} {value:9.1f} us/node", file=sys.stderr)
    return rows


# -- streaming ---------------------------------------------------------------------------


async def stream_to_atoms(chunks: int, source: Callable[[], Any]) -> float:
    """Chunks per second from `source()` through the runner and molecule to one subscriber."""
    store = Store()
    molecule = run_molecule()
    received = 0

    def subscriber() -> None:
        nonlocal received
        received += 1

    store.sub(molecule.stream("llm"), subscriber)

    def execute(node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        return source()

    gc.collect()
    started = time.perf_counter()
    await run_graph(Chain(["llm"]), execute, on_event=molecule.listener(store)).wait()
    elapsed = time.perf_counter() - started
    assert received == chunks, (received, chunks)
    assert store.get(molecule.stream("llm")).count == chunks
    return chunks / elapsed


async def in_process_stream(chunks: int) -> float:
    deltas = [ChatDelta(text="tok ") for _ in range(chunks)]

    async def provider() -> AsyncIterator[ChatDelta]:
        for delta in deltas:
            yield delta

    return max([await stream_to_atoms(chunks, provider) for _ in range(5)])


async def http_stream(chunks: int) -> float:
    from runnable.chat.provider import ChatProvider
    from runnable.http.serving import serve_in_thread
    from runnable.testing.openai_chat import ChatCompletionsApp, ChatServerState, reply

    state = ChatServerState()
    with serve_in_thread(ChatCompletionsApp(state)) as url:
        async with ChatProvider(f"{url}/v1", model="bench") as provider:
            state.script(reply(*["tok "] * chunks))

            def source() -> Any:
                return provider.stream([{"role": "user", "content": "go"}])

            return await stream_to_atoms(chunks, source)


def markdown(rows: list[tuple[str, str, float]], stream: float, http: float | None) -> str:
    lines = [
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"{platform.system()}; best of rounds, microseconds per node (lower is better).",
        "",
        "| graph | engine | us per node |",
        "|---|---|---:|",
    ]
    lines += [f"| {graph} | {engine} | {value:.1f} |" for graph, engine, value in rows]
    lines += [
        "",
        "| streaming into atoms, one subscriber | chunks per second |",
        "|---|---:|",
        f"| provider events (in process) -> runner -> run molecule -> store | {stream:,.0f} |",
    ]
    if http is not None:
        lines.append(
            f"| local OpenAI-compatible server over HTTP (SSE) -> ... -> store | {http:,.0f} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--http", action="store_true", help="also stream over local HTTP")
    args = parser.parse_args()
    rows = await overhead_table(args.quick)
    chunks = 20_000 if args.quick else 100_000
    stream = await in_process_stream(chunks)
    print(f"  streaming in process: {stream:,.0f} chunks/s", file=sys.stderr)
    http = await http_stream(chunks // 5) if args.http else None
    if http is not None:
        print(f"  streaming over HTTP: {http:,.0f} chunks/s", file=sys.stderr)
    print(markdown(rows, stream, http))


if __name__ == "__main__":
    asyncio.run(main())
