"""The page is usable with the keyboard: every control is labelled, sections have shortcuts."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Playground

UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea, button")]
  .filter((el) => el.offsetParent !== null)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
    && !(el.tagName === "BUTTON" && el.textContent.trim()))
  .map((el) => el.outerHTML.slice(0, 120))"""


@pytest.mark.parametrize("section", ["prompts", "chat", "compare", "tests", "runs"])
def test_every_control_of_a_section_has_a_label(
    page: Any, playground: Playground, section: str
) -> None:
    page.goto(f"{playground.url}/#/{section}")
    expect(page.locator(".view")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert page.evaluate(UNLABELLED) == []


def test_alt_and_a_digit_opens_a_section_and_question_mark_lists_the_shortcuts(
    page: Any, playground: Playground
) -> None:
    page.goto(f"{playground.url}/#/prompts")
    expect(page.get_by_test_id("message-0")).to_be_visible()
    page.keyboard.press("Alt+3")
    expect(page.get_by_test_id("compare-grid")).to_be_visible()
    expect(page.locator(".tabs a[aria-current=page]")).to_have_text("Compare")
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
