"""The docs site builds strictly, with the API pages rendered from the docstrings."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_docs_site_builds_strictly_with_api_pages(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    core = (tmp_path / "core" / "index.html").read_text(encoding="utf-8")
    assert "Holds the values of atoms" in core  # Store's docstring, rendered by mkdocstrings
    runnable = (tmp_path / "runnable" / "index.html").read_text(encoding="utf-8")
    assert "extract_variables" in runnable
