"""The house keeps its shape: imports run one way, and faces import lazily."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("runnable", "molecules", "bridge")


def _imports(path: Path) -> set[str]:
    """The project modules a file imports at run time (TYPE_CHECKING blocks left out)."""
    tree = ast.parse(path.read_text("utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


GRAPH = {
    _module(path): _imports(path)
    for package in PACKAGES
    for path in sorted((ROOT / package).rglob("*.py"))
}


def test_runnable_imports_neither_molecules_nor_bridge() -> None:
    wrong = {m: i for m, i in GRAPH.items() if m.startswith("runnable")}
    wrong = {m: [i for i in imps if i.split(".")[0] != "runnable"] for m, imps in wrong.items()}
    assert {m: i for m, i in wrong.items() if i} == {}


def test_molecules_never_imports_the_bridge_and_its_core_imports_nothing_of_the_project() -> None:
    bad = {
        module: sorted(
            i
            for i in imports
            if i.startswith("bridge")
            or (module.startswith("molecules.core") and not i.startswith("molecules.core"))
        )
        for module, imports in GRAPH.items()
        if module.startswith("molecules")
    }
    assert {m: i for m, i in bad.items() if i} == {}


def test_no_two_modules_import_each_other_in_a_circle() -> None:
    # Package faces only hand names on; a circle through one is not a circle of rooms.
    modules = {m for m in GRAPH if not (ROOT / m.replace(".", "/") / "__init__.py").exists()}
    edges = {m: {i for i in GRAPH[m] if i in modules and i != m} for m in modules}
    circles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_importing_the_types_loads_no_http_sql_or_runner() -> None:
    code = (
        "import sys, runnable.types, molecules.core\n"
        "heavy = ('httpx', 'sqlalchemy', 'runnable.runner', 'runnable.chat', 'molecules.engine')\n"
        "print(sorted({m.split('.')[0] + '.' + m.split('.')[1] if '.' in m else m"
        " for m in sys.modules if m.startswith(heavy)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
