"""The main job: `python -m bridge demo` serves, runs, prints and records."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli import app
from bridge.demo.run import DEFAULT_DATASET, load_dataset, run_demo


async def test_demo_scores_every_row_and_records_each_run(tmp_path: Path) -> None:
    result = await run_demo(runs_path=tmp_path / "runs.sqlite")
    rows = load_dataset(DEFAULT_DATASET)
    assert len(result.rows) == len(rows)
    assert all(row.status == "success" for row in result.rows)
    by_country = {row.inputs["country"]: row for row in result.rows}
    assert by_country["France"].exact == 1.0
    assert by_country["Australia"].answer == "Sydney"
    assert by_country["Australia"].exact == 0.0
    assert by_country["Australia"].similarity is not None
    assert by_country["Australia"].similarity < 0.5
    with sqlite3.connect(tmp_path / "runs.sqlite") as db:
        runs = db.execute(
            "select count(*) from ai_runs where parent_run_id = ?", (result.dataset.run_id,)
        )
        assert runs.fetchone()[0] == len(rows)
        tasks = db.execute("select count(*), min(status), max(status) from ai_tasks").fetchone()
        assert tasks == (3 * len(rows), "success", "success")


def test_cli_demo_prints_the_result_table(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(app, ["demo", "--runs", str(tmp_path / "r.sqlite")])
    assert outcome.exit_code == 0, outcome.output
    assert "Canberra" in outcome.output
    assert "exact matches" in outcome.output
    assert (tmp_path / "r.sqlite").is_file()


def test_cli_refuses_a_missing_dataset_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    outcome = CliRunner().invoke(app, ["demo", "--dataset", str(missing)])
    assert outcome.exit_code == 2
    assert "nope.jsonl" in outcome.output


def test_bad_dataset_row_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"country": "France"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        load_dataset(bad)


@pytest.mark.timeout(120)
def test_python_dash_m_bridge_demo_runs_as_a_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "demo", "--runs", str(tmp_path / "runs.sqlite")],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert "dataset run" in done.stdout
