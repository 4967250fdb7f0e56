"""Runs in a real browser: a reply streamed in, stopped, rejoined after a reload; compare;
the runs list and one run's detail."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import expect

from runnable.testing import reply
from tests.browser.conftest import Playground, screenshot
from tests.browser.test_prompts import open_prompt

WORDS = [f" word{i}" for i in range(1, 16)]
REPLY = "".join(WORDS)


def start_greeting(page: Any, playground: Playground, name: str = "Ada") -> None:
    open_prompt(page, playground)
    page.get_by_test_id("port-name").locator("textarea").fill(name)
    page.keyboard.press("Control+Enter")


def text_samples(page: Any, until_status: str, timeout: float = 10.0) -> list[str]:
    """The reply's text, sampled until the output's status is `until_status`."""
    samples: list[str] = []
    output = page.get_by_test_id("output")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        samples.append(page.get_by_test_id("output-text").inner_text())
        if output.get_attribute("data-status") == until_status:
            return samples
        page.wait_for_timeout(40)
    raise AssertionError(f"the run never reached {until_status!r}; text: {samples[-1]!r}")


def test_a_run_streams_its_reply_into_the_page_piece_by_piece(
    page: Any, playground: Playground
) -> None:
    playground.chat.state.script(reply(*WORDS, chunk_delay=0.08))
    start_greeting(page, playground)
    samples = text_samples(page, "success")
    partial = {s for s in samples if s and s != REPLY}
    assert len(partial) >= 3, f"the reply arrived in {len(partial)} visible steps: {samples}"
    assert all(REPLY.startswith(s) for s in partial)
    expect(page.get_by_test_id("output-text")).to_have_text(REPLY)
    expect(page.get_by_test_id("output-metrics")).to_contain_text("Tokens out")
    screenshot(page, "run-streamed")


def test_stop_cancels_a_reply_mid_stream(page: Any, playground: Playground) -> None:
    playground.chat.state.script(reply(*WORDS, chunk_delay=0.25))
    start_greeting(page, playground)
    expect(page.get_by_test_id("output")).to_have_attribute("data-status", "streaming")
    page.get_by_test_id("stop").click()
    expect(page.get_by_test_id("output")).to_have_attribute("data-status", "cancelled")
    text = page.get_by_test_id("output-text").inner_text()
    assert text and REPLY.startswith(text) and text != REPLY
    page.wait_for_timeout(600)  # no chunk arrives after the stop
    assert page.get_by_test_id("output-text").inner_text() == text
    expect(page.get_by_test_id("run")).to_be_enabled()


def test_reloading_mid_run_rejoins_the_stream_without_losing_text(
    page: Any, playground: Playground
) -> None:
    playground.chat.state.script(reply(*WORDS, chunk_delay=0.12))
    start_greeting(page, playground)
    expect(page.get_by_test_id("output-text")).to_contain_text("word3")
    page.reload()
    expect(page.get_by_test_id("output")).to_have_attribute("data-status", "streaming")
    expect(page.get_by_test_id("output-text")).to_contain_text("word1 word2 word3")
    expect(page.get_by_test_id("output")).to_have_attribute("data-status", "success")
    expect(page.get_by_test_id("output-text")).to_have_text(REPLY)


def test_compare_runs_two_prompts_side_by_side(page: Any, playground: Playground) -> None:
    page.goto(f"{playground.url}/#/compare")
    expect(page.get_by_test_id("compare-select-0")).to_have_value("prompt:greeting")
    expect(page.get_by_test_id("compare-select-1")).to_have_value("prompt:summarize")
    page.get_by_test_id("compare-port-name").locator("textarea").fill("Grace")
    page.get_by_test_id("compare-port-text").locator("textarea").fill("the tea is hot")
    page.get_by_test_id("compare-run").click()
    first, second = page.get_by_test_id("compare-output-0"), page.get_by_test_id("compare-output-1")
    expect(first).to_have_attribute("data-status", "success")
    expect(second).to_have_attribute("data-status", "success")
    expect(page.get_by_test_id("compare-output-0-text")).to_have_text("echo: Say hello to Grace.")
    expect(page.get_by_test_id("compare-output-1-text")).to_have_text(
        "echo: Summarize in one line: the tea is hot"
    )
    screenshot(page, "compare")


def test_the_runs_list_pages_and_opens_one_runs_detail(page: Any, playground: Playground) -> None:
    open_prompt(page, playground)
    page.get_by_test_id("port-name").locator("textarea").fill("Alan")
    for _ in range(3):
        page.get_by_test_id("run").click()
        expect(page.get_by_test_id("output")).to_have_attribute("data-status", "success")
    page.goto(f"{playground.url}/#/runs")
    page.get_by_label("Page size").select_option("10")
    rows = page.get_by_test_id("runs-table").locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(page.get_by_test_id("runs-page")).to_have_text("1–3 of 3")
    page.get_by_test_id("runs-filter-status").select_option("error")
    expect(page.get_by_test_id("runs-table")).to_contain_text("No runs match")
    page.get_by_test_id("runs-filter-status").select_option("success")
    expect(rows).to_have_count(3)
    screenshot(page, "runs-list")
    rows.first.locator("a.run-link").click()
    detail = page.get_by_test_id("run-detail")
    expect(detail).to_be_visible()
    expect(page.get_by_test_id("run-status")).to_have_text("success")
    expect(page.get_by_test_id("run-output")).to_contain_text("echo: Say hello to Alan.")
    expect(page.get_by_test_id("run-request")).to_contain_text("Say hello to Alan.")
    expect(page.get_by_test_id("run-metrics")).to_contain_text("Tokens in")
    screenshot(page, "run-detail")
