"""invoke_http_runnable / execute_http_runnable against real local services."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import BaseModel

from runnable.errors import HttpRunnableError
from runnable.http.invocation import execute_http_runnable, invoke_http_runnable
from runnable.http.service import create_service
from runnable.http.serving import serve_in_thread
from runnable.types import ExecutionStatus, RunnableData
from tests.servers.fixtures import AppServer


async def test_posts_inputs_and_ag_config_and_reads_data_and_trace(app_server: AppServer) -> None:
    result = await invoke_http_runnable(
        f"{app_server.url}/echo/test", {"country": "France"}, ag_config={"temperature": 0.1}
    )

    assert app_server.state.bodies == [
        {"inputs": {"country": "France"}, "ag_config": {"temperature": 0.1}}
    ]
    assert result.output == {"inputs": {"country": "France"}, "ag_config": {"temperature": 0.1}}
    assert result.trace_id == "trace-123"
    assert result.trace is not None and result.trace.span_id == "span-9"
    assert result.status_code == 200
    assert result.latency_ms is not None and result.latency_ms > 0


async def test_without_ag_config_only_inputs_are_sent(app_server: AppServer) -> None:
    await invoke_http_runnable(f"{app_server.url}/echo/run", {"country": "France"})

    assert app_server.state.bodies == [{"inputs": {"country": "France"}}]


async def test_an_answer_without_data_is_the_output_as_a_whole(app_server: AppServer) -> None:
    result = await invoke_http_runnable(f"{app_server.url}/plain", {})

    assert result.output == {"answer": 42}
    assert result.trace_id is None and result.trace is None


async def test_a_text_answer_is_the_output(app_server: AppServer) -> None:
    result = await invoke_http_runnable(f"{app_server.url}/text", {})

    assert result.output == "just words"


async def test_json_error_detail_becomes_the_message(app_server: AppServer) -> None:
    url = f"{app_server.url}/detail-error"
    with pytest.raises(HttpRunnableError) as caught:
        await invoke_http_runnable(url, {})

    assert str(caught.value) == f"{url} failed (HTTP 500): model exploded"
    assert caught.value.status_code == 500
    assert caught.value.reason == "http"
    assert caught.value.detail["detail"]["stacktrace"] == "Traceback ..."


async def test_validation_errors_name_the_bad_inputs(app_server: AppServer) -> None:
    with pytest.raises(HttpRunnableError, match=r"\(HTTP 422\): inputs.country: Field required"):
        await invoke_http_runnable(f"{app_server.url}/validation-error", {})


async def test_an_html_error_page_means_the_service_is_unreachable(app_server: AppServer) -> None:
    url = f"{app_server.url}/html-error"
    with pytest.raises(HttpRunnableError) as caught:
        await invoke_http_runnable(url, {})

    assert str(caught.value) == f"service unreachable at {url} (HTTP 502)"
    assert caught.value.reason == "unreachable"


async def test_a_plain_text_error_is_quoted(app_server: AppServer) -> None:
    with pytest.raises(HttpRunnableError, match=r"\(HTTP 503\): upstream went away"):
        await invoke_http_runnable(f"{app_server.url}/text-error", {})


async def test_a_timeout_says_how_long_it_waited(app_server: AppServer) -> None:
    url = f"{app_server.url}/slow"
    with pytest.raises(HttpRunnableError) as caught:
        await invoke_http_runnable(url, {}, timeout=0.2)

    assert str(caught.value) == f"timed out after 0.2s waiting for {url}"
    assert caught.value.reason == "timeout"


async def test_a_closed_port_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/test"

    with pytest.raises(HttpRunnableError) as caught:
        await invoke_http_runnable(url, {})

    assert str(caught.value) == f"service unreachable at {url} (connection refused)"


async def test_credentials_in_the_url_stay_out_of_errors(app_server: AppServer) -> None:
    secret_url = app_server.url.replace("http://", "http://user:hunter2@") + "/detail-error"

    with pytest.raises(HttpRunnableError) as caught:
        await invoke_http_runnable(secret_url, {})

    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in caught.value.url


async def test_cancelling_the_call_closes_the_request(app_server: AppServer) -> None:
    task = asyncio.create_task(invoke_http_runnable(f"{app_server.url}/slow", {}))
    assert await asyncio.to_thread(app_server.state.slow_started.wait, 5.0)

    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cancelled_in = time.monotonic() - started

    assert await asyncio.to_thread(app_server.state.disconnected.wait, 2.0)
    assert cancelled_in < 0.2
    assert app_server.state.disconnected_at is not None
    assert app_server.state.disconnected_at - started < 0.2


async def test_a_given_client_is_used(app_server: AppServer) -> None:
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(str(request.url))

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as client:
        await invoke_http_runnable(f"{app_server.url}/plain", {}, client=client)

    assert seen == [f"{app_server.url}/plain"]


class Config(BaseModel):
    prefix: str = "Capital of"


DEFAULT_CONFIG = Config()


def capital(country: str, ag_config: Config = DEFAULT_CONFIG) -> str:
    """Pretend to answer."""
    return f"{ag_config.prefix} {country}: ?"


@pytest.fixture(scope="module")
def capital_service() -> Iterator[str]:
    with serve_in_thread(create_service(capital)) as url:
        yield url


async def test_round_trip_through_a_created_service(capital_service: str) -> None:
    tested = await invoke_http_runnable(
        f"{capital_service}/test", {"country": "Peru"}, ag_config={"prefix": "Capitale de"}
    )
    deployed = await invoke_http_runnable(f"{capital_service}/run", {"country": "Peru"})

    assert tested.output == "Capitale de Peru: ?"
    assert deployed.output == "Capital of Peru: ?"
    assert tested.trace_id and deployed.trace_id and tested.trace_id != deployed.trace_id


async def test_round_trip_validation_error_names_the_missing_input(capital_service: str) -> None:
    with pytest.raises(HttpRunnableError, match=r"inputs.country: Field required"):
        await invoke_http_runnable(f"{capital_service}/run", {"city": "Lima"})


async def test_execute_sends_configuration_to_a_test_route(capital_service: str) -> None:
    runnable = RunnableData(
        id="rev-1",
        kind="app_revision",
        invocation_url=f"{capital_service}/test",
        configuration={"prefix": "Hauptstadt von"},
    )

    result = await execute_http_runnable(runnable, {"country": "Chile"})

    assert result.status is ExecutionStatus.SUCCESS
    assert result.output == "Hauptstadt von Chile: ?"
    assert result.trace is not None and result.trace.trace_id
    assert result.metrics.latency_ms is not None
    assert result.started_at is not None and result.completed_at is not None


async def test_execute_does_not_send_configuration_to_a_run_route(app_server: AppServer) -> None:
    runnable = RunnableData(
        id="rev-1",
        kind="app_revision",
        invocation_url=f"{app_server.url}/echo/run",
        configuration={"prefix": "x"},
    )

    await execute_http_runnable(runnable, {"country": "Chile"})

    assert app_server.state.bodies == [{"inputs": {"country": "Chile"}}]


async def test_execute_reports_failures_as_error_results(app_server: AppServer) -> None:
    runnable = RunnableData(
        id="rev-1", kind="app_revision", invocation_url=f"{app_server.url}/detail-error"
    )

    result = await execute_http_runnable(runnable, {})

    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None
    assert result.error.message.endswith("failed (HTTP 500): model exploded")
    assert result.error.status_code == 500


async def test_execute_without_invocation_url_is_an_error_result() -> None:
    result = await execute_http_runnable(RunnableData(id="rev-1", kind="app_revision"), {})

    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None
    assert "has no invocation URL" in result.error.message


async def test_dates_and_models_in_inputs_travel_as_json(app_server: AppServer) -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

    await invoke_http_runnable(
        f"{app_server.url}/echo/run", {"when": when, "config": Config(prefix="p")}
    )

    assert app_server.state.bodies == [
        {"inputs": {"when": "2025-01-02T03:04:05Z", "config": {"prefix": "p"}}}
    ]


async def test_inputs_that_cannot_be_json_are_refused_before_sending(app_server: AppServer) -> None:
    with pytest.raises(HttpRunnableError, match="cannot be sent as JSON") as caught:
        await invoke_http_runnable(f"{app_server.url}/echo/run", {"thing": object()})

    assert caught.value.reason == "invalid"
    assert app_server.state.bodies == []
