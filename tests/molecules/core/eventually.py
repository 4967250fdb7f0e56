"""Waiting for a condition in async tests, instead of a sleep that a loaded machine outruns."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(check: Callable[[], object], timeout: float = 5.0) -> None:
    """Return once `check()` is true; fail with TimeoutError after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.002)
