"""benchmarks/server.py and front.py cannot rot: a tiny run measures and reports (no timing)."""

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


@pytest.mark.timeout(300)
def test_the_front_benchmark_runs_end_to_end_and_reports_every_mode() -> None:
    command = [sys.executable, str(ROOT / "benchmarks" / "front.py")]
    command += ["--connections", "2", "--seconds", "0.5", "--rounds", "1", "--words", "20"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    report = done.stdout
    assert "straight to worker 0 (Unix socket)" in report
    assert "through the front, sessions on both workers" in report
    assert "the front adds p50" in report
