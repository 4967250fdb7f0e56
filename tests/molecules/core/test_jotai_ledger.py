"""docs/jotai-tests.md, the table of Jotai's vanilla tests, agrees with the ported tests.

Each section's counts match its rows; every test in test_jotai_*.py is named in exactly
one row, whose Jotai test name its docstring quotes; and a row says "(difference)"
exactly when the test's docstring states one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TABLE = ROOT / "docs" / "jotai-tests.md"
HEADER = re.compile(r"^## (?P<file>\S+): (?P<n>\d+) tests, (?P<m>\d+) ported$")
ROW = re.compile(r"^\| (?P<jotai>.+?) \| (?P<here>.+) \|$")
PORTED = re.compile(r"^`(?P<name>test_\w+)`(?P<difference> \(difference\))?$")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _ported_tests() -> dict[str, str]:
    """Every test function of the test_jotai_*.py files (but this one): name -> docstring."""
    tests: dict[str, str] = {}
    for path in sorted(Path(__file__).parent.glob("test_jotai_*.py")):
        if path.name == Path(__file__).name:
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test_"
            ):
                assert node.name not in tests, f"{node.name} is defined twice"
                tests[node.name] = _norm(ast.get_docstring(node) or "")
    return tests


def _sections() -> list[tuple[str, int, int, list[tuple[str, str]]]]:
    """(Jotai file, tests, ported, rows of (Jotai test, cell)) for each section of the table."""
    sections: list[tuple[str, int, int, list[tuple[str, str]]]] = []
    for line in TABLE.read_text().splitlines():
        if header := HEADER.match(line):
            sections.append((header["file"], int(header["n"]), int(header["m"]), []))
        elif (row := ROW.match(line)) and sections and row["jotai"] not in ("Jotai test", "---"):
            sections[-1][3].append((row["jotai"], row["here"]))
    return sections


def test_each_section_counts_its_rows() -> None:
    sections = _sections()
    assert len(sections) == 17
    for file, n, m, rows in sections:
        assert len(rows) == n, file
        assert sum(1 for _, here in rows if PORTED.match(here)) == m, file
        for _, here in rows:
            assert PORTED.match(here) or here.startswith("not ported: "), here


def test_every_ported_test_is_in_one_row_that_its_docstring_quotes() -> None:
    tests = _ported_tests()
    named: list[str] = []
    for _, _, _, rows in _sections():
        for jotai, here in rows:
            ported = PORTED.match(here)
            if ported is None:
                continue
            name = ported["name"]
            named.append(name)
            assert name in tests, f"{name} is not a test in test_jotai_*.py"
            assert _norm(jotai.split(" > ")[-1]) in tests[name], name
            assert (ported["difference"] is not None) == ("difference" in tests[name]), name
    assert sorted(named) == sorted(tests)
