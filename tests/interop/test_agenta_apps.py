"""App revisions run apps served by the real Agenta SDK, 0.95.x and the current release.

Each SDK is installed from PyPI into its own venv (tests/interop/sdk.py) and serves the
apps in tests/interop/apps/ with uvicorn on 127.0.0.1; the library reaches them only over
HTTP, through the default bridge.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from bridge import InvalidInputsError, RunnableBridge, create_default_bridge, use_runnable
from molecules import Store
from runnable.sources import InMemorySource
from runnable.types import ExecutionStatus
from tests.interop.sdk import CURRENT_SDK, LEGACY_SDK

REF = "app_revision:capital"


@pytest.fixture(params=[LEGACY_SDK, CURRENT_SDK], ids=["sdk-0.95", "sdk-current"])
def app_url(request: pytest.FixtureRequest) -> str:
    """The base URL of the `capital` app, served by one SDK generation."""
    fixture = "legacy_app" if request.param == LEGACY_SDK else "current_app"
    url: str = request.getfixturevalue(fixture)
    return url


def bridge_over(**revisions: dict[str, Any]) -> RunnableBridge:
    """The default bridge with these app revisions in its source."""
    return create_default_bridge({"app_revision": InMemorySource(revisions, name="apps")})


def capital(url: str, **fields: Any) -> RunnableBridge:
    return bridge_over(capital={"uri": url, "ag_config": {"greeting": "The capital of"}, **fields})


async def test_the_input_ports_are_the_app_functions_parameters(app_url: str) -> None:
    bridge, store = capital(app_url), Store()
    await bridge.load(REF, store=store)
    ports = store.get(bridge.selectors.input_ports(REF))
    assert [p.key for p in ports] == ["country", "style"]
    assert ports[0].required


async def test_a_direct_run_sends_the_draft_config_and_returns_the_apps_output(
    app_url: str,
) -> None:
    bridge, store = capital(app_url), Store()
    apps = bridge.type("app_revision").molecule
    await bridge.load(REF, store=store)
    store.set(apps.update, "capital", {"ag_config": {"greeting": "Draft: the capital of"}})
    result = await bridge.execute(REF, {"country": "France", "style": "short"}, store=store)
    assert result.status == ExecutionStatus.SUCCESS, result.error
    assert result.output == "Draft: the capital of France (short)"


async def test_a_deployed_run_sends_the_references_and_the_legacy_app_fetches_its_config(
    legacy_app: str, platform_requests: list[dict[str, Any]]
) -> None:
    references = {"application": {"slug": "capital"}, "environment": {"slug": "production"}}
    bridge = capital(legacy_app, ag_config={"greeting": "Never sent"}, references=references)
    store = Store()
    apps = bridge.type("app_revision").molecule
    await bridge.load(REF, store=store)
    store.set(apps.execution_mode("capital"), "deployed")
    result = await bridge.execute(REF, {"country": "Peru", "style": "long"}, store=store)
    assert result.status == ExecutionStatus.SUCCESS, result.error
    assert result.output == "The capital of Peru (long)"
    assert platform_requests[-1]["application_ref"]["slug"] == "capital"
    assert platform_requests[-1]["environment_ref"]["slug"] == "production"


async def test_a_deployed_run_of_the_current_sdk_runs_with_the_apps_own_config(
    current_app: str,
) -> None:
    bridge, store = capital(current_app, ag_config={"greeting": "Never sent"}), Store()
    apps = bridge.type("app_revision").molecule
    await bridge.load(REF, store=store)
    store.set(apps.execution_mode("capital"), "deployed")
    result = await bridge.execute(REF, {"country": "Peru", "style": "long"}, store=store)
    assert result.status == ExecutionStatus.SUCCESS, result.error
    assert result.output == "The capital of Peru (long)"


async def test_the_trace_id_comes_back(app_url: str) -> None:
    bridge = capital(app_url)
    result = await bridge.execute(REF, {"country": "Chile", "style": "x"}, store=Store())
    assert result.trace is not None
    assert re.fullmatch(r"[0-9a-f]{32}", result.trace.trace_id or "")


async def test_an_app_error_reaches_the_user_with_the_sdks_own_message(app_url: str) -> None:
    bridge = capital(app_url)
    result = await bridge.execute(REF, {"country": "Atlantis", "style": "x"}, store=Store())
    assert result.status == ExecutionStatus.ERROR
    assert result.error is not None
    assert "Atlantis is not on any map" in result.error.message
    assert "Traceback" not in result.error.message
    assert result.error.status_code == 500


async def test_missing_inputs_are_refused_before_the_app_is_called(app_url: str) -> None:
    bridge = capital(app_url)
    with pytest.raises(InvalidInputsError, match="country"):
        await bridge.execute(REF, {"style": "x"}, store=Store())


async def test_a_handle_runs_the_app_by_its_camel_case_kind(app_url: str) -> None:
    bridge, store = capital(app_url), Store()
    handle = use_runnable("appRevision:capital", store, bridge=bridge)
    await handle.load()
    assert [p.key for p in handle.input_ports] == ["country", "style"]
    assert handle.is_dirty is False
    chunks = [c async for c in handle.stream({"country": "Japan", "style": "x"})]
    assert chunks == ["The capital of Japan (x)"]
    result = await handle.execute({"country": "Kenya", "style": "y"})
    assert result.output == "The capital of Kenya (y)"


async def test_a_legacy_route_path_runs_that_routes_function(legacy_app: str) -> None:
    bridge = bridge_over(
        shout={"uri": legacy_app, "route_path": "/shout", "ag_config": {"marks": "?!"}}
    )
    store = Store()
    await bridge.load("app_revision:shout", store=store)
    assert [p.key for p in store.get(bridge.selectors.input_ports("app_revision:shout"))] == [
        "text"
    ]
    result = await bridge.execute("app_revision:shout", {"text": "hey"}, store=store)
    assert result.output == "HEY?!"


async def test_an_app_without_schemas_takes_its_prompts_template_variables(
    current_app: str,
) -> None:
    prompt = {"messages": [{"role": "user", "content": "Bonjour {{name}}"}]}
    bridge = bridge_over(
        greet={"uri": current_app, "route_path": "greet", "ag_config": {"prompt": prompt}}
    )
    store = Store()
    await bridge.load("app_revision:greet", store=store)
    ports = store.get(bridge.selectors.input_ports("app_revision:greet"))
    assert [p.key for p in ports] == ["name"]
    result = await bridge.execute("app_revision:greet", {"name": "Ada"}, store=store)
    assert result.output == {"text": "Bonjour Ada"}


async def test_an_app_whose_document_lists_invoke_is_read_through_inspect(
    current_app: str,
) -> None:
    # The current SDK's document (OpenAPI switched on) uses `#/$defs/...` refs.
    async with httpx.AsyncClient() as client:
        document = (await client.get(f"{current_app}/documented/openapi.json")).json()
    assert "#/$defs/" in json.dumps(document)
    bridge = bridge_over(capital={"uri": f"{current_app}/documented"})
    store = Store()
    await bridge.load(REF, store=store)
    assert [p.key for p in store.get(bridge.selectors.input_ports(REF))] == ["country", "style"]
    assert store.get(bridge.selectors.invocation_url(REF)) == f"{current_app}/documented/invoke"
    result = await bridge.execute(REF, {"country": "Mali"}, store=store)
    assert result.output == "The capital of Mali (plain)", result.error
