"""Listing runnables, and what the server says about itself."""

from __future__ import annotations

import httpx


async def test_the_runnables_list_holds_the_seeded_examples_with_a_total(
    client: httpx.AsyncClient,
) -> None:
    everything = (await client.get("/runnables")).json()
    refs = {f"{item['kind']}:{item['id']}" for item in everything["items"]}
    assert {
        "prompt:greeter",
        "prompt:summarize",
        "app_revision:capitals-app",
        "evaluator_revision:exact-match",
        "evaluator_revision:similarity",
    } <= refs
    assert everything["total"] == len(everything["items"])


async def test_the_runnables_list_filters_by_kind_and_pages(client: httpx.AsyncClient) -> None:
    prompts = (await client.get("/runnables", params={"kind": "prompt"})).json()
    assert {item["kind"] for item in prompts["items"]} == {"prompt"}
    ids = [item["id"] for item in prompts["items"]]
    page = await client.get("/runnables", params={"kind": "prompt", "limit": 1, "offset": 1})
    assert page.json() == {"items": prompts["items"][1:2], "total": len(ids)}


async def test_a_prompt_with_a_required_input_lists_it_in_its_schema(
    client: httpx.AsyncClient,
) -> None:
    summarize = (await client.get("/runnables/prompt:summarize")).json()
    assert [(p["key"], p["required"]) for p in summarize["input_ports"]] == [("text", True)]
    greeter = (await client.get("/runnables/prompt:greeter")).json()
    assert all(not port["required"] for port in greeter["input_ports"])


async def test_bad_list_parameters_are_400_naming_them(client: httpx.AsyncClient) -> None:
    unknown = await client.get("/runnables", params={"kind": "nope"})
    assert unknown.status_code == 400 and "nope" in unknown.json()["detail"]
    for params in ({"limit": "0"}, {"limit": "501"}, {"offset": "-3"}, {"limit": "ten"}):
        answer = await client.get("/runnables", params=params)
        assert answer.status_code == 400
        assert next(iter(params)) in answer.json()["detail"]


async def test_info_labels_the_offline_echo_model(client: httpx.AsyncClient) -> None:
    info = (await client.get("/info")).json()
    assert info["model"]["name"] == "echo"
    assert info["model"]["offline"] is True
    assert "offline" in info["model"]["label"]
    assert info["session"] == "default"
    assert info["runs"] is True and info["conversations"] is True


async def test_an_unknown_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    answer = await client.get("/nowhere/at/all")
    assert answer.status_code == 404
