"""HttpSource: entities behind a JSON REST collection, through httpx."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from runnable.errors import ConflictError
from runnable.sources.base import (
    EntityData,
    Versioned,
    check_entity_id,
    check_expected_version,
    entity_document,
)
from runnable.sources.errors import SourceBackendError

_NUMERIC_ETAG = re.compile(r'(?:W/)?"?(\d+)"?')


def etag_version(etag: str | None) -> int | None:
    """The version an ETag carries (`"3"` or `W/"3"`), or None for any other ETag."""
    found = _NUMERIC_ETAG.fullmatch(etag.strip()) if etag else None
    return int(found.group(1)) if found else None


def version_etag(version: int) -> str:
    """The (strong) ETag of `version`."""
    return f'"{version}"'


class HttpSource:
    """A `Source` over a REST collection: GET {base}/{id}, PUT {base}/{id}, GET {base}.

    GET {base}/{id} answering 404 means a missing entity (None). The collection may answer a
    JSON list or an object holding the list under `items` or `data`. Pass `client` to share
    an `httpx.AsyncClient` (its auth, headers, transport); otherwise the source makes one.
    Versions are numeric ETags: a save on a version sends `If-Match`, and a 409 or 412
    answer is a ConflictError (the current version read from the answer's ETag or its JSON
    `current_version`).
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
        found = await self.get_versioned(id)
        return None if found is None else found.data

    async def get_versioned(self, id: str) -> Versioned | None:
        """Return the entity's document and the version its ETag names, or None on 404."""
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
        return Versioned({**data, "id": entity_id}, etag_version(response.headers.get("etag")))

    async def save(
        self, id: str, data: Mapping[str, Any], *, version: int | None = None
    ) -> int | None:
        """PUT the entity's document (with `If-Match` when `version` is given); the new version."""
        document = entity_document(self._label, id, data)
        entity_id = document["id"]
        expected = check_expected_version(self._label, entity_id, version)
        headers = {} if expected is None else {"If-Match": version_etag(expected)}
        url = self._entity_url(entity_id)
        response = await self._request("PUT", url, entity_id, document, headers)
        if expected is not None and response.status_code in (409, 412):
            raise ConflictError(self._label, entity_id, expected, self._current(response))
        self._check_status(response, entity_id)
        return etag_version(response.headers.get("etag"))

    async def list_versioned(self) -> list[Versioned]:
        """GET the collection; versions are None (a list carries no ETags: GET an entity)."""
        return [Versioned(item, None) for item in await self.list()]

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
        self,
        method: str,
        url: str,
        entity_id: str | None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        if self._client is None:
            self._client = httpx.AsyncClient(headers=self._headers, timeout=self._timeout)
        try:
            return await self._client.request(method, url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            reason = f"{method} failed: {type(exc).__name__}: {exc}"
            if self._secret:
                reason = reason.replace(self._secret, "***")
            raise SourceBackendError(self._label, entity_id, reason) from exc

    def _current(self, response: httpx.Response) -> int | None:
        """The current version a conflict answer names (ETag first, then its JSON body)."""
        version = etag_version(response.headers.get("etag"))
        if version is None:
            try:
                body = response.json()
            except ValueError:
                return None
            named = body.get("current_version") if isinstance(body, dict) else None
            version = named if type(named) is int else None
        return version

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
