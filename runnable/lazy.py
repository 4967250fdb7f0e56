"""Lazy package faces: a package's public names, each imported on first use.

A package `__init__` lists where each name lives and calls `lazy_face`, so that
`import runnable.types` does not pay for HTTP, SQL or the runner.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

__all__ = ["lazy_face"]


def lazy_face(
    package: str,
    exports: Mapping[str, tuple[str, str]],
    namespace: MutableMapping[str, Any],
    public: Sequence[str],
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module `__getattr__` and `__dir__` of a lazy package face.

    `exports` maps each public name to (module, name there); a name, once imported, is
    kept in `namespace` (the package's globals) so later reads cost nothing.
    """

    def getattr_(name: str) -> Any:
        try:
            module_name, attribute = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module_name), attribute)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(public))

    return getattr_, dir_
