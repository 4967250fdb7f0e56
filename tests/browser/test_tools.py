"""Tool calls and structured output in a real browser: a run whose tool call and result
show, a structured reply shown as JSON beside its output ports, a reply that breaks the
schema (from a scripted OpenAI-compatible endpoint) showing the error that names the
path, and a chat tool call approved with its button."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from bridge.serve import ServeOptions, playground_in_thread
from runnable.http.serving import serve_in_thread
from runnable.testing import ChatCompletionsApp, ChatServerState, reply
from tests.browser.conftest import ConsoleLog, Playground, screenshot
from tests.browser.test_prompts import open_prompt


def test_a_run_that_calls_a_tool_shows_the_call_its_arguments_and_its_result(
    page: Any, playground: Playground
) -> None:
    open_prompt(page, playground, "unit-converter")
    expect(page.get_by_test_id("tools-hint")).to_contain_text("convert_units")
    page.get_by_test_id("port-value").locator("textarea").fill("42")
    page.get_by_test_id("run").click()

    expect(page.get_by_test_id("output")).to_have_attribute("data-status", "success")
    call = page.get_by_test_id("output-tools").get_by_test_id("tool-call")
    expect(call).to_have_count(1)
    expect(call).to_have_attribute("data-tool", "convert_units")
    expect(call).to_have_attribute("data-state", "done")
    arguments = json.loads(call.get_by_test_id("tool-arguments").inner_text())
    assert arguments == {"value": 42, "from_unit": "km", "to_unit": "mi"}
    result = json.loads(call.get_by_test_id("tool-result").inner_text())
    assert result == {"value": 26.097590, "unit": "mi"}
    expect(page.get_by_test_id("output-text")).to_have_text(
        'echo: convert_units: {"value": 26.09759, "unit": "mi"}'
    )
    screenshot(page, "run-tool-calls", full_page=True)

    # The run's page shows the same exchange in the request it recorded.
    page.get_by_test_id("output").get_by_role("link", name="Open run").click()
    recorded = page.get_by_test_id("run-request").get_by_test_id("tool-call")
    expect(recorded).to_have_count(1)
    expect(recorded.get_by_test_id("tool-result")).to_contain_text('"value": 26.09759')


def test_a_tool_that_raises_shows_its_error_as_the_calls_result(
    page: Any, playground: Playground
) -> None:
    open_prompt(page, playground, "unit-converter")
    page.get_by_test_id("port-to_unit").locator("textarea").fill("kg")
    page.get_by_test_id("run").click()

    call = page.get_by_test_id("output-tools").get_by_test_id("tool-call")
    expect(call).to_have_attribute("data-state", "error")
    expect(call.get_by_test_id("tool-result")).to_contain_text(
        "cannot convert a length (km) to a mass (kg)"
    )


def test_a_structured_reply_shows_its_output_ports_and_the_parsed_json(
    page: Any, playground: Playground
) -> None:
    open_prompt(page, playground, "capital-facts")
    ports = page.get_by_test_id("output-ports")
    expect(ports).to_contain_text("from the JSON schema “capital_facts”")
    expect(ports.locator("[data-output-port]")).to_have_count(3)
    expect(ports.locator('[data-output-port="population"]')).to_contain_text("integer")
    page.get_by_test_id("port-country").locator("textarea").fill("Norway")
    page.get_by_test_id("run").click()

    structured = page.get_by_test_id("output-structured")
    expect(structured).to_be_visible()
    shown = structured.locator("pre").inner_text()
    assert json.loads(shown)["country"] == "Norway"
    assert json.loads(shown)["population"] == 0
    assert "\n  " in shown  # indented, not one line
    expect(page.get_by_test_id("output-error")).to_be_hidden()
    screenshot(page, "structured-output", full_page=True)


@pytest.fixture
def scripted(tmp_path: Path) -> Iterator[tuple[ChatServerState, str]]:
    """The playground on a real OpenAI-compatible endpoint (a scripted local server)."""
    state = ChatServerState()
    with serve_in_thread(ChatCompletionsApp(state)) as model_url:
        options = ServeOptions(
            port=0,
            db=str(tmp_path / "scripted.sqlite"),
            provider_url=f"{model_url}/v1",
            api_key="sk-browser-test",
            model="gpt-4o-mini",
        )
        with playground_in_thread(options) as url:
            yield state, url


def test_a_reply_that_breaks_the_schema_shows_the_error_naming_the_path(
    browser: Any, console: ConsoleLog, scripted: tuple[ChatServerState, str]
) -> None:
    state, url = scripted
    bad = '{"country": "Norway", "capital": "Oslo", "population": "many"}'
    state.script(reply(bad))
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(10_000)
    try:
        page = console.watch(context.new_page())
        open_prompt(page, Playground(url=url), "capital-facts")
        expect(page.get_by_test_id("model-badge")).to_contain_text("gpt-4o-mini")
        page.get_by_test_id("port-country").locator("textarea").fill("Norway")
        page.get_by_test_id("run").click()

        expect(page.get_by_test_id("output")).to_have_attribute("data-status", "error")
        error = page.get_by_test_id("output-error")
        expect(error).to_contain_text("StructuredOutputError")
        expect(error).to_contain_text("at population: 'many' is not of type 'integer'")
        expect(page.get_by_test_id("output-text")).to_have_text(bad)
        expect(page.get_by_test_id("output-structured")).to_be_hidden()
        assert state.requests[-1].body["response_format"]["type"] == "json_schema"
        screenshot(page, "structured-error", full_page=True)
    finally:
        context.close()


def test_a_chat_tool_call_waits_for_approval_and_runs_once_approved(
    page: Any, playground: Playground
) -> None:
    page.goto(f"{playground.url}/#/chat")
    page.get_by_test_id("chat-prompt").select_option("prompt:unit-converter")
    page.get_by_test_id("chat-input").fill('Also save_note text="10 km is about 6.2 mi"')
    page.get_by_test_id("chat-input").press("Enter")

    note = page.locator('[data-testid="tool-call"][data-tool="save_note"]')
    expect(note).to_have_attribute("data-state", "awaiting")
    converted = page.locator('[data-testid="tool-call"][data-tool="convert_units"]')
    expect(converted).to_have_attribute("data-state", "done")
    expect(page.locator(".chat-head [data-status]")).to_have_attribute(
        "data-status", "awaiting_approval"
    )
    screenshot(page, "chat-tool-approval")
    note.get_by_test_id("tool-approve").click()

    expect(note).to_have_attribute("data-state", "done")
    expect(note.get_by_test_id("tool-result")).to_have_text("saved note 1: 10 km is about 6.2 mi")
    expect(page.locator('[data-role="assistant"]').last).to_contain_text("save_note: saved note 1")


def test_a_denied_chat_tool_call_shows_that_it_was_not_approved(
    page: Any, playground: Playground
) -> None:
    page.goto(f"{playground.url}/#/chat")
    page.get_by_test_id("chat-prompt").select_option("prompt:greeter")
    page.get_by_test_id("chat-input").fill("save_note text=secret")
    page.get_by_test_id("chat-input").press("Enter")

    note = page.locator('[data-testid="tool-call"][data-tool="save_note"]')
    note.get_by_test_id("tool-deny").click()
    expect(note).to_have_attribute("data-state", "error")
    expect(note.get_by_test_id("tool-result")).to_contain_text("was not approved by the user")


def test_a_structured_chat_reply_shows_its_parsed_json(page: Any, playground: Playground) -> None:
    page.goto(f"{playground.url}/#/chat")
    page.get_by_test_id("chat-prompt").select_option("prompt:capital-facts")
    country = page.locator('[data-var="country"]')
    country.fill("Chile")
    country.dispatch_event("change")
    page.get_by_test_id("chat-input").fill("capital=Santiago population=6900000")
    page.get_by_test_id("chat-input").press("Enter")

    shown = page.get_by_test_id("chat-structured").locator("pre")
    expect(shown).to_be_visible()
    assert json.loads(shown.inner_text()) == {
        "country": "Chile",
        "capital": "Santiago",
        "population": 6900000,
    }
