"""Reading an app's interface over HTTP: its document or `/inspect`, its URLs and its ports.

Pure helpers and the one fetcher that `molecules.entities.app_revision` builds its
selectors from. `runtime_prefix(uri)` is the service's root; a route's endpoints are found
in the root document (`parse_for_route`); `endpoint_url` turns an endpoint's path into the
URL to call; `interface_input_ports` adds the `ag_config` prompts' template variables to
the ports the interface declares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import httpx

from molecules.errors import EntityLoadError
from runnable.chat.request import prompt_variables
from runnable.errors import OpenAPIError, RunnableError, SchemaError
from runnable.openapi import ENDPOINT_NAMES, OpenAPIEndpoint, OpenAPIInterface, parse_openapi
from runnable.ports import input_ports_from_variables
from runnable.redaction import redact_text
from runnable.types import RunnablePort

__all__ = [
    "JsonFetcher",
    "config_variables",
    "endpoint_ports",
    "endpoint_url",
    "endpoints_for_route",
    "interface_input_ports",
    "needs_inspect",
    "parse_for_route",
    "runtime_prefix",
]


def runtime_prefix(uri: str | None) -> str | None:
    """The service's base URL: the uri without a trailing slash or endpoint (`/test`...)."""
    if not uri or not uri.strip():
        return None
    base = uri.strip().rstrip("/")
    for name in sorted(ENDPOINT_NAMES, key=len, reverse=True):
        if base.endswith("/" + name):
            return base[: -len(name) - 1]
    return base


def endpoint_url(uri: str | None, endpoint: OpenAPIEndpoint) -> str | None:
    """The URL of an endpoint the app's document (or /inspect) lists.

    A path under the uri's own path is absolute (a runtime prefix the app knows about);
    any other path is relative to the runtime prefix (a proxy strips it).
    """
    root = runtime_prefix(uri)
    if root is None:
        return None
    url = httpx.URL(root)
    base_path = url.path.rstrip("/")
    if base_path and endpoint.path.startswith(base_path + "/"):
        return str(url.copy_with(path=endpoint.path))
    return root + endpoint.path


def parse_for_route(
    document: Mapping[str, Any], uri: str | None, route_path: str | None
) -> OpenAPIInterface:
    """The document's endpoints for the route (auto-detected without one).

    A route's endpoints may sit at `/route/...`, or around the uri's own path
    (`/prefix/route/...`, or `/route/prefix/...` as the 0.9x SDK writes them).
    """
    route = (route_path or "").strip("/")
    if not route:
        return parse_openapi(document)
    prefix = httpx.URL(runtime_prefix(uri) or "").path.strip("/")
    candidates = [route] + ([f"{prefix}/{route}", f"{route}/{prefix}"] if prefix else [])
    interface = parse_openapi(document, route_prefix=candidates[0])
    for candidate in candidates[1:]:
        if interface.endpoints:
            break
        interface = parse_openapi(document, route_prefix=candidate)
    return interface


def endpoints_for_route(
    document: Mapping[str, Any], uri: str | None, route_path: str | None
) -> dict[str, OpenAPIEndpoint]:
    """The route's endpoints by name; none for a document that cannot be read."""
    try:
        return dict(parse_for_route(document, uri, route_path).endpoints)
    except OpenAPIError:
        return {}


def needs_inspect(endpoints: Mapping[str, OpenAPIEndpoint]) -> bool:
    """True when a document's endpoints do not describe the app: none, or only `/invoke`."""
    return not endpoints or "invoke" in endpoints


def config_variables(ag_config: Mapping[str, Any] | None) -> list[str]:
    """The template variables of the prompts in an `ag_config`, in order of appearance.

    A prompt is any top-level value with a `messages` list; one whose templates cannot be
    read adds nothing.
    """
    names: dict[str, None] = {}
    for value in (ag_config or {}).values():
        if isinstance(value, Mapping) and isinstance(value.get("messages"), list):
            try:
                names.update(dict.fromkeys(prompt_variables(value)))
            except (RunnableError, ValueError):
                continue
    return list(names)


def endpoint_ports(read: Callable[[], list[RunnablePort]]) -> list[RunnablePort]:
    """Ports from an endpoint; a schema the ports cannot be read from gives none."""
    try:
        return read()
    except SchemaError:
        return []


def interface_input_ports(
    endpoint: OpenAPIEndpoint | None, ag_config: Mapping[str, Any] | None
) -> list[RunnablePort]:
    """The endpoint's input ports, then the config's template variables it does not declare."""
    declared = endpoint_ports(endpoint.input_ports) if endpoint is not None else []
    known = {p.key for p in declared}
    if endpoint is not None and endpoint.messages_schema is not None:
        known.add("messages")
    extra = [v for v in config_variables(ag_config) if v not in known]
    return declared + input_ports_from_variables(extra)


class JsonFetcher:
    """GET (a document) or POST `{}` (an `/inspect`) to a URL; its JSON object, None if absent.

    404 (and 405: a route that does not take POST) mean absent. Every other failure is an
    `EntityLoadError` naming `what`, the URL without any password, and what happened.
    """

    def __init__(
        self,
        method: Literal["GET", "POST"],
        what: str,
        client: httpx.AsyncClient | None,
        timeout: float,
    ) -> None:
        self.method = method
        self.what = what
        self.client = client
        self.timeout = timeout

    async def _send(self, client: httpx.AsyncClient, url: str) -> httpx.Response:
        if self.method == "GET":
            return await client.get(url, timeout=self.timeout)
        return await client.post(url, json={}, timeout=self.timeout)

    async def __call__(self, url: str) -> dict[str, Any] | None:
        shown = redact_text(url)  # a uri may carry user:password; errors never do
        try:
            if self.client is not None:
                response = await self._send(self.client, url)
            else:
                async with httpx.AsyncClient() as client:
                    response = await self._send(client, url)
        except httpx.HTTPError as exc:
            why = "connection refused" if isinstance(exc, httpx.ConnectError) else str(exc)
            raise EntityLoadError(
                self.what,
                shown,
                redact_text(f"the app is unreachable ({type(exc).__name__}: {why})"),
            ) from None
        if response.status_code in (404, 405):
            return None
        if not response.is_success:
            raise EntityLoadError(self.what, shown, f"the app answered HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise EntityLoadError(self.what, shown, "the app's answer is not JSON") from None
        if not isinstance(answer, dict):
            raise EntityLoadError(self.what, shown, "the app's answer is not a JSON object")
        return answer
