"""Errors raised by the reactive core.

MoleculesError
├── NotWritableError        store.set on a read-only atom, or a primitive set with != 1 value
├── AsyncReadError          an async atom read with no running asyncio loop
└── ListenerError           one or more listeners raised (after every listener ran)
"""

from __future__ import annotations


class MoleculesError(Exception):
    """Base class of every error the reactive core raises on its own."""


class NotWritableError(MoleculesError, TypeError):
    """`store.set` was given an atom it cannot write, or the wrong number of values."""


class AsyncReadError(MoleculesError, RuntimeError):
    """An atom with an `async def` read was read where no asyncio loop is running."""


class ListenerError(MoleculesError):
    """Listeners raised while a write was being delivered; `errors` holds each exception.

    The write itself was committed and every other listener still ran.
    """

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        names = ", ".join(f"{type(e).__name__}: {e}" for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"{len(errors)} listener(s) raised: {names}{more}")
