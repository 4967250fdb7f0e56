"""Call a runnable served over HTTP (an app revision or an HTTP evaluator).

The request body has one of three formats (`RequestFormat`), as the app's own interface
says:

- "inputs": `{"inputs": {...}}`, plus `"ag_config": {...}` when a config is given (the
  `/test` route of an Agenta-style service);
- "fields": the inputs as top-level fields, plus `ag_config` (the Agenta SDK up to 0.9x);
- "invoke": `{"data": {"inputs": {...}, "parameters": {...}}}` (the current SDK's
  `/invoke`; parameters only when a config is given).

The output is the answer's `data.outputs` (current SDK), else its `data` field, else the
whole answer; `trace_id` (or the `x-ag-trace-id` header) names the trace. Failures raise
`HttpRunnableError` with a message a person can act on: the service's own explanation
when it sent one (`status.message`, `detail.message`, validation errors...), "service
unreachable at URL (HTTP n)" when a proxy or server answered with an HTML page, the
timeout when there was no answer in time.
"""

from __future__ import annotations

import functools
import json
import ssl
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_jsonable_python

from runnable.errors import HttpRunnableError
from runnable.http.served import CONFIG_PARAMETER
from runnable.openapi import RequestFormat
from runnable.types import (
    ErrorInfo,
    ExecutionMetrics,
    ExecutionResult,
    ExecutionStatus,
    HttpRequestFormat,
    RunnableData,
    TraceInfo,
)

__all__ = [
    "HttpRunnableResult",
    "execute_http_runnable",
    "invoke_http_runnable",
    "reference_baggage",
    "request_body",
]

_DEFAULT_TIMEOUT = 60.0


class HttpRunnableResult(BaseModel):
    """What an HTTP runnable answered: output, trace, HTTP status and latency."""

    output: Any = None
    trace_id: str | None = None
    span_id: str | None = None
    status_code: int = 200
    latency_ms: float | None = None
    body: Any = None

    @property
    def trace(self) -> TraceInfo | None:
        """The trace the service reported, if any."""
        if self.trace_id is None and self.span_id is None:
            return None
        return TraceInfo(trace_id=self.trace_id, span_id=self.span_id)

    @property
    def metrics(self) -> ExecutionMetrics:
        """The call's latency as execution metrics."""
        return ExecutionMetrics(latency_ms=self.latency_ms)


def _display_url(url: str) -> str:
    """The URL without any user:password part (it may hold a secret)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return url
    if not parsed.userinfo:
        return url
    return str(parsed.copy_with(username=None, password=None))


def _format_validation_errors(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        if not isinstance(error, Mapping):
            parts.append(str(error))
            continue
        loc = [str(p) for p in error.get("loc", ()) if p != "body"]
        message = str(error.get("msg", error))
        parts.append(f"{'.'.join(loc)}: {message}" if loc else message)
    return "; ".join(parts)


def _detail_text(payload: Any) -> str | None:
    """The service's own explanation inside an error body, when it gave one."""
    if isinstance(payload, str):
        return payload or None
    if isinstance(payload, list):
        return _format_validation_errors(payload) or None
    if not isinstance(payload, Mapping):
        return None
    status = payload.get("status")
    if isinstance(status, Mapping) and isinstance(status.get("message"), str):
        return str(status["message"]) or None
    for key in ("detail", "error"):
        if key in payload:
            inner = payload[key]
            if isinstance(inner, Mapping):
                found = _detail_text(inner)
                return found if found else json.dumps(inner)[:300]
            return _detail_text(inner)
    for key in ("message", "msg"):
        if isinstance(payload.get(key), str) and payload[key]:
            return str(payload[key])
    return None


def _is_html(response: httpx.Response) -> bool:
    if "html" in response.headers.get("content-type", ""):
        return True
    return response.text.lstrip()[:15].lower().startswith(("<!doctype html", "<html"))


def _error_for_status(response: httpx.Response, url: str) -> HttpRunnableError:
    status = response.status_code if response.status_code >= 400 else 500
    shown = _display_url(url)
    if _is_html(response):
        return HttpRunnableError(
            f"service unreachable at {shown} (HTTP {status})",
            url=shown,
            reason="unreachable",
            status_code=status,
        )
    try:
        payload: Any = response.json()
    except ValueError:
        payload = response.text.strip()
    status = _status_error(payload) or status
    detail = _detail_text(payload) or (payload[:300] if isinstance(payload, str) else None)
    explanation = detail or response.reason_phrase or "no details"
    return HttpRunnableError(
        f"{shown} failed (HTTP {status}): {explanation}",
        url=shown,
        reason="http",
        status_code=status,
        detail=payload,
    )


def _timeout_seconds(timeout: float | httpx.Timeout) -> str:
    value = timeout.read if isinstance(timeout, httpx.Timeout) else timeout
    return f"{value:g}s" if value is not None else "the timeout"


async def _post(
    client: httpx.AsyncClient,
    url: str,
    payload: dict[str, Any],
    headers: Mapping[str, str] | None,
    timeout: float | httpx.Timeout,
) -> httpx.Response:
    shown = _display_url(url)
    try:
        return await client.post(url, json=payload, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        message = f"timed out after {_timeout_seconds(timeout)} waiting for {shown}"
        raise HttpRunnableError(message, url=shown, reason="timeout") from None
    except httpx.TransportError as exc:
        why = "connection refused" if isinstance(exc, httpx.ConnectError) else type(exc).__name__
        raise HttpRunnableError(
            f"service unreachable at {shown} ({why})", url=shown, reason="unreachable"
        ) from None


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~25 ms of CPU: once per process, not once per call.
    return httpx.create_ssl_context()


def request_body(
    inputs: Mapping[str, Any],
    ag_config: Mapping[str, Any] | None = None,
    request_format: RequestFormat = "inputs",
    references: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The JSON body that carries `inputs` (and `ag_config`) in `request_format`.

    `references` travel in the body only for "invoke"; the other formats send them as
    baggage (`reference_baggage`).
    """
    if request_format == "invoke":
        data: dict[str, Any] = {"inputs": dict(inputs)}
        if ag_config is not None:
            data["parameters"] = dict(ag_config)
        body: dict[str, Any] = {"data": data}
        if references:
            body["references"] = {k: dict(v) for k, v in references.items()}
        return body
    payload = dict(inputs) if request_format == "fields" else {"inputs": dict(inputs)}
    if ag_config is not None:
        payload[CONFIG_PARAMETER] = dict(ag_config)
    return payload


def reference_baggage(references: Mapping[str, Mapping[str, Any]]) -> str:
    """W3C baggage naming the references (`ag.refs.application.slug=...`), as 0.9x SDKs read."""
    entries = [
        f"ag.refs.{kind}.{field}={quote(str(value), safe='')}"
        for kind, reference in references.items()
        for field, value in reference.items()
        if value is not None
    ]
    return ",".join(entries)


def _read_output(body: Any) -> Any:
    if not isinstance(body, Mapping):
        return body
    data = body.get("data", body)
    if isinstance(data, Mapping) and "outputs" in data and "status" in body:
        return data["outputs"]
    return data


def _status_error(body: Any) -> int | None:
    """The error code of an answer whose `status` says it failed (HTTP 200 or not)."""
    status = body.get("status") if isinstance(body, Mapping) else None
    code = status.get("code") if isinstance(status, Mapping) else None
    return code if isinstance(code, int) and code >= 400 else None


async def invoke_http_runnable(
    url: str,
    inputs: Mapping[str, Any],
    *,
    ag_config: Mapping[str, Any] | None = None,
    request_format: RequestFormat = "inputs",
    references: Mapping[str, Mapping[str, Any]] | None = None,
    client: httpx.AsyncClient | None = None,
    timeout: float | httpx.Timeout = _DEFAULT_TIMEOUT,
    headers: Mapping[str, str] | None = None,
) -> HttpRunnableResult:
    """POST `inputs` (and `ag_config`, if given) to `url` in `request_format`; read the answer.

    Raises `HttpRunnableError` on a timeout, an unreachable service or an error status
    (an HTTP one, or a `status.code` of 400 or more in the answer).
    Cancelling the awaiting task closes the request.
    """
    payload = request_body(inputs, ag_config, request_format, references)
    if references and request_format != "invoke":
        headers = {**(headers or {}), "baggage": reference_baggage(references)}
    try:
        # Models, dates and UUIDs in inputs travel as their JSON forms.
        payload = to_jsonable_python(payload)
    except PydanticSerializationError as exc:
        shown = _display_url(url)
        raise HttpRunnableError(
            f"inputs for {shown} cannot be sent as JSON: {exc}", url=shown, reason="invalid"
        ) from None
    started = time.perf_counter()
    if client is None:
        async with httpx.AsyncClient(verify=_ssl_context()) as own_client:
            response = await _post(own_client, url, payload, headers, timeout)
    else:
        response = await _post(client, url, payload, headers, timeout)
    latency_ms = (time.perf_counter() - started) * 1000
    if response.status_code >= 400:
        raise _error_for_status(response, url)
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if _status_error(body) is not None:
        raise _error_for_status(response, url)
    trace_id = body.get("trace_id") if isinstance(body, Mapping) else None
    span_id = body.get("span_id") if isinstance(body, Mapping) else None
    trace_id = trace_id or response.headers.get("x-ag-trace-id")
    span_id = span_id or response.headers.get("x-ag-span-id")
    return HttpRunnableResult(
        output=_read_output(body),
        trace_id=str(trace_id) if trace_id is not None else None,
        span_id=str(span_id) if span_id is not None else None,
        status_code=response.status_code,
        latency_ms=latency_ms,
        body=body,
    )


async def execute_http_runnable(
    runnable: RunnableData,
    inputs: Mapping[str, Any],
    *,
    client: httpx.AsyncClient | None = None,
    timeout: float | httpx.Timeout = _DEFAULT_TIMEOUT,
    headers: Mapping[str, str] | None = None,
) -> ExecutionResult:
    """Run an HTTP runnable and report it as an `ExecutionResult` (errors included, not raised).

    `runnable.request` says the body's format and whether the `configuration` goes along
    (as `ag_config`, or `parameters` for `/invoke`); without it the body is
    `{"inputs": ...}` and the configuration goes to a `/test` route only.
    Cancellation is not an outcome: it propagates to the caller.
    """
    started_at = datetime.now(UTC)
    if not runnable.invocation_url:
        return ExecutionResult(
            status=ExecutionStatus.ERROR,
            started_at=started_at,
            completed_at=datetime.now(UTC),
            error=ErrorInfo(
                message=f"{runnable.kind} {runnable.id!r} has no invocation URL",
                type="HttpRunnableError",
            ),
        )
    request = runnable.request
    if request is None:
        is_test_route = runnable.invocation_url.rstrip("/").endswith("/test")
        request = HttpRequestFormat(body="inputs", with_config=is_test_route)
    try:
        result = await invoke_http_runnable(
            runnable.invocation_url,
            inputs,
            ag_config=runnable.configuration if request.with_config else None,
            request_format=request.body,
            references=None if request.with_config else request.references,
            client=client,
            timeout=timeout,
            headers=headers,
        )
    except HttpRunnableError as exc:
        return ExecutionResult(
            status=ExecutionStatus.ERROR,
            started_at=started_at,
            completed_at=datetime.now(UTC),
            error=ErrorInfo(
                message=exc.message,
                type=type(exc).__name__,
                code=_failure_code(exc.detail),
                status_code=exc.status_code,
                details=exc.detail,
            ),
            trace=_error_trace(exc.detail),
        )
    return ExecutionResult(
        status=ExecutionStatus.SUCCESS,
        started_at=started_at,
        completed_at=datetime.now(UTC),
        output=result.output,
        trace=result.trace,
        metrics=result.metrics,
    )


def _failure_code(payload: Any) -> str | None:
    """The service's code for the failure: `status.failure_code` (a slug), else `status.code`."""
    status = payload.get("status") if isinstance(payload, Mapping) else None
    if not isinstance(status, Mapping):
        return None
    for key in ("failure_code", "code"):
        code = status.get(key)
        if isinstance(code, str | int) and not isinstance(code, bool) and code != "":
            return str(code)
    return None


def _error_trace(payload: Any) -> TraceInfo | None:
    """The trace of a failed call, from the error body (top level or inside `detail`)."""
    if not isinstance(payload, Mapping):
        return None
    for holder in (payload, payload.get("detail")):
        if isinstance(holder, Mapping) and holder.get("trace_id"):
            span = holder.get("span_id")
            return TraceInfo(trace_id=str(holder["trace_id"]), span_id=str(span) if span else None)
    return None
