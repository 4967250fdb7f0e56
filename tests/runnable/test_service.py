"""create_service: plain functions served over real HTTP with /run, /test and /openapi.json."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal

import httpx
import pytest
from pydantic import BaseModel, Field

from runnable.errors import ServiceDefinitionError
from runnable.http.served import ServedFunction
from runnable.http.service import create_service
from runnable.http.serving import serve_in_thread


class Config(BaseModel):
    greeting: str = "Hello"
    temperature: float = Field(default=0.5, ge=0, le=2)


DEFAULT_CONFIG = Config()


class Person(BaseModel):
    name: str
    age: int | None = None


class Greeting(BaseModel):
    text: str
    length: int


def greet(person: Person, punctuation: str = "!", ag_config: Config = DEFAULT_CONFIG) -> Greeting:
    """Greet a person with the configured greeting."""
    text = f"{ag_config.greeting}, {person.name}{punctuation}"
    return Greeting(text=text, length=len(text))


async def shout(text: str, times: int = 1) -> str:
    """Shout text (an async function)."""
    await asyncio.sleep(0)
    return " ".join([text.upper()] * times)


def collect_extras(question: str, **extra: Any) -> dict[str, Any]:
    """Receive inputs the signature does not name."""
    return {"question": question, "extra": extra}


def explode(reason: str) -> str:
    """Always fail."""
    raise RuntimeError(f"cannot work: {reason}")


def thread_of_sync() -> int:
    return threading.get_ident()


async def thread_of_async() -> int:
    return threading.get_ident()


@pytest.fixture(scope="module")
def single_url() -> Iterator[str]:
    with serve_in_thread(create_service(greet, title="Greeter")) as url:
        yield url


@pytest.fixture(scope="module")
def multi_url() -> Iterator[str]:
    app = create_service(
        shout,
        collect_extras,
        explode,
        {"sync_thread": thread_of_sync, "async_thread": thread_of_async},
        title="Tools",
    )
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def test_run_returns_the_output_as_data_with_a_trace_id(
    http: httpx.AsyncClient, single_url: str
) -> None:
    response = await http.post(f"{single_url}/run", json={"inputs": {"person": {"name": "Ada"}}})

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"text": "Hello, Ada!", "length": 11}
    assert isinstance(body["trace_id"], str) and body["trace_id"]


async def test_each_call_gets_its_own_trace_id(http: httpx.AsyncClient, single_url: str) -> None:
    payload = {"inputs": {"person": {"name": "Ada"}}}
    first = (await http.post(f"{single_url}/run", json=payload)).json()
    second = (await http.post(f"{single_url}/run", json=payload)).json()

    assert first["trace_id"] != second["trace_id"]


async def test_test_route_uses_the_requests_ag_config(
    http: httpx.AsyncClient, single_url: str
) -> None:
    payload = {"inputs": {"person": {"name": "Ada"}}, "ag_config": {"greeting": "Bonjour"}}

    response = await http.post(f"{single_url}/test", json=payload)

    assert response.json()["data"]["text"] == "Bonjour, Ada!"


async def test_run_route_ignores_a_posted_ag_config_and_uses_the_default(
    http: httpx.AsyncClient, single_url: str
) -> None:
    payload = {"inputs": {"person": {"name": "Ada"}}, "ag_config": {"greeting": "Bonjour"}}

    response = await http.post(f"{single_url}/run", json=payload)

    assert response.json()["data"]["text"] == "Hello, Ada!"


async def test_missing_input_is_a_422_naming_it(http: httpx.AsyncClient, single_url: str) -> None:
    response = await http.post(f"{single_url}/run", json={"inputs": {"punctuation": "?"}})

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "inputs", "person"], "msg": "Field required", "type": "missing"}
    ]


async def test_every_bad_input_is_named_with_its_path(
    http: httpx.AsyncClient, single_url: str
) -> None:
    payload = {"inputs": {"person": {"name": "Ada", "age": "old"}, "punctuation": 3}}

    response = await http.post(f"{single_url}/run", json=payload)

    assert response.status_code == 422
    locs = [error["loc"] for error in response.json()["detail"]]
    assert locs == [["body", "inputs", "person", "age"], ["body", "inputs", "punctuation"]]


async def test_bad_ag_config_is_a_422_naming_the_field(
    http: httpx.AsyncClient, single_url: str
) -> None:
    payload = {"inputs": {"person": {"name": "Ada"}}, "ag_config": {"temperature": 9}}

    response = await http.post(f"{single_url}/test", json=payload)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "ag_config", "temperature"]


@pytest.mark.parametrize(
    ("content", "loc"),
    [(b"{not json", ["body"]), (b"[1, 2]", ["body"]), (b'{"inputs": [1]}', ["body", "inputs"])],
)
async def test_malformed_bodies_are_422(
    http: httpx.AsyncClient, single_url: str, content: bytes, loc: list[str]
) -> None:
    response = await http.post(
        f"{single_url}/run", content=content, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


async def test_async_functions_are_awaited(http: httpx.AsyncClient, multi_url: str) -> None:
    response = await http.post(
        f"{multi_url}/shout/run", json={"inputs": {"text": "hi", "times": 2}}
    )

    assert response.json()["data"] == "HI HI"


async def test_sync_functions_run_off_the_event_loop_thread(
    http: httpx.AsyncClient, multi_url: str
) -> None:
    sync = (await http.post(f"{multi_url}/sync_thread/run", json={"inputs": {}})).json()
    loop = (await http.post(f"{multi_url}/async_thread/run", json={"inputs": {}})).json()

    assert sync["data"] != loop["data"]


async def test_unnamed_inputs_are_ignored_or_go_to_kwargs(
    http: httpx.AsyncClient, multi_url: str
) -> None:
    ignored = await http.post(
        f"{multi_url}/shout/run", json={"inputs": {"text": "a", "correct_answer": "A"}}
    )
    collected = await http.post(
        f"{multi_url}/collect_extras/run",
        json={"inputs": {"question": "q", "correct_answer": "A"}},
    )

    assert ignored.json()["data"] == "A"
    assert collected.json()["data"] == {"question": "q", "extra": {"correct_answer": "A"}}


async def test_a_failing_function_is_a_500_with_its_message(
    http: httpx.AsyncClient, multi_url: str
) -> None:
    response = await http.post(f"{multi_url}/explode/run", json={"inputs": {"reason": "tired"}})

    assert response.status_code == 500
    assert response.json()["detail"] == {"message": "cannot work: tired", "type": "RuntimeError"}


async def test_openapi_describes_inputs_config_and_output_like_an_agenta_service(
    http: httpx.AsyncClient, single_url: str
) -> None:
    document = (await http.get(f"{single_url}/openapi.json")).json()

    assert document["info"]["title"] == "Greeter"
    assert set(document["paths"]) == {"/run", "/test"}
    test_op = document["paths"]["/test"]["post"]
    body = test_op["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"inputs", "ag_config"}
    inputs = body["properties"]["inputs"]
    assert inputs["required"] == ["person"]
    assert inputs["properties"]["person"]["$ref"] == "#/components/schemas/Person"
    assert inputs["properties"]["punctuation"] == {
        "title": "Punctuation",
        "type": "string",
        "default": "!",
    }
    config = body["properties"]["ag_config"]
    assert config["$ref"] == "#/components/schemas/Config"
    assert config["default"] == {"greeting": "Hello", "temperature": 0.5}
    run_body = document["paths"]["/run"]["post"]["requestBody"]["content"]["application/json"]
    assert set(run_body["schema"]["properties"]) == {"inputs"}
    response = test_op["responses"]["200"]["content"]["application/json"]["schema"]
    assert response["properties"]["data"] == {"$ref": "#/components/schemas/Greeting"}
    schemas = document["components"]["schemas"]
    assert schemas["Person"]["required"] == ["name"]
    assert schemas["Greeting"]["properties"]["length"]["type"] == "integer"
    assert test_op["summary"] == "Greet a person with the configured greeting."


async def test_several_functions_each_live_under_their_name_with_their_own_document(
    http: httpx.AsyncClient, multi_url: str
) -> None:
    whole = (await http.get(f"{multi_url}/openapi.json")).json()
    own = (await http.get(f"{multi_url}/shout/openapi.json")).json()

    assert {"/shout/run", "/shout/test", "/sync_thread/run"} <= set(whole["paths"])
    assert set(own["paths"]) == {"/run", "/test"}
    schema = own["paths"]["/test"]["post"]["requestBody"]["content"]["application/json"]
    inputs = schema["schema"]["properties"]["inputs"]
    assert inputs["properties"]["times"] == {"title": "Times", "type": "integer", "default": 1}
    data = own["paths"]["/run"]["post"]["responses"]["200"]["content"]["application/json"]
    assert data["schema"]["properties"]["data"] == {"type": "string"}


async def test_health_answers_ok(http: httpx.AsyncClient, single_url: str) -> None:
    assert (await http.get(f"{single_url}/health")).json() == {"status": "ok"}


def needs_config(text: str, ag_config: Config) -> str:
    return text


class Strict(BaseModel):
    model: str


def needs_strict_config(text: str, ag_config: Strict) -> str:
    return text


def star_args(*texts: str) -> str:
    return ""


def positional(text: str, /) -> str:
    return text


def generator(text: str) -> Iterator[str]:
    yield text


def literal(choice: Literal["a", "b"]) -> str:
    return choice


def test_config_without_default_uses_an_all_default_model() -> None:
    assert ServedFunction.of(needs_config).default_config == Config()


@pytest.mark.parametrize(
    ("functions", "problem"),
    [
        ((needs_strict_config,), "'ag_config' needs a default"),
        ((star_args,), "'texts'"),
        ((positional,), "positional-only"),
        ((generator,), "generator"),
        ((shout, shout), "two functions are named 'shout'"),
        (({"a b": shout},), "cannot be a route prefix"),
        ((), "at least one function"),
        (("not a function",), "not callable"),
    ],
)
def test_functions_that_cannot_be_served_are_refused_with_the_reason(
    functions: tuple[Any, ...], problem: str
) -> None:
    with pytest.raises(ServiceDefinitionError, match=problem):
        create_service(*functions)


async def test_literal_inputs_validate_and_appear_as_enums(
    http: httpx.AsyncClient, serve_app: Callable[[Any], str]
) -> None:
    url = serve_app(create_service(literal))

    ok = await http.post(f"{url}/run", json={"inputs": {"choice": "a"}})
    bad = await http.post(f"{url}/run", json={"inputs": {"choice": "c"}})
    document = (await http.get(f"{url}/openapi.json")).json()

    assert ok.json()["data"] == "a"
    assert bad.status_code == 422
    body = document["paths"]["/run"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["inputs"]["properties"]["choice"]["enum"] == ["a", "b"]


async def test_the_openapi_parser_reads_ports_and_config_from_a_service(
    http: httpx.AsyncClient, single_url: str, multi_url: str
) -> None:
    from runnable.openapi import parse_openapi

    single = parse_openapi((await http.get(f"{single_url}/openapi.json")).json())
    multi = parse_openapi((await http.get(f"{multi_url}/openapi.json")).json(), "/shout")

    direct = single.endpoint("direct")
    assert direct is not None and direct.path == "/test"
    assert [(p.key, p.type, p.required) for p in direct.input_ports()] == [
        ("person", "object", True),
        ("punctuation", "string", False),
    ]
    assert [p.key for p in direct.output_ports()] == ["text", "length"]
    assert direct.config_schema is not None
    assert direct.config_schema["properties"]["greeting"]["default"] == "Hello"
    deployed = multi.endpoint("deployed")
    assert deployed is not None and deployed.path == "/shout/run"
    assert [p.key for p in deployed.input_ports()] == ["text", "times"]
