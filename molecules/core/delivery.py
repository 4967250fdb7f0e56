"""Delivery: what a settled write leaves to run outside the store's lock.

Cleanups run first, then listeners, each in the calling thread. A listener that writes
does not nest a second delivery: its listeners join the queue of the delivery already
running in that thread, so a chain of writes from listeners settles in a flat loop.
"""

from __future__ import annotations

from _thread import get_ident

from molecules.core.errors import ListenerError
from molecules.core.node import Aftermath, Listener


def deliver(after: Aftermath, queues: dict[int, list[Listener]]) -> None:
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
        # `queues`: the delivery running in each thread (per thread, as listeners of
        # two threads may run at once, outside the lock).
        thread = get_ident()
        queue = queues.get(thread)
        if queue is not None:
            queue += calls  # a listener wrote: the outer loop delivers these
        else:
            queues[thread] = queue = calls
            try:
                for rec in queue:  # grows while listeners write
                    if rec.active:
                        try:
                            rec.fn()
                        except Exception as exc:
                            errors = [*errors, exc]
            finally:
                del queues[thread]
    if errors:
        raise ListenerError(errors)
