"""Action results that need no waiting, as coroutine objects that may be dropped."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator
from typing import Any

__all__ = ["ready"]


class _Ready(Coroutine[Any, Any, Any]):
    """An action's result that needs no waiting, as a coroutine object.

    It runs `value()` when awaited (or driven by `asyncio.run`/`create_task`), and,
    unlike an `async def` coroutine, it is no mistake to drop it unawaited: a plain
    fetch or save has already done its work when the action returns.
    """

    __slots__ = ("_value",)

    def __init__(self, value: Callable[[], Any]) -> None:
        self._value = value

    def send(self, _: Any) -> Any:
        raise StopIteration(self._value())

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        raise typ if val is None else val

    def close(self) -> None:
        return None

    def __await__(self) -> Generator[Any, None, Any]:
        return self._value()
        yield  # a generator that returns at once


def ready(value: Callable[[], Any]) -> Coroutine[Any, Any, Any]:
    """A coroutine object whose result is `value()` (computed when it is awaited)."""
    return _Ready(value)
