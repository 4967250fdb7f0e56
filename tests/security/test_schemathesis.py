"""Both servers driven by schemathesis from their own OpenAPI documents.

Requests valid and invalid by each document (positive and negative generation) go to
servers on 127.0.0.1: no answer is a 5xx, every error is a JSON `{"detail": ...}`, and a
refused PATCH leaves the runnable as it was. `max_examples` is modest: the suite stays
fast; the hostile-body tests cover the extremes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from schemathesis import GenerationMode

from runnable.http.service import create_service
from runnable.http.serving import serve_in_thread
from tests.security.bridge_server import (
    TIMEOUT,
    AppSlot,
    BridgeServer,
    entity,
    fresh_bridge_server,
    serve_slot,
)
from tests.servers.fixtures import ChatServer

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
KNOWN_REFS = ["prompt:p1", "p2", "prompt:missing", "nokind:x", ":"]


def _strategy(schema: Any) -> st.SearchStrategy[Any]:
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    return st.one_of(*(schema.as_strategy(mode) for mode in modes))


def _assert_answer(response: Any) -> None:
    assert response.status_code < 500, (response.request.method, response.request.url)
    if response.status_code >= 400:
        assert response.headers["content-type"][0].startswith("application/json")
        assert "detail" in response.json()


@pytest.fixture(scope="module")
def slot() -> Iterator[tuple[str, AppSlot]]:
    yield from serve_slot()


@pytest.fixture
def server(slot: tuple[str, AppSlot], chat_server: ChatServer) -> BridgeServer:
    return fresh_bridge_server(*slot, chat_server.base_url)


def test_the_bridge_server_answers_no_5xx_to_requests_from_its_document(
    server: BridgeServer,
) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    # A watch never ends by itself; test_bridge_server_bodies keeps watches open instead.
    schema = schema.exclude(path_regex=r".*/watch$")

    @EXAMPLES
    @given(case=_strategy(schema), ref=st.sampled_from([None, *KNOWN_REFS]))
    def run(case: Any, ref: str | None) -> None:
        if ref is not None and "ref" in (case.path_parameters or {}):
            case.path_parameters = {"ref": ref}
        watched = case.method == "PATCH" and ref in ("prompt:p1", "p2")
        before = entity(server.url, ref) if watched else None
        response = case.call(base_url=server.url, timeout=TIMEOUT)
        _assert_answer(response)
        if watched and response.status_code >= 400:
            assert entity(server.url, ref) == before

    run()


class Tone(BaseModel):
    """The configuration of the served greeter."""

    prefix: str = "Hi"
    shout: bool = False


DEFAULT_TONE = Tone()


def greet(name: str, times: int = 1, ag_config: Tone = DEFAULT_TONE) -> str:
    """Greet someone, a few times at most."""
    text = f"{ag_config.prefix} {name}"
    return (text.upper() if ag_config.shout else text) * max(0, min(times, 3))


def score(output: str, correct_answer: str, weights: dict[str, float] | None = None) -> float:
    """1.0 when the output is the correct answer, else 0.0."""
    return 1.0 if output.strip() == correct_answer.strip() else 0.0


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    with serve_in_thread(create_service(greet, score)) as url:
        yield url


@pytest.mark.parametrize("document", ["/openapi.json", "/greet/openapi.json"])
def test_the_service_answers_no_5xx_to_requests_from_its_document(
    service_url: str, document: str
) -> None:
    schema = schemathesis.openapi.from_url(f"{service_url}{document}")
    base = service_url + document.removesuffix("/openapi.json")

    @EXAMPLES
    @given(case=_strategy(schema))
    def run(case: Any) -> None:
        _assert_answer(case.call(base_url=base, timeout=TIMEOUT))

    run()
