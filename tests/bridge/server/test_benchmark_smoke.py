"""benchmarks/server.py cannot rot: a tiny run measures and reports (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.timeout(300)
def test_the_server_benchmark_runs_end_to_end_and_reports_no_lost_event() -> None:
    command = [sys.executable, str(ROOT / "benchmarks" / "server.py")]
    command += ["--watchers", "6", "--writes", "20", "--joined", "3", "--words", "200"]
    command += ["--procs", "2", "--no-peer"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    report = done.stdout
    assert "shared coalescing feeds (ours)" in report
    assert "events lost: 0" in report
