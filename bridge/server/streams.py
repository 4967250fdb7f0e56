"""The server's SSE streams: selector changes, a runnable's chunks, a chain run's events.

Each is an async generator of `ServerSentEvent`s for sse-starlette. When the client goes
away, sse-starlette cancels the generator; its `finally` then lets go of what it holds
(the store subscriptions of a watch, the executor of a stream, the run of a chain), so a
closed browser tab leaves no atom mounted and no model call running.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from functools import partial
from typing import Any

import anyio
from reactivex.disposable import CompositeDisposable
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler
from sse_starlette import ServerSentEvent

from bridge.server.json import error_body, error_text, json_text
from molecules import Atom, Loadable, Store, loadable
from runnable.runner import GraphRun

__all__ = ["chunk_events", "run_events", "watch_events"]

SELECTOR_ERROR = "selector_error"


async def watch_events(
    store: Store, atoms: Mapping[str, Atom[Any]]
) -> AsyncGenerator[ServerSentEvent, None]:
    """One event per selector with its current value, then one per change (`event: <name>`).

    Each atom is observed through `loadable`, so a read that fails is reported as a
    `selector_error` event (and the watch goes on), and an async value is sent once it
    settles. A value equal to the last one sent for its selector is not sent again.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Loadable[Any]]] = asyncio.Queue()
    # Listeners run on whichever thread wrote to the store; the scheduler brings their
    # values onto this loop, in order.
    scheduler = AsyncIOThreadSafeScheduler(loop)
    subscriptions = CompositeDisposable()

    def arrived(name: str, state: Loadable[Any]) -> None:
        queue.put_nowait((name, state))

    def failed(name: str, exc: Exception) -> None:
        queue.put_nowait((name, Loadable("has_error", error=exc)))

    try:
        for name, a in atoms.items():
            observable = store.observe(loadable(a), scheduler=scheduler)
            subscriptions.add(
                observable.subscribe(on_next=partial(arrived, name), on_error=partial(failed, name))
            )
        sent: dict[str, str] = {}
        while True:
            name, state = await queue.get()
            if state.state == "loading":
                continue
            if state.state == "has_error":
                sent.pop(name, None)
                assert state.error is not None
                detail = {"selector": name, "detail": error_text(state.error)}
                yield ServerSentEvent(json_text(detail), event=SELECTOR_ERROR)
                continue
            text = json_text(state.data)
            if sent.get(name) == text:
                continue
            sent[name] = text
            yield ServerSentEvent(text, event=name)
    finally:
        subscriptions.dispose()


async def chunk_events(
    chunks: AsyncIterator[Any],
    first: list[Any],
    failure: Exception | None = None,
    *,
    cancel_timeout: float = 5.0,
) -> AsyncGenerator[ServerSentEvent, None]:
    """`chunk` events (`id` counts from 0), then `done` with the joined output, or `error`.

    `first` holds the chunks already taken from `chunks`; `failure`, the error that
    ended `chunks` before its first chunk.
    """
    seen: list[Any] = []
    try:
        try:
            if failure is not None:
                raise failure
            async for chunk in _prepend(first, chunks):
                yield ServerSentEvent(json_text(chunk), event="chunk", id=str(len(seen)))
                seen.append(chunk)
        except Exception as exc:
            yield ServerSentEvent(json_text(error_body(exc).body), event="error")
            return
        result = getattr(chunks, "result", None)
        output = result.output if result is not None else (_joined(seen) if seen else None)
        done = {"chunks": len(seen), "output": output}
        yield ServerSentEvent(json_text(done), event="done")
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            with anyio.move_on_after(cancel_timeout, shield=True):
                await aclose()


async def _prepend(first: list[Any], rest: AsyncIterator[Any]) -> AsyncGenerator[Any, None]:
    for item in first:
        yield item
    async for item in rest:
        yield item


async def run_events(
    run: GraphRun, *, cancel_timeout: float = 5.0
) -> AsyncGenerator[ServerSentEvent, None]:
    """Each event of `run` as `event: <type>` with the event's JSON; the last is `run_completed`.

    A client that disconnects cancels the run: its running nodes end `cancelled`.
    """
    try:
        async for event in run:
            yield ServerSentEvent(json_text(event), event=event.type)
    except Exception as exc:
        yield ServerSentEvent(json_text(error_body(exc).body), event="error")
    finally:
        if not run.done:
            run.cancel()
            with anyio.move_on_after(cancel_timeout, shield=True):
                await run.aclose()


def _joined(chunks: list[Any]) -> Any:
    # Text chunks read as their text; anything else as the list it was.
    return "".join(chunks) if all(isinstance(c, str) for c in chunks) else chunks
