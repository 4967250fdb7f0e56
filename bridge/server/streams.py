"""The server's POST SSE streams: a runnable's chunks and a chain run's events.

(Watches of selectors are shared feeds: `bridge.server.feeds`; runs started server-side
are followed over GET: `bridge.server.hub`.)

Each is an async generator of `ServerSentEvent`s for sse-starlette. When the client goes
away, sse-starlette cancels the generator; its `finally` then lets go of what it holds
(the executor of a stream, the run of a chain), so a closed browser tab leaves no model
call running.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import anyio
from sse_starlette import ServerSentEvent

from bridge.server.json import error_body, json_text
from runnable.runner import GraphRun

__all__ = ["chunk_events", "run_events"]


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
