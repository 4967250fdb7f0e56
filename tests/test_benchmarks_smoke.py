"""The reactive benchmark cannot rot: every shape runs and checks out on the store and floor.

Timing is the benchmark's business (benchmarks/reactive.py); these tests only run each
shape once or twice and assert the checks the benchmark applies.
"""

import json

import pytest

from benchmarks import reactive
from benchmarks.reactive_cases import CASES, CASES_BY_KEY, Case
from benchmarks.reactive_report import render, summarize
from benchmarks.reactive_timing import FLOOR, Budget, Measurement, measure, measure_isolated

ONCE = Budget(min_runs=1, max_runs=1, seconds=0.0, run_seconds=0.0, collect=False)


@pytest.mark.parametrize("library", ["molecules", "molecules-fx", "minimal", FLOOR])
@pytest.mark.parametrize("case", CASES, ids=[case.key for case in CASES])
def test_shape_checks_out(case: Case, library: str) -> None:
    result = measure(case, library, ONCE)
    if result.status == "n/a":
        pytest.skip(result.note)  # the minimal core has no families
    assert result.status == "ok"
    assert result.note == "" or (library == "minimal" and result.raised_limit)  # it recurses
    if case.expected_runs is not None:
        assert result.runs == case.expected_runs


def test_report_names_every_case_and_judges_the_targets() -> None:
    cases = [CASES_BY_KEY["deep"], CASES_BY_KEY["roundtrip"]]
    libraries = ["molecules", FLOOR]
    table = {(c.key, lib): measure(c, lib, ONCE) for c in cases for lib in libraries}
    summary = summarize(cases, libraries, table)
    text = render(cases, libraries, table, summary)
    assert "deep propagation" in text and "set -> listener" in text
    assert summary.deep_vs_floor["molecules"] > 1
    assert "molecules" in summary.writes_per_second


def test_glitchy_peer_is_reported_not_failed() -> None:
    pytest.importorskip("reactivex")
    result = measure(CASES_BY_KEY["diamond"], "rx", ONCE)
    assert result.status == "glitch"
    assert result.runs == 2500


def test_worker_process_returns_a_measurement() -> None:
    result = measure_isolated(CASES_BY_KEY["deep"], FLOOR, quick=True, timeout=60)
    assert isinstance(result, Measurement)
    assert result.status == "ok" and result.ms is not None and result.ms > 0


def test_worker_mode_prints_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert reactive.main(["--worker", "repeated:floor", "--quick"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(line)["status"] == "ok"
