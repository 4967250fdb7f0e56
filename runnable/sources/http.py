"""HttpSource: entities behind a JSON REST collection, through httpx."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from runnable.sources.base import EntityData, check_entity_id, entity_document
from runnable.sources.errors import SourceBackendError


class HttpSource:
    """A `Source` over a REST collection: GET {base}/{id}, PUT {base}/{id}, GET {base}.

    GET {base}/{id} answering 404 means a missing entity (None). The collection may answer a
    JSON list or an object holding the list under `items` or `data`. Pass `client` to share
    an `httpx.AsyncClient` (its auth, headers, transport); otherwise the source makes one.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"HttpSource needs an http(s) base URL, got {base_url!r}")
        self.base_url = str(url).rstrip("/")
        # The label names the collection without credentials or query (it goes into errors).
        port = f":{url.port}" if url.port else ""
        self._label = f"HttpSource({url.scheme}://{url.host}{port}{url.path.rstrip('/')})"
        self._secret = url.password
        self._client = client
        self._owns_client = client is None
        self._headers = dict(headers or {})
        self._timeout = timeout

    def __repr__(self) -> str:
        return self._label

    async def get(self, id: str) -> EntityData | None:
        """Return the entity's document, or None when the server answers 404."""
        entity_id = check_entity_id(self._label, id)
        response = await self._request("GET", self._entity_url(entity_id), entity_id)
        if response.status_code == 404:
            return None
        self._check_status(response, entity_id)
        data = self._json(response, entity_id)
        if not isinstance(data, dict):
            raise SourceBackendError(
                self._label, entity_id, f"GET answered {type(data).__name__}, not a JSON object"
            )
        return {**data, "id": entity_id}

    async def save(self, id: str, data: Mapping[str, Any]) -> None:
        """PUT the entity's document."""
        document = entity_document(self._label, id, data)
        entity_id = document["id"]
        response = await self._request("PUT", self._entity_url(entity_id), entity_id, document)
        self._check_status(response, entity_id)

    async def list(self) -> list[EntityData]:
        """GET the collection."""
        response = await self._request("GET", self.base_url, None)
        self._check_status(response, None)
        data = self._json(response, None)
        if isinstance(data, dict):
            data = data.get("items", data.get("data"))
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise SourceBackendError(
                self._label, None, "the collection did not answer a JSON list of objects"
            )
        return data

    async def delete(self, id: str) -> None:
        """DELETE the entity (a 404 answer counts as already deleted)."""
        entity_id = check_entity_id(self._label, id)
        response = await self._request("DELETE", self._entity_url(entity_id), entity_id)
        if response.status_code != 404:
            self._check_status(response, entity_id)

    async def close(self) -> None:
        """Close the HTTP client if this source made it."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _entity_url(self, entity_id: str) -> str:
        # Quote everything, "/" included, so an id can never walk to another path.
        return f"{self.base_url}/{quote(entity_id, safe='')}"

    async def _request(
        self, method: str, url: str, entity_id: str | None, body: Any = None
    ) -> httpx.Response:
        if self._client is None:
            self._client = httpx.AsyncClient(headers=self._headers, timeout=self._timeout)
        try:
            return await self._client.request(method, url, json=body)
        except httpx.HTTPError as exc:
            reason = f"{method} failed: {type(exc).__name__}: {exc}"
            if self._secret:
                reason = reason.replace(self._secret, "***")
            raise SourceBackendError(self._label, entity_id, reason) from exc

    def _check_status(self, response: httpx.Response, entity_id: str | None) -> None:
        if not response.is_success:
            raise SourceBackendError(
                self._label,
                entity_id,
                f"{response.request.method} answered HTTP {response.status_code} "
                f"{response.reason_phrase}".rstrip(),
            )

    def _json(self, response: httpx.Response, entity_id: str | None) -> Any:
        try:
            return response.json()
        except ValueError:
            content_type = response.headers.get("content-type", "no content type")
            raise SourceBackendError(
                self._label, entity_id, f"the reply is not JSON ({content_type})"
            ) from None
