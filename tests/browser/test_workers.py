"""The playground page through `runnable-bridge serve --workers 2` on PostgreSQL.

One URL; each browser context's session cookie is set to a session the front sends to
a chosen worker, so two pages are known to be on two workers.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.bridge.server.conftest import TIMEOUT, session_for
from tests.bridge.server.served_workers import fresh_database, start_served, stop_served
from tests.browser.conftest import Playground
from tests.browser.test_prompts import open_prompt
from tests.browser.test_runs import greet, words


@pytest.fixture(scope="module")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Playground]:
    """`serve --workers 2` over a fresh PostgreSQL database (this module's server)."""
    with fresh_database() as database:
        served = start_served(tmp_path_factory.mktemp("workers"), database)
        try:
            yield Playground(url=served.url)
        finally:
            if served.process.poll() is None:
                stop_served(served, signal.SIGTERM)


def on_worker(page: Any, playground: Playground, worker: int, name: str) -> Any:
    """`page`, its context's session cookie naming a session of `worker`."""
    session = session_for(worker, prefix=name)
    page.context.add_cookies([{"name": "rb_session", "value": session, "url": playground.url}])
    return page


def test_two_pages_on_two_workers_keep_their_drafts_and_see_each_others_saves(
    new_page: Any, playground: Playground
) -> None:
    alice = on_worker(new_page(), playground, 0, "alice")
    bob = on_worker(new_page(), playground, 1, "bob")
    pids = {
        httpx.get(f"{playground.url}/info", headers={"X-Session": s}, timeout=TIMEOUT).json()[
            "worker_pid"
        ]
        for s in (session_for(0, prefix="alice"), session_for(1, prefix="bob"))
    }
    assert len(pids) == 2
    original = "What is the capital of {{country}}?"
    open_prompt(alice, playground, "capital-question")
    open_prompt(bob, playground, "capital-question")
    alice.get_by_test_id("message-0").fill("Alice asks: capital of {{country}}?")
    bob.get_by_test_id("message-0").fill("Bob asks: {{country}}")
    for _ in range(3):  # every reload finds the draft: every request reaches its worker
        bob.reload()
        expect(bob.get_by_test_id("message-0")).to_have_value("Bob asks: {{country}}")
        expect(bob.get_by_test_id("dirty-mark")).to_be_visible()
    alice.reload()
    expect(alice.get_by_test_id("message-0")).to_have_value("Alice asks: capital of {{country}}?")
    bob.get_by_test_id("discard").click()
    expect(bob.get_by_test_id("message-0")).to_have_value(original)
    alice.get_by_test_id("save").click()
    expect(alice.get_by_test_id("dirty-mark")).to_be_hidden()
    # Bob, on the other worker, sees Alice's save arrive without reloading (the change feed).
    expect(bob.get_by_test_id("message-0")).to_have_value("Alice asks: capital of {{country}}?")
    expect(bob.get_by_test_id("dirty-mark")).to_be_hidden()


@pytest.mark.parametrize("worker", [0, 1])
def test_a_run_streams_into_the_page_and_a_reload_rejoins_it(
    page: Any, playground: Playground, worker: int
) -> None:
    on_worker(page, playground, worker, "runner")
    whole = greet(page, playground, words(40))
    expect(page.get_by_test_id("output-text")).to_contain_text("w5")
    page.reload()
    expect(page.get_by_test_id("output")).to_have_attribute("data-status", "streaming")
    expect(page.get_by_test_id("output")).to_have_attribute("data-status", "success")
    expect(page.get_by_test_id("output-text")).to_have_text(whole)
