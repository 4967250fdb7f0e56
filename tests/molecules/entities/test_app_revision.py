"""app_revision_molecule against real apps served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from molecules import AppRevisionData, MoleculeError, Store, app_revision_molecule
from molecules.entities import AppRevisionMolecule, runtime_prefix
from runnable.http.serving import serve_in_thread
from runnable.openapi import OpenAPIInterface
from runnable.sources import InMemorySource
from runnable.types import HttpRequestFormat
from tests.molecules.entities.services import (
    Counting,
    chat_service,
    greeter_service,
    tools_service,
)


@pytest.fixture(scope="module")
def greeter() -> Iterator[tuple[str, Counting]]:
    app = greeter_service()
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def tools_url() -> Iterator[str]:
    with serve_in_thread(tools_service()) as url:
        yield url


@pytest.fixture(scope="module")
def chat_url() -> Iterator[str]:
    with serve_in_thread(chat_service()) as url:
        yield url


def molecule(**revisions: dict[str, Any]) -> AppRevisionMolecule:
    return app_revision_molecule(InMemorySource(revisions, name="app_revisions"))


async def test_input_ports_come_from_the_apps_openapi_document(
    greeter: tuple[str, Counting],
) -> None:
    url, _ = greeter
    m = molecule(rev={"uri": url, "ag_config": {"greeting": "Hi"}})
    store = Store()
    await store.set(m.load_openapi, "rev")
    ports = store.get(m.input_ports("rev"))
    assert [(p.key, p.type, p.required) for p in ports] == [
        ("name", "string", True),
        ("country", "string", False),
    ]
    assert [p.key for p in store.get(m.output_ports("rev"))] == ["output"]
    assert store.get(m.schemas("rev")).parameters["properties"]["greeting"]["type"] == "string"
    assert store.get(m.is_chat("rev")) is False


async def test_reading_input_ports_fetches_the_document_for_subscribers(
    greeter: tuple[str, Counting],
) -> None:
    url, _ = greeter
    m = molecule(rev={"uri": url})
    store = Store()
    arrived = asyncio.Event()
    store.sub(m.input_ports("rev"), arrived.set)
    assert store.get(m.input_ports("rev")) == []
    await asyncio.wait_for(arrived.wait(), 5)
    assert [p.key for p in store.get(m.input_ports("rev"))] == ["name", "country"]
    assert store.get(m.openapi("rev")).status == "success"


async def test_the_document_is_fetched_once_per_url_for_every_revision(
    greeter: tuple[str, Counting],
) -> None:
    url, app = greeter
    m = molecule(a={"uri": url}, b={"uri": url + "/"})
    store = Store()
    before = app.paths.count("/openapi.json")
    await asyncio.gather(store.set(m.load_openapi, "a"), store.set(m.load_openapi, "b"))
    await store.set(m.load_openapi, "a")
    assert app.paths.count("/openapi.json") - before == 1


async def test_refresh_openapi_fetches_the_document_again(greeter: tuple[str, Counting]) -> None:
    url, app = greeter
    m = molecule(rev={"uri": url})
    store = Store()
    before = app.paths.count("/openapi.json")
    await store.set(m.load_openapi, "rev")
    interface = await store.set(m.refresh_openapi, "rev")
    assert isinstance(interface, OpenAPIInterface)
    assert app.paths.count("/openapi.json") - before == 2


async def test_invocation_url_follows_the_uri_and_the_execution_mode() -> None:
    m = molecule(rev={"uri": "http://apps.local/svc/test"})
    store = Store()
    await store.set(m.load, "rev")
    assert store.get(m.runtime_prefix("rev")) == "http://apps.local/svc"
    assert store.get(m.execution_mode("rev")) == "direct"
    assert store.get(m.invocation_url("rev")) == "http://apps.local/svc/test"
    store.set(m.execution_mode("rev"), "deployed")
    assert store.get(m.invocation_url("rev")) == "http://apps.local/svc/run"
    store.set(m.update, "rev", {"uri": "http://elsewhere:8000"})
    assert store.get(m.invocation_url("rev")) == "http://elsewhere:8000/run"
    assert "invocation_url" not in store.get(m.data("rev")).model_dump()


async def test_a_route_path_goes_between_the_prefix_and_the_endpoint(tools_url: str) -> None:
    m = molecule(rev={"uri": tools_url, "route_path": "/score/"})
    store = Store()
    await store.set(m.load_openapi, "rev")
    assert store.get(m.route_path("rev")) == "score"
    assert store.get(m.invocation_url("rev")) == f"{tools_url}/score/test"
    assert [p.key for p in store.get(m.input_ports("rev"))] == ["output", "correct_answer"]


async def test_the_execution_mode_picks_the_endpoint_whose_ports_are_shown(
    tools_url: str,
) -> None:
    m = molecule(rev={"uri": f"{tools_url}/greet"})
    store = Store()
    await store.set(m.load_openapi, "rev")
    assert store.get(m.endpoint("rev")).name == "test"
    store.set(m.execution_mode("rev"), "deployed")
    assert store.get(m.endpoint("rev")).name == "run"
    assert store.get(m.schemas("rev")).parameters is None  # /run takes no config


def test_an_unknown_execution_mode_is_refused() -> None:
    m = molecule()
    with pytest.raises(MoleculeError, match="unknown execution mode 'staging'"):
        Store().set(m.execution_mode("rev"), "staging")


async def test_a_chat_app_is_recognised(chat_url: str) -> None:
    m = molecule(rev={"uri": chat_url})
    store = Store()
    await store.set(m.load_openapi, "rev")
    assert store.get(m.is_chat("rev")) is True
    assert [p.key for p in store.get(m.input_ports("rev"))] == ["topic"]


async def test_an_unreachable_app_is_an_openapi_error_naming_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    m = molecule(rev={"uri": f"http://127.0.0.1:{port}"})
    store = Store()
    with pytest.raises(MoleculeError, match="unreachable"):
        await store.set(m.load_openapi, "rev")
    state = store.get(m.openapi("rev"))
    assert state.status == "error"
    assert f"http://127.0.0.1:{port}/openapi.json" in (state.message or "")
    assert store.get(m.input_ports("rev")) == []


async def test_an_openapi_error_never_shows_the_uri_password() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    m = molecule(rev={"uri": f"http://ada:s3cretpw@127.0.0.1:{port}"})
    store = Store()
    with pytest.raises(MoleculeError) as info:
        await store.set(m.load_openapi, "rev")
    assert "s3cretpw" not in str(info.value)
    assert "s3cretpw" not in (store.get(m.openapi("rev")).message or "")


async def test_a_document_that_is_not_openapi_is_an_error(chat_url: str) -> None:
    m = molecule(rev={"uri": f"{chat_url}/broken"})
    store = Store()
    with pytest.raises(MoleculeError, match="OpenAPI document"):
        await store.set(m.load_openapi, "rev")


async def test_a_missing_document_is_an_error(greeter: tuple[str, Counting]) -> None:
    url, _ = greeter
    m = molecule(rev={"uri": f"{url}/nowhere"})
    store = Store()
    with pytest.raises(MoleculeError, match="not found"):
        await store.set(m.load_openapi, "rev")


async def test_a_revision_without_uri_has_no_document() -> None:
    m = molecule(rev={"ag_config": {}})
    store = Store()
    await store.set(m.load, "rev")
    assert store.get(m.invocation_url("rev")) is None
    assert store.get(m.openapi("rev")).message == "app_revision 'rev': has no uri"
    with pytest.raises(MoleculeError, match="has no uri"):
        await store.set(m.load_openapi, "rev")


async def test_configuration_is_the_ag_config_and_follows_the_draft() -> None:
    m = molecule(rev={"uri": "http://x", "ag_config": {"greeting": "Hi"}})
    store = Store()
    revision = await store.set(m.load, "rev")
    assert isinstance(revision, AppRevisionData)
    store.set(m.update, "rev", {"ag_config": {"greeting": "Hey"}})
    assert store.get(m.configuration("rev")) == {"greeting": "Hey"}
    assert store.get(m.is_dirty("rev")) is True


@pytest.mark.parametrize(
    ("uri", "prefix"),
    [
        ("http://h/app", "http://h/app"),
        ("http://h/app/", "http://h/app"),
        ("http://h/app/run", "http://h/app"),
        ("http://h/app/generate_deployed", "http://h/app"),
        ("", None),
        (None, None),
    ],
)
def test_runtime_prefix_drops_a_trailing_endpoint(uri: str | None, prefix: str | None) -> None:
    assert runtime_prefix(uri) == prefix


# -- both Agenta SDK generations (shapes checked against the real SDKs in tests/interop) --

LEGACY_DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "paths": {
        "/capital/test": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "ag_config": {"type": "object"},
                                    "country": {"title": "Country"},
                                },
                                "required": ["country"],
                            }
                        }
                    }
                }
            }
        },
        "/capital/run": {"post": {}},
    },
}

INSPECT_ANSWER: dict[str, Any] = {
    "revision": {
        "data": {
            "schemas": {
                "inputs": {"type": "object", "properties": {"country": {"type": "string"}}}
            },
            "parameters": {"greeting": "Hello"},
        }
    }
}


@pytest.fixture(scope="module")
def sdk_apps() -> Iterator[str]:
    """The legacy SDK's root document (a `/capital` route); `/current` answers /inspect."""

    async def document(_: Request) -> Response:
        return JSONResponse(LEGACY_DOCUMENT)

    async def inspect(_: Request) -> Response:
        return JSONResponse(INSPECT_ANSWER)

    app = Starlette(
        routes=[
            Route("/openapi.json", document),
            Route("/current/inspect", inspect, methods=["POST"]),
            Route("/current/greet/inspect", inspect, methods=["POST"]),
        ]
    )
    with serve_in_thread(app) as url:
        yield url


async def test_a_route_path_is_read_from_the_root_document(sdk_apps: str) -> None:
    m = molecule(rev={"uri": sdk_apps, "route_path": "capital"})
    store = Store()
    await store.set(m.load_openapi, "rev")
    assert [p.key for p in store.get(m.input_ports("rev"))] == ["country"]
    assert store.get(m.invocation_url("rev")) == f"{sdk_apps}/capital/test"
    assert store.get(m.request("rev")) == HttpRequestFormat(body="fields", with_config=True)


async def test_an_app_without_a_document_is_inspected_and_invoked(sdk_apps: str) -> None:
    m = molecule(rev={"uri": f"{sdk_apps}/current", "route_path": "greet"})
    store = Store()
    interface = await store.set(m.load_openapi, "rev")
    assert interface.default_config == {"greeting": "Hello"}
    assert [p.key for p in store.get(m.input_ports("rev"))] == ["country"]
    assert store.get(m.invocation_url("rev")) == f"{sdk_apps}/current/greet/invoke"
    store.set(m.execution_mode("rev"), "deployed")
    assert store.get(m.invocation_url("rev")) == f"{sdk_apps}/current/greet/invoke"
    assert store.get(m.request("rev")) == HttpRequestFormat(body="invoke", with_config=False)


async def test_a_deployed_request_carries_the_revisions_references(sdk_apps: str) -> None:
    references = {"application": {"slug": "capital"}}
    m = molecule(rev={"uri": sdk_apps, "route_path": "capital", "references": references})
    store = Store()
    await store.set(m.load_openapi, "rev")
    assert store.get(m.request("rev")).references is None  # direct: the config goes instead
    store.set(m.execution_mode("rev"), "deployed")
    assert store.get(m.request("rev")).references == references


async def test_the_prompts_template_variables_add_the_ports_the_app_does_not_declare(
    sdk_apps: str,
) -> None:
    prompt = {"messages": [{"role": "user", "content": "{{country}}, {{ tone }} please"}]}
    m = molecule(rev={"uri": f"{sdk_apps}/current", "ag_config": {"prompt": prompt}})
    store = Store()
    await store.set(m.load_openapi, "rev")
    ports = store.get(m.input_ports("rev"))
    assert [(p.key, p.required) for p in ports] == [("country", False), ("tone", True)]


async def test_with_no_interface_the_ports_are_the_template_variables() -> None:
    prompt = {"template_format": "fstring", "messages": [{"role": "user", "content": "{a} {b}"}]}
    m = molecule(rev={"uri": "http://127.0.0.1:9", "ag_config": {"prompt": prompt}})
    store = Store()
    await store.set(m.load, "rev")
    assert [p.key for p in store.get(m.input_ports("rev"))] == ["a", "b"]


async def test_an_app_with_neither_document_nor_inspect_is_not_found(sdk_apps: str) -> None:
    m = molecule(rev={"uri": f"{sdk_apps}/elsewhere"})
    store = Store()
    with pytest.raises(MoleculeError, match=r"not found: neither .*openapi.json nor .*/inspect"):
        await store.set(m.load_openapi, "rev")
