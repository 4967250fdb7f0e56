"""A two-turn chat, and a five-row test set with its progress bar and per-evaluator means."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Playground, screenshot


def test_a_two_turn_chat_shows_both_replies(page: Any, playground: Playground) -> None:
    page.goto(f"{playground.url}/#/chat")
    page.get_by_test_id("chat-prompt").select_option("prompt:capital-question")
    page.locator("[data-var=country]").fill("Peru")
    page.locator("[data-var=country]").press("Tab")
    composer = page.get_by_test_id("chat-input")
    composer.fill("Tell me more.")
    composer.press("Enter")
    assistant = page.locator(".bubble[data-role=assistant]")
    expect(assistant).to_have_count(1)
    expect(assistant.first).to_contain_text("echo: What is the capital of Peru?")
    expect(page.locator("[data-status=completed]")).to_be_visible()
    composer.fill("And its population?")
    composer.press("Enter")
    expect(assistant).to_have_count(2)
    expect(assistant.nth(1)).to_have_text("assistantecho: And its population?")
    expect(page.locator(".bubble[data-role=user]")).to_have_count(2)
    expect(page.locator("[data-status=completed]")).to_be_visible()
    screenshot(page, "chat")


COUNTRIES = ["Peru", "Chile", "Japan", "Kenya", "Spain"]


@pytest.fixture
def rows_file(tmp_path: Path) -> Path:
    """Five rows: the echo model answers three of them exactly."""
    path = tmp_path / "capitals.jsonl"
    lines = []
    for i, country in enumerate(COUNTRIES):
        exact = f"echo: What is the capital of {country}?"
        lines.append(
            json.dumps({"country": country, "correct_answer": exact if i < 3 else "Nairobi"})
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_five_row_test_set_shows_progress_and_per_evaluator_means(
    page: Any, playground: Playground, rows_file: Path
) -> None:
    page.goto(f"{playground.url}/#/tests")
    page.get_by_test_id("testset-file").set_input_files(str(rows_file))
    expect(page.get_by_test_id("testset-count")).to_contain_text("5 rows")
    page.get_by_test_id("testset-target").select_option("prompt:capital-question")
    expect(page.get_by_test_id("evaluator-exact-match")).to_be_checked()
    expect(page.get_by_test_id("evaluator-similarity")).to_be_checked()
    progress = page.get_by_test_id("testset-progress")
    page.get_by_test_id("testset-run").click()
    seen: set[str] = set()
    label = page.get_by_test_id("testset-progress-label")
    for _ in range(400):
        text = label.inner_text()
        seen.add(text)
        if text == "5 / 5 rows":
            break
        page.wait_for_timeout(20)
    assert "5 / 5 rows" in seen
    assert len(seen) >= 2, f"the progress bar jumped straight to the end: {seen}"
    expect(progress).to_have_attribute("aria-valuetext", "5 of 5 rows")
    expect(page.get_by_test_id("testset-status")).to_have_text("success")
    table = page.get_by_test_id("results-table")
    expect(table.locator("tbody tr")).to_have_count(5)
    expect(table.locator("tbody tr[data-status=success]")).to_have_count(5)
    expect(page.get_by_test_id("mean-cell-exact-match")).to_have_text("0.60")
    expect(page.get_by_test_id("mean-exact-match")).to_contain_text("0.60")
    similarity = float(page.get_by_test_id("mean-cell-similarity").inner_text())
    assert 0.6 < similarity < 1.0
    screenshot(page, "test-set", full_page=True)


def test_a_csv_test_set_keeps_quoted_commas_and_newlines(page: Any, playground: Playground) -> None:
    page.goto(f"{playground.url}/#/tests")
    csv = 'country,correct_answer\nPeru,"Lima, the capital"\n"Côte d\'Ivoire","two\nlines"\n'
    page.get_by_test_id("testset-paste").fill(csv)
    page.get_by_test_id("testset-load").click()
    expect(page.get_by_test_id("testset-count")).to_have_text(
        "2 rows · columns: country, correct_answer"
    )
    cells = page.get_by_test_id("testset-preview").locator("tbody tr td")
    expect(cells.nth(2)).to_have_text("Lima, the capital")
    expect(cells.nth(4)).to_have_text("Côte d'Ivoire")
    expect(cells.nth(5)).to_have_text("two\nlines")


def test_a_jsonl_line_that_is_not_json_is_named(page: Any, playground: Playground) -> None:
    page.goto(f"{playground.url}/#/tests")
    page.get_by_test_id("testset-paste").fill('{"country": "Peru"}\n{"country": Chile}\n')
    page.get_by_test_id("testset-load").click()
    expect(page.get_by_role("alert")).to_contain_text("line 2 is not JSON")
    expect(page.get_by_test_id("testset-preview")).to_contain_text("No rows loaded yet.")


def test_test_set_rows_without_a_column_for_the_prompts_input_are_flagged(
    page: Any, playground: Playground
) -> None:
    page.goto(f"{playground.url}/#/tests")
    page.get_by_test_id("testset-target").select_option("prompt:capital-question")
    paste = page.get_by_test_id("testset-paste")
    expect(paste).to_have_attribute("placeholder", re.compile(r'^\{"country":'))
    paste.fill('{"topic": "tea"}\n{"topic": "rain"}\n')
    page.get_by_test_id("testset-load").click()
    warning = page.get_by_test_id("testset-columns")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("input country")
    paste.fill('{"country": "Peru"}\n')
    page.get_by_test_id("testset-load").click()
    expect(warning).to_be_hidden()
