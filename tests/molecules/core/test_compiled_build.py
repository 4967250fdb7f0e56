"""Which build of the core a run imports: pure Python, unless MOLECULES_COMPILED names one.

`make test-compiled` runs this directory against the mypyc build of `make compiled`; every
other run must import the sources, whatever a build left on disk.
"""

from __future__ import annotations

import importlib.machinery
import os
import pkgutil
from pathlib import Path

import molecules.core

ROOT = Path(__file__).resolve().parents[3]
EXTENSIONS = tuple(importlib.machinery.EXTENSION_SUFFIXES)


def _core_files() -> dict[str, Path]:
    found = {}
    for info in pkgutil.iter_modules(molecules.core.__path__):
        module = importlib.import_module(f"molecules.core.{info.name}")
        assert module.__file__ is not None
        found[info.name] = Path(module.__file__).resolve()
    return found


def test_the_core_comes_from_the_build_the_run_asked_for() -> None:
    files = _core_files()
    compiled = {name for name, path in files.items() if path.name.endswith(EXTENSIONS)}
    build = os.environ.get("MOLECULES_COMPILED")
    if build:
        home = Path(build).resolve()
        assert {"internals", "node", "store"} <= compiled
        assert all(home in path.parents for path in files.values())
    else:
        assert compiled == set()
        assert all(ROOT / "molecules" / "core" in path.parents for path in files.values())
