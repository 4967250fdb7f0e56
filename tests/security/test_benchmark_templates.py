"""The template benchmark cannot rot: its quick run prints every format and both growth
tables (timing is the benchmark's business, not this test's)."""

from __future__ import annotations

import pytest

from benchmarks import templates


def test_the_quick_benchmark_reports_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert templates.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for name in ("curly", "fstring", "jinja2", "mustache", "old curly pattern", "chevron-blue"):
        assert name in out
    assert "slowest" in out
