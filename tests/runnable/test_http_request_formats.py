"""Request formats and answers of both Agenta SDK generations, against a real local service.

The service here answers the way each generation does (shapes checked against the real
SDKs in tests/interop); it echoes what it received so the tests can read the request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runnable.errors import HttpRunnableError
from runnable.http.invocation import (
    execute_http_runnable,
    invoke_http_runnable,
    reference_baggage,
    request_body,
)
from runnable.http.serving import serve_in_thread
from runnable.types import ErrorInfo, ExecutionStatus, HttpRequestFormat, RunnableData

TRACE = "0af7651916cd43dd8448eb211c80319c"


def sdk_like_service(seen: list[dict[str, Any]]) -> Starlette:
    """`/test` and `/run` as 0.9x answers; `/invoke` and its failures as the current SDK."""

    async def legacy(request: Request) -> Response:
        seen.append({"body": await request.json(), "baggage": request.headers.get("baggage")})
        return JSONResponse({"version": "3.0", "data": "ok", "trace_id": TRACE})

    async def invoke(request: Request) -> Response:
        body = await request.json()
        seen.append({"body": body})
        answer = {"version": "2025.07.14", "status": {"code": 200, "message": "Success"}}
        return JSONResponse(
            {**answer, "data": {"outputs": body["data"]}}, headers={"x-ag-trace-id": TRACE}
        )

    async def invoke_failure(request: Request) -> Response:
        status = {
            "code": 500,
            "message": "Atlantis is not on any map",
            "type": "https://agenta.ai/docs/errors#v1:sdk:unknown-workflow-invoke-error",
            "failure_code": "unknown_country",
        }
        return JSONResponse({"status": status, "trace_id": TRACE}, status_code=500)

    async def failure_with_200(request: Request) -> Response:
        return JSONResponse({"status": {"code": 424, "message": "the model provider refused"}})

    async def legacy_failure(request: Request) -> Response:
        detail = {"message": "no country", "stacktrace": ["Traceback ..."], "trace_id": TRACE}
        return JSONResponse({"detail": detail}, status_code=500)

    return Starlette(
        routes=[
            Route("/test", legacy, methods=["POST"]),
            Route("/run", legacy, methods=["POST"]),
            Route("/invoke", invoke, methods=["POST"]),
            Route("/failing/invoke", invoke_failure, methods=["POST"]),
            Route("/refusing/invoke", failure_with_200, methods=["POST"]),
            Route("/legacy-failing/test", legacy_failure, methods=["POST"]),
        ]
    )


@pytest.fixture(scope="module")
def seen() -> list[dict[str, Any]]:
    return []


@pytest.fixture(scope="module")
def service(seen: list[dict[str, Any]]) -> Iterator[str]:
    with serve_in_thread(sdk_like_service(seen)) as url:
        yield url


def runnable(url: str, request: HttpRequestFormat | None = None) -> RunnableData:
    return RunnableData(
        id="app",
        kind="app_revision",
        configuration={"greeting": "Hi"},
        invocation_url=url,
        request=request,
    )


def test_each_format_carries_the_inputs_and_config_where_it_should() -> None:
    inputs, config = {"country": "Peru"}, {"greeting": "Hi"}
    assert request_body(inputs, config, "inputs") == {"inputs": inputs, "ag_config": config}
    assert request_body(inputs, config, "fields") == {"country": "Peru", "ag_config": config}
    assert request_body(inputs, config, "invoke") == {
        "data": {"inputs": inputs, "parameters": config}
    }
    assert request_body(inputs, None, "invoke") == {"data": {"inputs": inputs}}


def test_references_become_baggage_with_encoded_values() -> None:
    baggage = reference_baggage({"application": {"slug": "my app"}, "variant": {"version": 3}})
    assert baggage == "ag.refs.application.slug=my%20app,ag.refs.variant.version=3"


async def test_a_fields_app_gets_its_inputs_at_the_top_of_the_body(
    service: str, seen: list[dict[str, Any]]
) -> None:
    request = HttpRequestFormat(body="fields", with_config=True)
    result = await execute_http_runnable(runnable(f"{service}/test", request), {"country": "Peru"})
    assert result.output == "ok"
    assert seen[-1]["body"] == {"country": "Peru", "ag_config": {"greeting": "Hi"}}


async def test_a_deployed_fields_run_sends_references_as_baggage_and_no_config(
    service: str, seen: list[dict[str, Any]]
) -> None:
    references = {"application": {"slug": "capital"}}
    request = HttpRequestFormat(body="fields", with_config=False, references=references)
    await execute_http_runnable(runnable(f"{service}/run", request), {"country": "Peru"})
    assert seen[-1] == {"body": {"country": "Peru"}, "baggage": "ag.refs.application.slug=capital"}


async def test_an_invoke_run_reads_data_outputs_and_the_trace_header(
    service: str, seen: list[dict[str, Any]]
) -> None:
    request = HttpRequestFormat(body="invoke", with_config=True)
    result = await execute_http_runnable(runnable(f"{service}/invoke", request), {"x": 1})
    assert result.status == ExecutionStatus.SUCCESS
    assert result.output == {"inputs": {"x": 1}, "parameters": {"greeting": "Hi"}}
    assert result.trace is not None and result.trace.trace_id == TRACE


async def test_a_deployed_invoke_sends_its_references_in_the_body(
    service: str, seen: list[dict[str, Any]]
) -> None:
    references = {"environment": {"slug": "production"}}
    request = HttpRequestFormat(body="invoke", with_config=False, references=references)
    await execute_http_runnable(runnable(f"{service}/invoke", request), {"x": 1})
    assert seen[-1]["body"] == {"data": {"inputs": {"x": 1}}, "references": references}


async def test_a_current_sdk_failure_shows_its_status_message_code_and_trace(service: str) -> None:
    request = HttpRequestFormat(body="invoke")
    result = await execute_http_runnable(runnable(f"{service}/failing/invoke", request), {})
    assert result.status == ExecutionStatus.ERROR
    assert result.error is not None
    assert result.error.message.endswith("failed (HTTP 500): Atlantis is not on any map")
    assert result.error.code == "unknown_country"
    assert result.trace is not None and result.trace.trace_id == TRACE


async def test_a_status_that_says_failed_is_an_error_even_with_http_200(service: str) -> None:
    with pytest.raises(HttpRunnableError) as caught:
        await invoke_http_runnable(f"{service}/refusing/invoke", {}, request_format="invoke")
    assert caught.value.status_code == 424
    assert "the model provider refused" in caught.value.message


async def test_a_legacy_failure_shows_its_detail_message_and_trace(service: str) -> None:
    result = await execute_http_runnable(runnable(f"{service}/legacy-failing/test"), {})
    assert result.error is not None
    assert result.error.message.endswith("(HTTP 500): no country")
    assert result.trace is not None and result.trace.trace_id == TRACE


def test_error_info_keeps_its_code_through_json() -> None:
    info = ErrorInfo.model_validate({"message": "boom", "code": "quota_exceeded"})
    assert info.code == "quota_exceeded"
    assert ErrorInfo.model_validate_json(info.model_dump_json()).code == "quota_exceeded"


async def test_without_a_failure_slug_the_code_is_the_status_code(service: str) -> None:
    request = HttpRequestFormat(body="invoke")
    result = await execute_http_runnable(runnable(f"{service}/refusing/invoke", request), {})
    assert result.error is not None
    assert (result.error.code, result.error.status_code) == ("424", 424)
