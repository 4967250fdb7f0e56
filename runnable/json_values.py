"""Checks on JSON-like values that JSON itself cannot express.

JSON has no NaN or infinity: a value holding one would be sent as `NaN` (which no strict
parser reads) or silently turned into `null` by a serializer. Entities refuse them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["non_finite_path"]


def non_finite_path(value: Any, path: str = "$") -> str | None:
    """Where the first NaN or infinity in a JSON-like value is (`$.a[0]`), or None."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return where
        if isinstance(item, Mapping):
            stack.extend((child, f"{where}.{key}") for key, child in reversed(list(item.items())))
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{where}[{i}]") for i, child in reversed(list(enumerate(item))))
    return None
