"""Fixtures of the interop group: each pinned SDK installed once, its apps served per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runnable.http.serving import serve_in_thread
from tests.interop.platform import platform_app
from tests.interop.sdk import CURRENT_SDK, LEGACY_SDK, closed_port, ensure_sdks, serve_sdk_apps


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is in the `interop` group, with room for the first SDK install."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.interop)
            item.add_marker(pytest.mark.timeout(900))


@pytest.fixture(scope="session")
def sdk_venvs() -> dict[str, Path]:
    """Both SDK generations' venvs (installed from PyPI on the first run only)."""
    return ensure_sdks(LEGACY_SDK, CURRENT_SDK)


@pytest.fixture(scope="module")
def platform_requests() -> list[dict[str, Any]]:
    """The config requests the legacy app made to the platform stand-in."""
    return []


@pytest.fixture(scope="module")
def platform_url(platform_requests: list[dict[str, Any]]) -> Iterator[str]:
    """The platform stand-in the legacy app fetches deployed configs from."""
    with serve_in_thread(platform_app(platform_requests)) as url:
        yield url


@pytest.fixture(scope="module")
def sdk_apps(sdk_venvs: dict[str, Path], platform_url: str) -> Iterator[dict[str, str]]:
    """Both test apps served, by SDK version: the legacy one with the platform stand-in,
    the current one with no platform at all (a port nobody answers on)."""
    with (
        closed_port() as port,
        serve_sdk_apps(
            (sdk_venvs[LEGACY_SDK], "legacy_capital.py", platform_url),
            (sdk_venvs[CURRENT_SDK], "current_capital.py", f"http://127.0.0.1:{port}"),
        ) as (legacy, current),
    ):
        yield {LEGACY_SDK: legacy, CURRENT_SDK: current}


@pytest.fixture
def legacy_app(sdk_apps: dict[str, str]) -> str:
    """tests/interop/apps/legacy_capital.py served by SDK 0.95.x."""
    return sdk_apps[LEGACY_SDK]


@pytest.fixture
def current_app(sdk_apps: dict[str, str]) -> str:
    """tests/interop/apps/current_capital.py served by the current SDK."""
    return sdk_apps[CURRENT_SDK]
