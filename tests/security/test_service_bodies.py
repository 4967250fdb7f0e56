"""Hostile requests against `runnable.service` apps on 127.0.0.1: JSON 4xx, never a 5xx
the client cannot read; a function's failure is a JSON 500 its document lists."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from runnable.http.service import create_service
from runnable.http.serving import serve_in_thread
from tests.security.hostile import HOSTILE

SECRET_URL = "https://user:hunter2-secret@db.example.com/x"


def echo(text: str, ratio: float = 1.0) -> dict[str, object]:
    """Give back what it was given."""
    return {"text": text, "ratio": ratio}


def not_a_number(x: float) -> float:
    """A function whose output JSON cannot hold."""
    return float("nan") * x


def fails() -> str:
    """A function that fails with a credential in its message."""
    raise RuntimeError(f"cannot reach {SECRET_URL}")


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_in_thread(create_service(echo, not_a_number, fails)) as base:
        yield base


@pytest.mark.parametrize(("name", "body", "content_type"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_body_is_a_json_4xx(url: str, name: str, body: bytes, content_type: str) -> None:
    response = httpx.post(
        f"{url}/echo/run", content=body, headers={"content-type": content_type}, timeout=10
    )
    assert 400 <= response.status_code < 500, (name, response.status_code, response.text[:200])
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body"]


def test_a_nan_string_is_not_a_float_input(url: str) -> None:
    response = httpx.post(f"{url}/echo/run", json={"inputs": {"text": "a", "ratio": "nan"}})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "inputs", "ratio"]


def test_an_output_json_cannot_hold_is_a_json_500(url: str) -> None:
    response = httpx.post(f"{url}/not_a_number/run", json={"inputs": {"x": 1.0}})
    assert response.status_code == 500
    assert response.json()["detail"]["type"] == "OutputNotJSON"


def test_a_failing_function_is_a_json_500_without_its_secrets(url: str) -> None:
    response = httpx.post(f"{url}/fails/run", json={"inputs": {}})
    assert response.status_code == 500
    assert response.json()["detail"]["type"] == "RuntimeError"
    assert "hunter2" not in response.text


def test_unknown_routes_and_methods_answer_json(url: str) -> None:
    missing = httpx.get(f"{url}/nowhere")
    wrong = httpx.get(f"{url}/echo/run")
    assert (missing.status_code, wrong.status_code) == (404, 405)
    assert missing.json()["detail"] and wrong.json()["detail"]


def test_the_document_lists_every_error_answer(url: str) -> None:
    document = httpx.get(f"{url}/echo/openapi.json").json()
    responses = document["paths"]["/run"]["post"]["responses"]
    assert {"200", "413", "415", "422", "500"} <= set(responses)
