"""Runs started server-side, followed over GET EventSource streams, and read back."""

from __future__ import annotations

import asyncio

import httpx
from httpx_sse import aconnect_sse

from bridge.serve import ServeOptions, playground_in_thread
from tests.bridge.server.conftest import (
    TIMEOUT,
    data,
    read_events,
    start_run,
    text_of,
    tmp_db,
    words,
)

SUMMARIZE = "prompt:summarize"


async def test_a_run_streams_chunks_and_node_events_then_one_done(
    client: httpx.AsyncClient,
) -> None:
    run_id = await start_run(client, SUMMARIZE, {"text": "tides and moons"})
    events = await read_events(client, run_id)
    assert events[0].event == "node"
    assert data(events[0]) == {"node_id": SUMMARIZE, "status": "running"}
    assert sum(e.event == "chunk" for e in events) > 3
    assert [e.id for e in events] == [str(i) for i in range(len(events))]
    done = data(events[-1])
    assert events[-1].event == "done"
    assert done["status"] == "success"
    assert done["output"] == text_of(events) == "echo: Summarise this:\n\ntides and moons"
    assert done["error"] is None


async def test_a_reconnect_with_last_event_id_continues_without_loss(
    client: httpx.AsyncClient,
) -> None:
    run_id = await start_run(client, SUMMARIZE, {"text": words(60)})
    first = await read_events(client, run_id, limit=5)
    rest = await read_events(client, run_id, last_event_id=first[-1].id)
    whole = await read_events(client, run_id)
    assert [e.id for e in first + rest] == [e.id for e in whole]
    assert text_of(first + rest) == text_of(whole) == data(whole[-1])["output"]


async def test_a_page_may_reopen_a_run_after_an_event_with_the_after_parameter(
    client: httpx.AsyncClient,
) -> None:
    run_id = await start_run(client, SUMMARIZE, {"text": "one two three"})
    whole = await read_events(client, run_id)
    async with aconnect_sse(client, "GET", f"/runs/{run_id}/events?after=2") as source:
        rest = [event async for event in source.aiter_sse()]
    assert [e.id for e in rest] == [e.id for e in whole[3:]]


async def test_a_second_client_joining_a_live_run_sees_the_same_events(
    client: httpx.AsyncClient, playground: str
) -> None:
    run_id = await start_run(client, SUMMARIZE, {"text": words(80)})
    first_client = asyncio.create_task(read_events(client, run_id))
    await asyncio.sleep(0.05)
    async with httpx.AsyncClient(base_url=playground, timeout=TIMEOUT) as other:
        joined = await read_events(other, run_id)
    seen = await first_client
    assert [(e.id, e.event, e.data) for e in joined] == [(e.id, e.event, e.data) for e in seen]


async def test_a_client_that_goes_away_does_not_cancel_the_run(
    client: httpx.AsyncClient,
) -> None:
    run_id = await start_run(client, SUMMARIZE, {"text": words(40)})
    await read_events(client, run_id, limit=2)  # reads two events, then disconnects
    events = await read_events(client, run_id)
    assert data(events[-1])["status"] == "success"


async def test_cancel_ends_a_live_run_cancelled(client: httpx.AsyncClient) -> None:
    run_id = await start_run(client, SUMMARIZE, {"text": words(2000)})
    await read_events(client, run_id, limit=3)
    answer = await client.post(f"/runs/{run_id}/cancel")
    assert answer.status_code == 200
    events = await read_events(client, run_id)
    assert data(events[-1])["status"] == "cancelled"
    assert {"node_id": SUMMARIZE, "status": "cancelled"} in [
        data(e) for e in events if e.event == "node"
    ]
    record = (await client.get(f"/runs/{run_id}")).json()
    assert record["status"] == "cancelled"


async def test_cancelling_a_finished_run_is_a_conflict(client: httpx.AsyncClient) -> None:
    run_id = await start_run(client, SUMMARIZE, {"text": "short"})
    await read_events(client, run_id)
    answer = await client.post(f"/runs/{run_id}/cancel")
    assert answer.status_code == 409
    assert "already ended" in answer.json()["detail"]


async def test_asking_for_events_after_done_answers_204_so_a_browser_stops(
    client: httpx.AsyncClient,
) -> None:
    run_id = await start_run(client, SUMMARIZE, {"text": "short"})
    events = await read_events(client, run_id)
    answer = await client.get(f"/runs/{run_id}/events", headers={"Last-Event-ID": events[-1].id})
    assert answer.status_code == 204


async def test_a_run_with_a_missing_required_input_is_a_400_and_nothing_is_recorded(
    client: httpx.AsyncClient,
) -> None:
    before = (await client.get("/runs", params={"runnable_ref": SUMMARIZE})).json()["total"]
    answer = await client.post(f"/runnables/{SUMMARIZE}/runs", json={"inputs": {}})
    assert answer.status_code == 400
    assert answer.json()["errors"] == {"text": ["is required but missing"]}
    after = (await client.get("/runs", params={"runnable_ref": SUMMARIZE})).json()["total"]
    assert after == before


async def test_bad_run_requests_are_4xx_naming_what_is_wrong(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/runnables/prompt:nope/runs", json={"inputs": {}})
    assert unknown.status_code == 404
    extra = await client.post(f"/runnables/{SUMMARIZE}/runs", json={"inputs": {}, "x": 1})
    assert extra.status_code == 400 and "x" in extra.json()["detail"]
    not_json = await client.post(f"/runnables/{SUMMARIZE}/runs", content=b"{nope")
    assert not_json.status_code == 400
    no_run = await client.get("/runs/nope/events")
    assert no_run.status_code == 404
    bad_id = await client.get("/runs/nope/events", headers={"Last-Event-ID": "x"})
    assert bad_id.status_code == 400 and "Last-Event-ID" in bad_id.json()["detail"]
    assert (await client.post("/runs/nope/cancel")).status_code == 404


async def test_the_runs_list_filters_by_runnable_and_status_and_pages_with_a_total(
    client: httpx.AsyncClient,
) -> None:
    ref = "prompt:capital-question"
    ids = [await start_run(client, ref, {"country": c}) for c in ("France", "Japan", "Peru")]
    for run_id in ids:
        await read_events(client, run_id)
    listed = (await client.get("/runs", params={"runnable_ref": ref, "limit": 2})).json()
    assert listed["total"] == 3
    assert [item["id"] for item in listed["items"]] == ids[::-1][:2]
    second = (await client.get("/runs", params={"runnable_ref": ref, "offset": 2})).json()
    assert [item["id"] for item in second["items"]] == ids[:1]
    failed = (await client.get("/runs", params={"runnable_ref": ref, "status": "error"})).json()
    assert failed == {"items": [], "total": 0}


async def test_bad_list_parameters_are_400(client: httpx.AsyncClient) -> None:
    for params in ({"status": "done"}, {"limit": "0"}, {"limit": "x"}, {"offset": "-1"}):
        answer = await client.get("/runs", params=params)
        assert answer.status_code == 400, params
        assert next(iter(params)) in answer.json()["detail"]


async def test_one_run_reads_back_with_its_output_and_tasks(client: httpx.AsyncClient) -> None:
    run_id = await start_run(client, SUMMARIZE, {"text": "a b"})
    await read_events(client, run_id)
    record = (await client.get(f"/runs/{run_id}")).json()
    assert record["id"] == run_id
    assert record["runnable_ref"] == SUMMARIZE
    assert record["name"] == SUMMARIZE  # a list of runs reads as what ran
    assert record["inputs"] == {"text": "a b"}
    assert record["status"] == "success"
    assert record["output"] == "echo: Summarise this:\n\na b"
    assert [task["node_id"] for task in record["tasks"]] == [SUMMARIZE]
    assert (await client.get("/runs/nope")).status_code == 404


async def test_a_chain_run_gives_node_events_and_the_outputs_by_node(
    client: httpx.AsyncClient,
) -> None:
    chain = {
        "nodes": [
            {"id": "app", "ref": "app_revision:capitals-app"},
            {"id": "exact", "ref": "evaluator_revision:exact-match"},
        ],
        "connections": [{"source": "app", "target": "exact"}],
    }
    body = {"chain": chain, "testcase": {"country": "France", "correct_answer": "Paris"}}
    answer = await client.post("/chains/runs", json=body)
    assert answer.status_code == 201, answer.text
    events = await read_events(client, answer.json()["run_id"])
    finished = [data(e) for e in events if e.event == "node" and data(e)["status"] == "success"]
    assert [node["node_id"] for node in finished] == ["app", "exact"]
    done = data(events[-1])
    assert done["status"] == "success"
    assert done["output"]["app"] == "Paris"
    assert done["output"]["exact"]["score"] == 1.0


async def test_a_dataset_run_reports_each_row_and_the_mean_score_of_each_evaluator(
    client: httpx.AsyncClient,
) -> None:
    chain = {
        "nodes": [
            {"id": "app", "ref": "app_revision:capitals-app"},
            {"id": "exact", "ref": "evaluator_revision:exact-match"},
        ],
        "connections": [{"source": "app", "target": "exact"}],
    }
    rows = [
        {"country": "France", "correct_answer": "Paris"},
        {"country": "Italy", "correct_answer": "Rome"},
        {"country": "Australia", "correct_answer": "Canberra"},
        {"country": "Japan", "correct_answer": "Tokyo"},
        {"country": "Kenya", "correct_answer": "Nairobi"},
    ]
    answer = await client.post("/chains/runs", json={"chain": chain, "rows": rows})
    assert answer.status_code == 201, answer.text
    run_id = answer.json()["run_id"]
    events = await read_events(client, run_id)
    ended = [data(e) for e in events if e.event == "row" and data(e)["status"] != "running"]
    assert sorted(row["row"] for row in ended) == [0, 1, 2, 3, 4]
    done = data(events[-1])
    assert done["status"] == "success"
    assert [row["output"]["app"] for row in done["output"]["rows"]] == [
        "Paris",
        "Rome",
        "Sydney",
        "Tokyo",
        "Nairobi",
    ]
    assert done["output"]["scores"]["exact"] == 0.8
    record = (await client.get(f"/runs/{run_id}")).json()
    assert len(record["children"]) == 5
    assert record["name"] == "dataset of app_revision:capitals-app"
    names = sorted(child["name"] for child in record["children"])
    assert names[0] == "chain of app_revision:capitals-app row 0"


async def test_bad_chain_run_requests_are_400(client: httpx.AsyncClient) -> None:
    chain = {"nodes": [{"id": "a", "ref": "prompt:summarize"}], "connections": []}
    both = await client.post("/chains/runs", json={"chain": chain, "testcase": {}, "rows": [{}]})
    assert both.status_code == 400 and "not both" in both.json()["detail"]
    missing = await client.post("/chains/runs", json={"testcase": {}})
    assert missing.status_code == 400 and "chain" in missing.json()["detail"]
    no_input = await client.post("/chains/runs", json={"chain": chain, "testcase": {}})
    assert no_input.status_code == 400 and "text" in no_input.json()["detail"]
    cycle = {
        "nodes": [{"id": "a", "ref": "prompt:greeter"}, {"id": "b", "ref": "prompt:greeter"}],
        "connections": [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}],
    }
    looped = await client.post("/chains/runs", json={"chain": cycle, "testcase": {}})
    assert looped.status_code == 400 and "cycle" in looped.json()["detail"]


def test_a_finished_run_no_longer_in_memory_is_replayed_from_the_run_store(
    tmp_path: object,
) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    options = ServeOptions(port=0, db=tmp_db(tmp_path), echo_delay=0.0, keep_finished_runs=0)
    with playground_in_thread(options) as url:

        async def scenario() -> None:
            async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as http:
                run_id = await start_run(http, SUMMARIZE, {"text": "kept on disk"})
                live = await read_events(http, run_id)
                replayed = await read_events(http, run_id)
                assert [e.event for e in replayed] == ["node", "chunk", "node", "done"]
                assert text_of(replayed) == text_of(live)
                assert data(replayed[-1]) == data(live[-1])

        asyncio.run(scenario())


async def test_a_run_that_fails_ends_with_done_error_and_the_error_is_recorded(
    playground: str,
) -> None:
    from tests.bridge.server.conftest import session_client

    # In a session of its own, the example app's draft points at a port nothing serves.
    async with session_client(playground, "broken-app") as http:
        app = "/runnables/app_revision:capitals-app"
        await http.patch(app, json={"uri": "http://127.0.0.1:9"})
        run_id = await start_run(http, "app_revision:capitals-app", {"country": "France"})
        events = await read_events(http, run_id)
        failed = [data(e) for e in events if e.event == "node" and data(e)["status"] == "error"]
        done = data(events[-1])
        record = (await http.get(f"/runs/{run_id}")).json()
        await http.post(app + "/discard")
    assert len(failed) == 1 and failed[0]["error"]["message"]
    assert done["status"] == "error" and done["output"] is None
    assert done["error"]["message"]
    assert record["status"] == "error"
    assert isinstance(record["tasks"][0]["error"], dict)


def test_without_a_run_store_the_runs_list_shows_the_runs_in_memory() -> None:
    from collections.abc import AsyncIterator, Mapping
    from typing import Any

    from bridge import create_default_bridge
    from bridge.server import create_app
    from molecules import Store
    from runnable.http.serving import serve_in_thread
    from runnable.sources import InMemorySource

    async def model(runnable: Any, inputs: Mapping[str, Any]) -> AsyncIterator[str]:
        for word in ("in", " memory"):
            yield word

    prompts = InMemorySource({"p": {"messages": [{"role": "user", "content": "Hi"}]}})
    bridge = create_default_bridge({"prompt": prompts}, executors={"prompt": model})
    app = create_app(bridge, Store(), static_dir=None)

    async def scenario(url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as http:
            run_id = await start_run(http, "prompt:p", {})
            events = await read_events(http, run_id)
            assert data(events[-1])["output"] == "in memory"
            listed = (await http.get("/runs", params={"runnable_ref": "prompt:p"})).json()
            assert [(item["id"], item["status"]) for item in listed["items"]] == [
                (run_id, "success")
            ]
            assert listed["total"] == 1
            detail = (await http.get(f"/runs/{run_id}")).json()
            assert detail["output"] == "in memory"

    with serve_in_thread(app) as url:
        asyncio.run(scenario(url))
