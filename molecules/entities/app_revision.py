"""App revisions: an app served over HTTP, known by its `uri` and run with its `ag_config`.

The app's interface comes from its OpenAPI document, fetched with httpx from the
service's root, `runtime_prefix(uri) + "/openapi.json"` (once per URL and store, shared by
every revision on that URL); a `route_path` picks the endpoints under it. An app served
by the current Agenta SDK has no document (or one listing `/invoke`, or none of the
route's endpoints): its interface comes from `POST .../inspect` instead, and it runs
through `/invoke`.
`execution_mode` picks the endpoint: "direct" runs `/test` (or `/invoke` with the config
as `parameters`: the caller sends the config), "deployed" runs `/run` (or `/invoke`
without it). `invocation_url` is computed from the uri, the route path, the mode and the
interface, never stored.

Input ports are the endpoint's inputs plus the template variables of the `ag_config`
prompts that the endpoint does not declare; with no interface, the variables alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Coroutine
from typing import Any, get_args

import httpx
from pydantic import BaseModel, ConfigDict, Field

from molecules.core.atom import Atom, Getter, Setter, atom, derived
from molecules.entities.app_interface import (
    JsonFetcher,
    config_variables,
    endpoint_ports,
    endpoint_url,
    endpoints_for_route,
    interface_input_ports,
    needs_inspect,
    parse_for_route,
    runtime_prefix,
)
from molecules.errors import EntityNotFoundError, MoleculeError
from molecules.ids import id_family
from molecules.molecule import Molecule, create_molecule, entity_id
from molecules.query import IDLE, QueryState
from molecules.source_molecule import SourceMolecule
from runnable.errors import OpenAPIError
from runnable.openapi import (
    ExecutionMode,
    OpenAPIEndpoint,
    OpenAPIInterface,
    invocation_url,
    parse_inspect,
)
from runnable.redaction import redact_text
from runnable.sources import Source
from runnable.types import HttpRequestFormat, RunnableData, RunnablePort, RunnableSchemas

__all__ = [
    "EXECUTION_MODES",
    "AppRevisionData",
    "AppRevisionMolecule",
    "app_revision_molecule",
    "app_revision_to_runnable",
    "config_variables",
    "endpoint_url",
    "runtime_prefix",
    "service_url",
]

EXECUTION_MODES: tuple[str, ...] = get_args(ExecutionMode)


class AppRevisionData(BaseModel):
    """One revision of an app: where it is served and the config it runs with.

    `references` name its deployed config (`{"application": {"slug": "capital"},
    "environment": {"slug": "production"}}`): a deployed run sends them instead of the
    config, and the app fetches the config they name.
    """

    model_config = ConfigDict(extra="allow")

    id: str
    name: str | None = None
    version: int | str | None = None
    slug: str | None = None
    uri: str | None = None
    route_path: str | None = None
    ag_config: dict[str, Any] = Field(default_factory=dict)
    references: dict[str, dict[str, Any]] = Field(default_factory=dict)


def service_url(revision: AppRevisionData) -> str | None:
    """Where the app's routes live: the runtime prefix, then the route path if any."""
    prefix = runtime_prefix(revision.uri)
    if prefix is None:
        return None
    route = (revision.route_path or "").strip("/")
    return f"{prefix}/{route}" if route else prefix


def _request(endpoint: OpenAPIEndpoint, mode: str, revision: AppRevisionData) -> HttpRequestFormat:
    request = endpoint.request(mode)
    if request.with_config or not revision.references:
        return request
    return request.model_copy(update={"references": revision.references})


def app_revision_to_runnable(
    revision: AppRevisionData, mode: str = "direct", endpoint: OpenAPIEndpoint | None = None
) -> RunnableData:
    """The revision as the bridge sees it; `endpoint` (from the interface) gives the schemas."""
    if endpoint is None:
        url, request = invocation_url(service_url(revision), mode), None
    else:
        url, request = endpoint_url(revision.uri, endpoint), _request(endpoint, mode, revision)
    return RunnableData(
        id=revision.id,
        kind="app_revision",
        name=revision.name,
        version=revision.version,
        slug=revision.slug,
        configuration=dict(revision.ag_config),
        invocation_url=url,
        schemas=endpoint.schemas if endpoint is not None else RunnableSchemas(),
        request=request,
    )


class AppRevisionMolecule(SourceMolecule[AppRevisionData]):
    """App revisions over a source, with their OpenAPI-derived selectors.

    Extra selectors: `runtime_prefix`, `route_path`, `service_url`, `execution_mode`
    (writable: `store.set(m.execution_mode(id), "deployed")`), `invocation_url`,
    `request` (the body format the endpoint takes, an `HttpRequestFormat`),
    `openapi` (a QueryState of the parsed interface; reading it fetches the document,
    then `/inspect` when there is none or it lists `/invoke`),
    `endpoint`, `input_ports`, `output_ports`, `schemas`, `is_chat`, `configuration`.
    Actions: `load_openapi(id)` (awaitable; returns the interface), `refresh_openapi(id)`.
    """

    def __init__(
        self,
        source: Source,
        *,
        http_client: httpx.AsyncClient | None = None,
        openapi_timeout: float = 10.0,
        **options: Any,
    ) -> None:
        transform = AppRevisionData.model_validate
        super().__init__("app_revision", source, transform=transform, **options)
        self.documents: Molecule[dict[str, Any]] = create_molecule(
            "openapi", JsonFetcher("GET", "openapi", http_client, openapi_timeout), where="the app"
        )
        self.inspections: Molecule[dict[str, Any]] = create_molecule(
            "inspect", JsonFetcher("POST", "inspect", http_client, openapi_timeout), where="the app"
        )
        self._mode = id_family(lambda _: atom("direct"))

        self.runtime_prefix = self.selector(
            "runtime_prefix",
            lambda get, key: runtime_prefix(r.uri) if (r := self._of(get, key)) else None,
        )
        self.route_path = self.selector(
            "route_path",
            lambda get, key: (r.route_path or "").strip("/") if (r := self._of(get, key)) else "",
        )
        self.service_url = self.selector(
            "service_url",
            lambda get, key: service_url(r) if (r := self._of(get, key)) else None,
        )
        self.execution_mode = id_family(self._make_mode)
        self._selectors["execution_mode"] = self.execution_mode
        self.invocation_url = self.selector("invocation_url", self._read_invocation_url)
        self.request = self.selector("request", self._read_request)
        self.openapi = self.selector("openapi", self._read_openapi)
        self.endpoint = self.selector("endpoint", self._read_endpoint)
        self.input_ports = self.selector("input_ports", self._read_input_ports)
        self.output_ports = self.selector(
            "output_ports",
            lambda get, key: (
                endpoint_ports(e.output_ports) if (e := get(self.endpoint(key))) else []
            ),
        )
        self.schemas = self.selector(
            "schemas",
            lambda get, key: e.schemas if (e := get(self.endpoint(key))) else RunnableSchemas(),
        )
        self.is_chat = self.selector(
            "is_chat",
            lambda get, key: bool(i.is_chat) if (i := get(self.openapi(key)).data) else False,
        )
        self.configuration = self.selector(
            "configuration",
            lambda get, key: dict(r.ag_config) if (r := self._of(get, key)) else None,
        )
        self.load_openapi = self.action("load_openapi", self._write_load_openapi)
        self.refresh_openapi = self.action("refresh_openapi", self._write_refresh_openapi)

    def _of(self, get: Getter, key: str) -> AppRevisionData | None:
        revision: AppRevisionData | None = get(self.data(key))
        return revision

    def _make_mode(self, key: str) -> Atom[str]:
        mode = self._mode(key)

        def write(get: Getter, set: Setter, value: str) -> None:
            if value not in EXECUTION_MODES:
                known = ", ".join(EXECUTION_MODES)
                raise MoleculeError(
                    self.name, key, f"unknown execution mode {value!r}; expected one of {known}"
                )
            set(mode, value)

        return derived(lambda get: get(mode), write, name=f"{self.name}.execution_mode({key})")

    def _document_url(self, get: Getter, key: str) -> str | None:
        revision = self._of(get, key)
        root = runtime_prefix(revision.uri) if revision is not None else None
        return None if root is None else f"{root}/openapi.json"

    def _inspect_url(self, get: Getter, key: str) -> str | None:
        url = get(self.service_url(key))
        return None if url is None else f"{url}/inspect"

    def _read_openapi(self, get: Getter, key: str) -> QueryState[OpenAPIInterface]:
        url = self._document_url(get, key)
        revision = self._of(get, key)
        if url is None or revision is None:
            if revision is None:
                return IDLE
            return QueryState("error", None, MoleculeError(self.name, key, "has no uri"))
        state: QueryState[dict[str, Any]] = get(self.documents.query(url))
        missing = isinstance(state.error, EntityNotFoundError) and state.data is None
        if state.data is None and not missing:
            return QueryState(state.status, None, state.error, state.fetched_at)
        interface = None
        if state.data is not None:
            try:
                interface = parse_for_route(state.data, revision.uri, revision.route_path)
            except OpenAPIError as exc:
                error = MoleculeError(self.name, key, f"the app's OpenAPI document: {exc}")
                return QueryState("error", None, error, state.fetched_at)
            if not needs_inspect(interface.endpoints):
                return QueryState(state.status, interface, state.error, state.fetched_at)
        return self._read_inspect(get, key, url)

    def _read_inspect(
        self, get: Getter, key: str, document_url: str
    ) -> QueryState[OpenAPIInterface]:
        url = self._inspect_url(get, key)
        assert url is not None
        state: QueryState[dict[str, Any]] = get(self.inspections.query(url))
        if isinstance(state.error, EntityNotFoundError) and state.data is None:
            shown = redact_text(f"neither {document_url} nor {url}")
            error = MoleculeError(self.name, key, f"not found: {shown} describes the app")
            return QueryState("error", None, error, state.fetched_at)
        if state.data is None:
            return QueryState(state.status, None, state.error, state.fetched_at)
        try:
            interface = parse_inspect(state.data, get(self.route_path(key)))
        except OpenAPIError as exc:
            error = MoleculeError(self.name, key, f"the app's /inspect answer: {exc}")
            return QueryState("error", None, error, state.fetched_at)
        return QueryState(state.status, interface, state.error, state.fetched_at)

    def _read_endpoint(self, get: Getter, key: str) -> OpenAPIEndpoint | None:
        interface = get(self.openapi(key)).data
        if interface is None:
            return None
        found: OpenAPIEndpoint | None = interface.endpoint(get(self.execution_mode(key)))
        return found

    def _read_invocation_url(self, get: Getter, key: str) -> str | None:
        revision = self._of(get, key)
        if revision is None:
            return None
        endpoint = get(self.endpoint(key))
        if endpoint is not None:
            return endpoint_url(revision.uri, endpoint)
        return invocation_url(service_url(revision), get(self.execution_mode(key)))

    def _read_request(self, get: Getter, key: str) -> HttpRequestFormat | None:
        endpoint = get(self.endpoint(key))
        revision = self._of(get, key)
        if endpoint is None or revision is None:
            return None
        return _request(endpoint, get(self.execution_mode(key)), revision)

    def _read_input_ports(self, get: Getter, key: str) -> list[RunnablePort]:
        revision = self._of(get, key)
        if revision is None:
            return []
        return interface_input_ports(get(self.endpoint(key)), revision.ag_config)

    def _write_load_openapi(
        self, get: Getter, set: Setter, key: Any
    ) -> Coroutine[Any, Any, OpenAPIInterface]:
        return self._openapi_after(get, set, entity_id(key), refresh=False)

    def _write_refresh_openapi(
        self, get: Getter, set: Setter, key: Any
    ) -> Coroutine[Any, Any, OpenAPIInterface]:
        return self._openapi_after(get, set, entity_id(key), refresh=True)

    async def _openapi_after(
        self, get: Getter, set: Setter, key: str, refresh: bool
    ) -> OpenAPIInterface:
        await set(self.load, key)
        url = self._document_url(get, key)
        inspect_url = self._inspect_url(get, key)
        if url is None or inspect_url is None:
            raise MoleculeError(self.name, key, "has no uri, so it has no OpenAPI document")
        # A missing document is not the end: the app may answer /inspect instead.
        with contextlib.suppress(EntityNotFoundError):
            await set(self.documents.refresh if refresh else self.documents.load, url)
        document = get(self.documents.query(url)).data
        revision = self._of(get, key)
        if document is None or (
            revision
            and needs_inspect(endpoints_for_route(document, revision.uri, revision.route_path))
        ):
            with contextlib.suppress(EntityNotFoundError):
                inspections = self.inspections
                await set(inspections.refresh if refresh else inspections.load, inspect_url)
        state: QueryState[OpenAPIInterface] = get(self.openapi(key))
        if state.error is not None:
            raise state.error
        assert state.data is not None
        return state.data


def app_revision_molecule(
    source: Source,
    *,
    http_client: httpx.AsyncClient | None = None,
    openapi_timeout: float = 10.0,
    **options: Any,
) -> AppRevisionMolecule:
    """The molecule of app revisions in `source`; OpenAPI documents are fetched with httpx."""
    return AppRevisionMolecule(
        source, http_client=http_client, openapi_timeout=openapi_timeout, **options
    )
