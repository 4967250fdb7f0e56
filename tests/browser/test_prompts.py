"""The Prompts section in a real browser: live ports, template errors, dirty state, save."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import ConsoleLog, Playground, screenshot, serve_playground


def open_prompt(page: Any, playground: Playground, prompt_id: str = "greeter") -> None:
    page.goto(f"{playground.url}/#/prompts/prompt:{prompt_id}")
    expect(page.get_by_test_id("message-0")).to_be_visible()


def test_the_page_labels_the_offline_echo_model(page: Any, playground: Playground) -> None:
    open_prompt(page, playground)
    expect(page.get_by_test_id("model-badge")).to_have_text("Offline model: echo")


def test_typing_a_variable_shows_its_new_port_and_the_dirty_mark(
    page: Any, playground: Playground
) -> None:
    open_prompt(page, playground)
    expect(page.get_by_test_id("dirty-mark")).to_be_hidden()
    page.get_by_test_id("message-1").press_sequentially(" Mention {{city}}.")
    expect(page.get_by_test_id("port-city")).to_be_visible()
    expect(page.get_by_test_id("dirty-mark")).to_be_visible()
    expect(page.locator(".item[aria-current=page] .dirty-dot")).to_be_visible()
    screenshot(page, "prompt-editor")


def test_a_half_typed_template_shows_an_error_and_keeps_the_other_ports(
    page: Any, playground: Playground
) -> None:
    open_prompt(page, playground)
    page.get_by_test_id("port-name").locator("textarea").fill("Grace")
    page.get_by_test_id("message-1").press_sequentially(" {{")
    errors = page.get_by_test_id("template-errors")
    expect(errors).to_be_visible()
    expect(errors).to_contain_text("never closed")
    expect(page.get_by_test_id("message-1")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("port-tone")).to_be_visible()
    expect(page.get_by_test_id("port-name").locator("textarea")).to_have_value("Grace")
    screenshot(page, "template-error")
    page.get_by_test_id("message-1").press_sequentially("city}}")
    expect(errors).to_be_hidden()
    expect(page.get_by_test_id("port-city")).to_be_visible()
    expect(page.get_by_test_id("port-name").locator("textarea")).to_have_value("Grace")


def test_save_keeps_the_draft_and_clears_the_dirty_mark(page: Any, playground: Playground) -> None:
    open_prompt(page, playground, "summarize")
    page.get_by_test_id("message-1").fill("Summarise in {{words}} words: {{text}}")
    expect(page.get_by_test_id("dirty-mark")).to_be_visible()
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("dirty-mark")).to_be_hidden()
    page.reload()
    expect(page.get_by_test_id("message-1")).to_have_value("Summarise in {{words}} words: {{text}}")
    expect(page.get_by_test_id("port-words")).to_be_visible()
    expect(page.get_by_test_id("dirty-mark")).to_be_hidden()


def test_discard_drops_the_draft_and_its_ports(page: Any, playground: Playground) -> None:
    open_prompt(page, playground, "summarize")
    page.get_by_test_id("message-1").fill("Translate {{text}} to {{language}}")
    expect(page.get_by_test_id("port-language")).to_be_visible()
    page.get_by_test_id("discard").click()
    expect(page.get_by_test_id("message-1")).to_have_value("Summarise this:\n\n{{text}}")
    expect(page.get_by_test_id("port-language")).to_have_count(0)
    expect(page.get_by_test_id("dirty-mark")).to_be_hidden()


def test_two_sessions_keep_separate_drafts_and_both_see_a_save(
    new_page: Any, playground: Playground
) -> None:
    alice, bob = new_page(), new_page()
    original = "What is the capital of {{country}}?"
    open_prompt(alice, playground, "capital-question")
    open_prompt(bob, playground, "capital-question")
    alice.get_by_test_id("message-0").fill("Alice asks: capital of {{country}}?")
    expect(alice.get_by_test_id("dirty-mark")).to_be_visible()
    bob.get_by_test_id("message-0").fill("Bob asks: {{country}}")
    bob.reload()
    expect(bob.get_by_test_id("message-0")).to_have_value("Bob asks: {{country}}")
    expect(bob.get_by_test_id("dirty-mark")).to_be_visible()
    alice.reload()
    expect(alice.get_by_test_id("message-0")).to_have_value("Alice asks: capital of {{country}}?")
    bob.get_by_test_id("discard").click()
    expect(bob.get_by_test_id("message-0")).to_have_value(original)
    alice.get_by_test_id("save").click()
    expect(alice.get_by_test_id("dirty-mark")).to_be_hidden()
    # Bob, with no draft left, sees Alice's save arrive without reloading.
    expect(bob.get_by_test_id("message-0")).to_have_value("Alice asks: capital of {{country}}?")
    expect(bob.get_by_test_id("dirty-mark")).to_be_hidden()


def test_running_without_a_required_input_names_it_and_sends_nothing(
    page: Any, playground: Playground
) -> None:
    open_prompt(page, playground, "summarize")
    expect(page.get_by_test_id("port-text")).to_be_visible()
    page.get_by_test_id("run").click()
    output = page.get_by_test_id("output")
    expect(output).to_have_attribute("data-status", "error")
    expect(output).to_contain_text("Fill in the required input: Text.")
    field = page.get_by_test_id("port-text").locator("textarea")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    page.goto(f"{playground.url}/#/runs")
    expect(page.get_by_test_id("runs-table")).to_contain_text("No runs match")


def test_a_save_that_lost_a_race_offers_reload_and_overwrite(
    new_page: Any, playground: Playground, tmp_path: Path, console: ConsoleLog
) -> None:
    console.expect("status of 409")
    with serve_playground(tmp_path / "playground.sqlite") as other_worker:
        alice, bob = new_page(), new_page()
        open_prompt(alice, playground, "capital-question")
        open_prompt(bob, Playground(url=other_worker), "capital-question")
        conflict = alice.get_by_test_id("conflict")
        # Bob saves through another worker while Alice has a draft: hers is refused.
        alice.get_by_test_id("message-0").fill("Alice: capital of {{country}}?")
        bob.get_by_test_id("message-0").fill("Bob: capital of {{country}}?")
        bob.get_by_test_id("save").click()
        expect(bob.get_by_test_id("dirty-mark")).to_be_hidden()
        alice.keyboard.press("Control+s")
        expect(conflict).to_be_visible()
        expect(conflict).to_contain_text("saved elsewhere")
        expect(alice.get_by_test_id("dirty-mark")).to_be_visible()
        screenshot(alice, "conflict")
        alice.get_by_role("button", name="Reload saved version").click()
        expect(alice.get_by_test_id("message-0")).to_have_value("Bob: capital of {{country}}?")
        expect(conflict).to_be_hidden()
        # Again, and this time Alice keeps hers.
        alice.get_by_test_id("message-0").fill("Alice again: {{country}}?")
        bob.get_by_test_id("message-0").fill("Bob again: {{country}}?")
        bob.get_by_test_id("save").click()
        expect(bob.get_by_test_id("dirty-mark")).to_be_hidden()
        alice.get_by_test_id("save").click()
        expect(conflict).to_be_visible()
        alice.get_by_role("button", name="Overwrite with my draft").click()
        expect(conflict).to_be_hidden()
        expect(alice.get_by_test_id("dirty-mark")).to_be_hidden()
        # A new session on the other worker reads what was saved last: Alice's.
        carol = new_page()
        open_prompt(carol, Playground(url=other_worker), "capital-question")
        expect(carol.get_by_test_id("message-0")).to_have_value("Alice again: {{country}}?")
        for page in (bob, carol):  # their streams end before the other worker stops
            page.context.close()
