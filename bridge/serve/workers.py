"""`runnable-bridge serve --workers N`: the playground in N worker processes behind one front.

Each worker is a uvicorn process on a Unix socket of its own (in a folder of the
parent's), opening its own playground (database engines, model, example app) inside its
own loop, from the options the parent put in its environment. The parent serves the
public host:port with `bridge.serve.front`, which sends each request to its session's
worker, since a session's drafts, live runs and conversations live in one worker's
memory. On PostgreSQL the workers stay coherent on saved entities through the sources'
change feed (`create_app` follows it): a save through one worker reaches the watchers of
every other. The parent opens the playground once before the workers start, so the
tables and the examples exist before any worker races to make them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any

import attrs

from bridge.serve.front import Front
from bridge.serve.playground import ServeOptions, open_playground

__all__ = ["OPTIONS_VARIABLE", "PARENT_VARIABLE", "WorkerPool", "serve_workers", "worker_app"]

OPTIONS_VARIABLE = "RUNNABLE_BRIDGE_SERVE_OPTIONS"
"""The environment variable that carries a worker's `ServeOptions` (JSON, no API key)."""

PARENT_VARIABLE = "RUNNABLE_BRIDGE_SERVE_PARENT"
"""The environment variable naming the parent's pid: a worker stops when its parent is gone."""

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class _WorkerApp:
    """An ASGI app whose lifespan opens the playground and then serves it."""

    def __init__(self, options: ServeOptions) -> None:
        self._options = options
        self._app: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self._app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        async with contextlib.AsyncExitStack() as stack:
            await receive()  # lifespan.startup
            try:
                app = await stack.enter_async_context(open_playground(self._options))
                await stack.enter_async_context(app.router.lifespan_context(app))
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            self._app = app
            parent = os.environ.get(PARENT_VARIABLE)
            if parent:
                watch = asyncio.create_task(_exit_with_parent(int(parent)))
                stack.callback(watch.cancel)
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})


async def _exit_with_parent(parent: int) -> None:
    # A parent killed outright (SIGKILL) cannot stop its workers: they notice it here,
    # when they are handed to another parent, and stop as on a SIGTERM.
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def worker_app() -> _WorkerApp:
    """The app of one worker (uvicorn's factory), from the options in the environment."""
    given = json.loads(os.environ[OPTIONS_VARIABLE])
    api_key = os.environ.get("OPENAI_API_KEY") or None
    return _WorkerApp(ServeOptions(**given, api_key=api_key))


def serve_workers(options: ServeOptions, workers: int) -> None:
    """Serve the playground in `workers` processes behind one front until interrupted."""
    asyncio.run(_prepare(options))
    try:
        import uvloop
    except ImportError:  # optional, as for uvicorn: the front runs on asyncio's own loop
        asyncio.run(_serve(options, workers))
    else:
        uvloop.run(_serve(options, workers))


async def _prepare(options: ServeOptions) -> None:
    # Tables and seeds made once, here: PostgreSQL refuses two concurrent CREATE TABLEs.
    async with open_playground(options):
        pass


async def _serve(options: ServeOptions, count: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # Only this user can reach the workers: the folder is theirs alone (mode 0700).
    with tempfile.TemporaryDirectory(prefix="runnable-bridge-") as folder:
        sockets = [os.path.join(folder, f"worker-{index}.sock") for index in range(count)]
        front = Front(sockets)
        server = await front.listen(options.host, options.port)
        pool = WorkerPool(sockets, _worker_environment(options))
        try:
            if not await _until_either(pool.start(), stop):
                return
            await server.start_serving()
            port = server.sockets[0].getsockname()[1]  # the one bound, when 0 was asked
            _say(f"{count} workers ready behind http://{options.host}:{port}/ ({folder})")
            await stop.wait()
        finally:
            server.close()
            await front.close()
            await server.wait_closed()
            await pool.stop()


async def _until_either(work: Awaitable[None], stop: asyncio.Event) -> bool:
    """Run `work` unless `stop` is set first (True: the work was done)."""
    doing = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({doing, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not doing.done():
        doing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await doing
        return False
    doing.result()
    return True


def _worker_environment(options: ServeOptions) -> dict[str, str]:
    shared = attrs.asdict(attrs.evolve(options, api_key=None, static_dir=None))
    shared.pop("api_key")
    shared.pop("static_dir")
    env = {**os.environ, OPTIONS_VARIABLE: json.dumps(shared), PARENT_VARIABLE: str(os.getpid())}
    if options.api_key:
        # The key goes to the workers' environment only, never into the options text.
        env["OPENAI_API_KEY"] = options.api_key
    return env


def _say(text: str) -> None:
    print(f"runnable-bridge: {text}", file=sys.stderr, flush=True)


class WorkerPool:
    """N uvicorn processes, one per Unix socket, each serving `worker_app`.

    A worker that exits while the pool serves is reported on stderr and started again
    after `RESTART_DELAY` seconds on the same socket (its sessions' drafts, live runs
    and conversations are lost with it; saved entities and run records are not). Each
    worker has its own process group, so a Ctrl+C at the terminal reaches the parent
    alone, which stops the workers in order; a worker whose parent is gone stops itself.
    """

    RESTART_DELAY = 1.0
    START_TIMEOUT = 60.0
    STOP_TIMEOUT = 10.0

    def __init__(self, sockets: Sequence[str], env: Mapping[str, str]) -> None:
        self.sockets = tuple(sockets)
        self._env = dict(env)
        self._processes: list[asyncio.subprocess.Process] = []
        self._supervisors: list[asyncio.Task[None]] = []
        self._serving = False
        self._stopping = asyncio.Event()

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers, in socket order."""
        return [process.pid for process in self._processes]

    async def start(self) -> None:
        """Start every worker and return once each one's socket accepts connections."""
        for index in range(len(self.sockets)):
            self._processes.append(await self._spawn(index))
            self._supervisors.append(asyncio.create_task(self._supervise(index)))
        deadline = asyncio.get_running_loop().time() + self.START_TIMEOUT
        await asyncio.gather(
            *(self._until_accepting(i, deadline) for i in range(len(self.sockets)))
        )
        self._serving = True

    async def stop(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL after `STOP_TIMEOUT` seconds)."""
        self._stopping.set()
        await asyncio.gather(*self._supervisors)

    async def _spawn(self, index: int) -> asyncio.subprocess.Process:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "bridge.serve.workers:worker_app",
            "--factory",
            "--uds",
            self.sockets[index],
            "--lifespan",
            "on",
            "--log-level",
            "info",
            "--timeout-graceful-shutdown",
            "5",
        ]
        return await asyncio.create_subprocess_exec(*command, env=self._env, start_new_session=True)

    async def _until_accepting(self, index: int, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            process = self._processes[index]
            if process.returncode is not None:
                raise RuntimeError(
                    f"worker {index} exited with code {process.returncode} before it served"
                )
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_unix_connection(self.sockets[index])
                writer.close()
                return
            if loop.time() > deadline:
                raise RuntimeError(f"worker {index} did not start in {self.START_TIMEOUT:.0f} s")
            await asyncio.sleep(0.05)

    async def _supervise(self, index: int) -> None:
        """Keep worker `index` running until the pool stops, then stop it."""
        while True:
            process = self._processes[index]
            if not await self._exits_before_stop(process):
                await self._terminate(process)
                return
            if not self._serving:
                return  # failed to start: `start` says so
            _say(f"worker {index} (pid {process.pid}) exited with code {process.returncode}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.RESTART_DELAY)
            if self._stopping.is_set():
                return
            self._processes[index] = await self._spawn(index)
            _say(f"worker {index} started again (pid {self._processes[index].pid})")

    async def _exits_before_stop(self, process: asyncio.subprocess.Process) -> bool:
        exiting = asyncio.ensure_future(process.wait())
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({exiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        exiting.cancel()
        stopping.cancel()
        return not self._stopping.is_set()

    async def _terminate(self, process: asyncio.subprocess.Process) -> None:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), self.STOP_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()
