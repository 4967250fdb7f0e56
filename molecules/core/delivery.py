"""Delivery: what a settled write leaves to run outside the store's lock.

Cleanups run first, then listeners, each in the calling thread. A listener that writes
does not nest a second delivery: its listeners join the queue of the delivery already
running in that thread, so a chain of writes from listeners settles in a flat loop.
"""

from __future__ import annotations

import threading

from molecules.core.errors import ListenerError
from molecules.core.node import Aftermath, Listener


def deliver(after: Aftermath, local: threading.local) -> None:
    """Run cleanups, then listeners; raise `ListenerError` with everything that failed."""
    calls, cleanups, errors = after
    if cleanups:
        errors = [*errors]
        for cleanup in cleanups:
            try:
                cleanup()
            except Exception as exc:
                errors.append(exc)
    if calls:
        _dispatch(calls, errors, local)
    elif errors:
        raise ListenerError(errors)


def _dispatch(calls: list[Listener], errors: list[Exception], local: threading.local) -> None:
    queue: list[Listener] | None = getattr(local, "queue", None)
    if queue is not None:
        queue += calls  # a listener wrote: the outer loop delivers these
        if errors:
            raise ListenerError(errors)
        return
    local.queue = queue = calls
    failed: list[Exception] = []
    try:
        for rec in queue:  # grows while listeners write
            if rec.active:
                try:
                    rec.fn()
                except Exception as exc:
                    failed.append(exc)
    finally:
        local.queue = None
    if errors or failed:
        raise ListenerError([*errors, *failed])
