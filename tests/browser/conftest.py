"""Fixtures of the browser tests: Debian's chromium driven by playwright, one server per test.

The server is `runnable-bridge serve` on its embedded defaults (a temp SQLite file, the
seeded examples, the offline echo model, which replies "echo: <last user message>" one
word every `ECHO_DELAY` seconds), served with uvicorn on 127.0.0.1.

The browser is `/usr/bin/chromium` (never a downloaded one); a machine without it skips
these tests with the reason. Every page records its console errors and uncaught
exceptions, and a test fails at teardown if the page logged any.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from bridge.serve import ServeOptions, playground_in_thread

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ECHO_DELAY = 0.05
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"

playwright_api = pytest.importorskip("playwright.sync_api", reason="the dev extra's playwright")
if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
    pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is a browser test."""
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless chromium for the browser tests.

    Package-scoped: playwright's sync API keeps an event loop running in this thread while
    it is started, and the async tests that follow need the thread back.
    """
    with playwright_api.sync_playwright() as p:
        found = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield found
        found.close()


@attrs.define
class Playground:
    """The server under test."""

    url: str


def serve_playground(db: Path) -> Any:
    """Serve the playground on the SQLite file `db` (a context manager yielding its URL)."""
    return playground_in_thread(ServeOptions(port=0, db=str(db), echo_delay=ECHO_DELAY))


@pytest.fixture
def playground(tmp_path: Path) -> Iterator[Playground]:
    """A fresh server: the seeded examples, runs in a temp SQLite file, the echo model."""
    with serve_playground(tmp_path / "playground.sqlite") as url:
        yield Playground(url=url)


@attrs.define
class ConsoleLog:
    """What the pages of a test logged as errors (less those the test expects)."""

    errors: list[str] = attrs.field(factory=list)
    expected: list[str] = attrs.field(factory=list)

    def watch(self, page: Any) -> Any:
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        return page

    def expect(self, text: str) -> None:
        """Allow console errors containing `text` (the browser's own log of an HTTP error)."""
        self.expected.append(text)

    def unexpected(self) -> list[str]:
        """The errors no test expected."""
        return [e for e in self.errors if not any(x in e for x in self.expected)]


@pytest.fixture
def console() -> Iterator[ConsoleLog]:
    """The console errors of the test's pages; none may be logged."""
    log = ConsoleLog()
    yield log
    assert log.unexpected() == [], f"the page logged console errors: {log.unexpected()}"


@pytest.fixture
def new_page(
    browser: Any, playground: Playground, console: ConsoleLog
) -> Iterator[Callable[[], Any]]:
    """Open pages in fresh browser contexts (each its own cookies, so its own session)."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return console.watch(context.new_page())

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Any]) -> Any:
    """One page in its own context."""
    return new_page()


def screenshot(page: Any, name: str, *, full_page: bool = False) -> None:
    """Take a screenshot of the page; with RB_DOCS_SCREENSHOTS=1 it replaces the docs' one.

    Every run takes it (a page that cannot be drawn fails here); only a run that asks
    rewrites docs/images/<name>.png, so the suite leaves the checkout clean.
    """
    data = page.screenshot(full_page=full_page, animations="disabled")
    assert data.startswith(b"\x89PNG")
    if os.environ.get("RB_DOCS_SCREENSHOTS") == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        (IMAGES / f"{name}.png").write_bytes(data)
