"""Runs in a real browser: a reply streamed in, stopped, rejoined after a reload; compare;
the runs list and one run's detail."""

from __future__ import annotations

import time
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import Playground, screenshot
from tests.browser.test_prompts import open_prompt


def words(count: int) -> str:
    """`count` numbered words: the echo model streams one of them every ECHO_DELAY."""
    return " ".join(f"w{i}" for i in range(1, count + 1))


def greet(page: Any, playground: Playground, name: str) -> str:
    """Run the greeter for `name`; the echo model's whole reply."""
    open_prompt(page, playground)
    page.get_by_test_id("port-name").locator("textarea").fill(name)
    page.keyboard.press("Control+Enter")
    return f"echo: Say hello to {name} in a cheerful way."


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
    whole = greet(page, playground, words(20))
    samples = text_samples(page, "success")
    partial = {s for s in samples if s and s != whole}
    assert len(partial) >= 3, f"the reply arrived in {len(partial)} visible steps: {samples}"
    assert all(whole.startswith(s) for s in partial)
    expect(page.get_by_test_id("output-text")).to_have_text(whole)
    expect(page.get_by_test_id("output-metrics")).to_contain_text("Tokens out")
    screenshot(page, "run-streamed")


def test_stop_cancels_a_reply_mid_stream(page: Any, playground: Playground) -> None:
    whole = greet(page, playground, words(80))
    expect(page.get_by_test_id("output-text")).to_contain_text("w3")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("output")).to_have_attribute("data-status", "cancelled")
    text = page.get_by_test_id("output-text").inner_text()
    assert text and whole.startswith(text) and text != whole
    page.wait_for_timeout(600)  # no chunk arrives after the stop
    assert page.get_by_test_id("output-text").inner_text() == text
    expect(page.get_by_test_id("run")).to_be_enabled()
    # The provider's usage never came: the figures say unknown, not zero.
    tokens_out = page.get_by_test_id("output-metrics").locator(".metric", has_text="Tokens out")
    expect(tokens_out.locator(".metric-value")).to_have_text("—")


def test_reloading_mid_run_rejoins_the_stream_without_losing_text(
    page: Any, playground: Playground
) -> None:
    whole = greet(page, playground, words(40))
    expect(page.get_by_test_id("output-text")).to_contain_text("w5")
    page.reload()
    expect(page.get_by_test_id("output")).to_have_attribute("data-status", "streaming")
    expect(page.get_by_test_id("output-text")).to_contain_text("echo: Say hello to w1 w2 w3 w4 w5")
    expect(page.get_by_test_id("output")).to_have_attribute("data-status", "success")
    expect(page.get_by_test_id("output-text")).to_have_text(whole)


def test_compare_runs_two_prompts_side_by_side(page: Any, playground: Playground) -> None:
    page.goto(f"{playground.url}/#/compare")
    page.get_by_test_id("compare-select-0").select_option("prompt:greeter")
    page.get_by_test_id("compare-select-1").select_option("prompt:capital-question")
    page.get_by_test_id("compare-port-name").locator("textarea").fill("Grace")
    page.get_by_test_id("compare-port-country").locator("textarea").fill("Peru")
    page.get_by_test_id("compare-run").click()
    first, second = page.get_by_test_id("compare-output-0"), page.get_by_test_id("compare-output-1")
    expect(first).to_have_attribute("data-status", "success")
    expect(second).to_have_attribute("data-status", "success")
    expect(page.get_by_test_id("compare-output-0-text")).to_have_text(
        "echo: Say hello to Grace in a cheerful way."
    )
    expect(page.get_by_test_id("compare-output-1-text")).to_have_text(
        "echo: What is the capital of Peru?"
    )
    screenshot(page, "compare")


def test_the_runs_list_pages_and_opens_one_runs_detail(page: Any, playground: Playground) -> None:
    with httpx.Client(base_url=playground.url, timeout=10) as client:
        for name in ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald"]:
            answer = client.post("/runnables/prompt:greeter/runs", json={"inputs": {"name": name}})
            assert answer.status_code == 201, answer.text
        # The runs are recorded behind the answers: page through them once all six ended.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            listed = client.get("/runs", params={"status": "success"}).json()
            if listed["total"] == 6:
                break
            time.sleep(0.1)
        assert listed["total"] == 6, listed
    page.goto(f"{playground.url}/#/runs")
    page.get_by_label("Page size").select_option("5")
    rows = page.get_by_test_id("runs-table").locator("tbody tr")
    expect(rows).to_have_count(5)
    expect(page.get_by_test_id("runs-page")).to_have_text("1–5 of 6")
    shown = rows.locator("a.run-link").all_inner_texts()
    assert len(set(shown)) == 5, shown  # runs started together still read apart
    page.get_by_test_id("runs-next").click()
    expect(page.get_by_test_id("runs-page")).to_have_text("6–6 of 6")
    expect(rows).to_have_count(1)
    page.get_by_test_id("runs-filter-status").select_option("error")
    expect(page.get_by_test_id("runs-table")).to_contain_text("No runs match")
    page.get_by_test_id("runs-filter-status").select_option("")
    expect(page.get_by_test_id("runs-page")).to_have_text("1–5 of 6")
    screenshot(page, "runs-list")
    rows.last.locator("a.run-link").click()  # the oldest run on the page: Alan's
    expect(page.get_by_test_id("run-detail")).to_be_visible()
    expect(page.get_by_test_id("run-status")).to_have_text("success")
    expect(page.get_by_test_id("run-inputs")).to_contain_text('"name": "Alan"')
    expect(page.get_by_test_id("run-output")).to_contain_text("echo: Say hello to Alan")
    expect(page.get_by_test_id("run-request")).to_contain_text("Say hello to Alan")
    expect(page.get_by_test_id("run-metrics")).to_contain_text("Tokens in")
    screenshot(page, "run-detail")


def test_a_runs_detail_opened_mid_run_follows_it_to_its_end(
    page: Any, playground: Playground
) -> None:
    with httpx.Client(base_url=playground.url, timeout=10) as client:
        answer = client.post("/runnables/prompt:greeter/runs", json={"inputs": {"name": words(60)}})
        assert answer.status_code == 201, answer.text
        run_id = answer.json()["run_id"]
    page.goto(f"{playground.url}/#/runs/{run_id}")
    status = page.get_by_test_id("run-status")
    expect(status).to_have_text("running")
    expect(status).to_have_text("success", timeout=20_000)
    expect(page.get_by_test_id("run-output")).to_contain_text("w60")
