"""`runnable-bridge serve --workers 2 --db postgresql://...` through its one public URL.

Real processes: the CLI's parent (the front) and two uvicorn workers over a fresh
PostgreSQL database. Sessions are picked by the worker the front sends them to
(`session_for`), so each test knows which worker holds what.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from bridge.serve.workers import OPTIONS_VARIABLE, WorkerPool
from tests.bridge.server.conftest import TIMEOUT, session_for
from tests.bridge.server.served_workers import (
    ROOT,
    Served,
    fresh_database,
    start_served,
    stop_served,
    stored,
)

GREETER = "/runnables/prompt:greeter"
SUMMARIZE = "/runnables/prompt:summarize"


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def served(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    running = start_served(tmp_path_factory.mktemp("workers"), database)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            stop_served(running, signal.SIGTERM)


def test_a_request_without_a_session_always_reaches_the_same_worker(served: Served) -> None:
    pids = {served.pid_of(None) for _ in range(10)}  # a new connection each
    assert len(pids) == 1
    assert pids == {served.pid_of("default")} == {served.pid_of(session_for(0))}
    assert served.pid_of(session_for(1)) not in pids


def test_a_browsers_draft_is_in_every_answer_and_its_save_writes(
    served: Served, database: str
) -> None:
    # A browser: the page gives it its cookie; then every request closes its connection,
    # so the kernel alone would have spread them over both workers.
    with httpx.Client(base_url=served.url, timeout=TIMEOUT) as browser:
        assert browser.get("/").status_code == 200 and browser.cookies.get("rb_session")
        browser.headers["Connection"] = "close"
        patched = browser.patch(GREETER, json={"name": "Drafted in one session"})
        assert patched.json()["is_dirty"] is True
        for _ in range(20):
            read = browser.get(GREETER).json()
            assert read["is_dirty"] is True and read["data"]["name"] == "Drafted in one session"
        saved = browser.post(f"{GREETER}/save")
        assert saved.status_code == 200 and saved.json()["is_dirty"] is False
    in_database = asyncio.run(stored(database, "greeter"))
    assert in_database["name"] == "Drafted in one session"


@pytest.mark.parametrize("worker", [0, 1])
async def test_a_run_followed_over_event_source_streams_to_done(
    served: Served, worker: int
) -> None:
    session = session_for(worker, prefix="run")
    headers = {"X-Session": session}
    async with httpx.AsyncClient(base_url=served.url, timeout=TIMEOUT, headers=headers) as http:
        started = await http.post(f"{GREETER}/runs", json={"inputs": {"name": "Grace"}})
        assert started.status_code == 201, started.text
        run_id = started.json()["run_id"]
        text, done = "", None
        async with aconnect_sse(http, "GET", f"/runs/{run_id}/events") as source:
            async for event in source.aiter_sse():
                if event.event == "chunk":
                    text += json.loads(event.data)["text"]
                if event.event == "done":
                    done = json.loads(event.data)
                    break
    assert done is not None and done["status"] == "success"
    assert "Grace" in text
    # Another session (on the other worker) reads the run's record.
    other = {"X-Session": session_for(1 - worker, prefix="reader")}
    record = httpx.get(f"{served.url}/runs/{run_id}", headers=other, timeout=TIMEOUT).json()
    assert record["status"] == "success"


def test_a_conversations_two_turns_work(served: Served) -> None:
    headers = {"X-Session": session_for(1, prefix="talk"), "Connection": "close"}
    with httpx.Client(base_url=served.url, timeout=TIMEOUT, headers=headers) as http:
        started = http.post("/conversations", json={"prompt": "prompt:greeter"})
        assert started.status_code == 201, started.text
        iid = started.json()["instance_id"]
        for text in ("first", "second"):
            assert http.post(f"/conversations/{iid}/messages", json={"text": text}).is_success
            state: dict[str, Any] = {}
            deadline = time.monotonic() + 10
            while state.get("status") != "completed" and time.monotonic() < deadline:
                time.sleep(0.05)
                answer = http.get(f"/conversations/{iid}")
                assert answer.status_code == 200, answer.text
                state = answer.json()
            assert state["status"] == "completed"
    replies = [m["content"] for m in state["messages"] if m["role"] == "assistant"]
    assert len(replies) == 2 and replies[1] == "echo: second"


def _eventually(client: httpx.Client, path: str, name: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        seen = client.get(path).json()
        if seen["data"]["name"] == name:
            break
        time.sleep(0.05)
    return seen


def test_two_sessions_on_two_workers_keep_their_drafts_and_see_each_others_saves(
    served: Served,
) -> None:
    ann = httpx.Client(
        base_url=served.url, timeout=TIMEOUT, headers={"X-Session": session_for(0, prefix="ann")}
    )
    bob = httpx.Client(
        base_url=served.url, timeout=TIMEOUT, headers={"X-Session": session_for(1, prefix="bob")}
    )
    with ann, bob:
        assert served.pid_of(ann.headers["X-Session"]) != served.pid_of(bob.headers["X-Session"])
        for client in (ann, bob):
            client.get(GREETER)
            client.get(SUMMARIZE)
        ann.patch(GREETER, json={"name": "Ann's greeter"})
        bob.patch(SUMMARIZE, json={"name": "Bob's summary"})
        assert bob.get(GREETER).json()["is_dirty"] is False  # no draft leaks across
        assert ann.get(SUMMARIZE).json()["is_dirty"] is False

        assert ann.post(f"{GREETER}/save").status_code == 200
        seen = _eventually(bob, GREETER, "Ann's greeter")  # the change feed
        assert seen["data"]["name"] == "Ann's greeter" and seen["is_dirty"] is False
        assert bob.get(SUMMARIZE).json()["is_dirty"] is True  # Bob's draft stays

        assert bob.post(f"{SUMMARIZE}/save").status_code == 200
        seen = _eventually(ann, SUMMARIZE, "Bob's summary")
        assert seen["data"]["name"] == "Bob's summary" and seen["is_dirty"] is False


def test_a_dead_worker_is_reported_and_started_again_and_ctrl_c_stops_everything(
    tmp_path: Path,
) -> None:
    served = start_served(tmp_path, str(tmp_path / "playground.sqlite"))
    try:
        dead = served.pid_of(session_for(1))
        os.kill(dead, signal.SIGKILL)
        again = None
        deadline = time.monotonic() + 90
        while again is None and time.monotonic() < deadline:
            time.sleep(0.2)
            headers = {"X-Session": session_for(1)}
            answer = httpx.get(f"{served.url}/info", headers=headers, timeout=TIMEOUT)
            if answer.status_code == 200:  # a 502 while it starts again
                again = answer.json()["worker_pid"]
        assert again is not None and again != dead
        assert f"worker 1 (pid {dead}) exited with code -9" in served.said()
        assert served.pid_of(None) == served.pid_of(session_for(0))
        stop_served(served, signal.SIGINT)
    finally:
        if served.process.poll() is None:  # the test failed: stop it all the same
            served.process.terminate()
            served.process.wait(timeout=30)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited; only its reaping is left


def test_workers_stop_by_themselves_when_their_parent_is_killed(tmp_path: Path) -> None:
    served = start_served(tmp_path, str(tmp_path / "playground.sqlite"))
    workers = [served.pid_of(session_for(0)), served.pid_of(session_for(1))]
    served.process.kill()  # SIGKILL: the parent cannot stop them
    served.process.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)
    shutil.rmtree(served.sockets, ignore_errors=True)  # the parent had no time to


async def test_a_worker_that_cannot_start_is_an_error_naming_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != OPTIONS_VARIABLE}  # no options: it fails
    pool = WorkerPool([str(tmp_path / "w0.sock")], {**env, "PYTHONPATH": str(ROOT)})
    try:
        with pytest.raises(RuntimeError, match="worker 0 exited with code 1 before it served"):
            await pool.start()
    finally:
        await pool.stop()
