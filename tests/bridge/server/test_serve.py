"""`runnable-bridge serve`: embedded defaults in the working directory, PostgreSQL by URL."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bridge.serve import ServeOptions, playground_in_thread
from tests.bridge.server.conftest import TIMEOUT, read_events, start_run
from tests.db_fixtures import Database

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_starts_on_a_sqlite_file_in_the_working_directory_with_the_echo_model(
    tmp_path: Path,
) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OPENAI_BASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "bridge", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        info = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                info = httpx.get(f"http://127.0.0.1:{port}/info", timeout=1).json()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert info is not None, "the server did not answer"
        assert info["model"]["name"] == "echo" and info["model"]["offline"] is True
        assert (tmp_path / "runnable-bridge.sqlite").is_file()
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=TIMEOUT)
        assert page.status_code == 200 and "<html" in page.text
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0].decode()
    assert f"http://127.0.0.1:{port}/" in output


def test_a_second_start_keeps_the_users_edits_and_reseeds_nothing(tmp_path: Path) -> None:
    options = ServeOptions(port=0, db=str(tmp_path / "kept.sqlite"), echo_delay=0.0)

    async def edit(url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as http:
            await http.patch("/runnables/prompt:greeter", json={"name": "Mine now"})
            await http.post("/runnables/prompt:greeter/save")

    async def read(url: str) -> tuple[str, str]:
        async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as http:
            greeter = (await http.get("/runnables/prompt:greeter")).json()
            app = (await http.get("/runnables/app_revision:capitals-app")).json()
            return greeter["entity"]["name"], app["entity"]["uri"]

    with playground_in_thread(options) as url:
        asyncio.run(edit(url))
    with playground_in_thread(options) as url:
        name, app_uri = asyncio.run(read(url))
        info = httpx.get(f"{url}/info", timeout=TIMEOUT).json()
    assert name == "Mine now"
    # The example app is served at a new port on each start, and its revision follows.
    assert app_uri == info["example_app"]


def test_the_playground_runs_on_postgresql_by_url(postgresql_database: Database) -> None:
    options = ServeOptions(
        port=0,
        db=postgresql_database.url,
        db_schema=postgresql_database.schema,
        echo_delay=0.0,
    )

    async def scenario(url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as http:
            listed = (await http.get("/runnables", params={"kind": "prompt"})).json()
            assert listed["total"] >= 2
            run_id = await start_run(http, "prompt:summarize", {"text": "on postgres"})
            events = await read_events(http, run_id)
            assert events[-1].event == "done"
            runs = (await http.get("/runs", params={"runnable_ref": "prompt:summarize"})).json()
            assert [item["id"] for item in runs["items"]] == [run_id]

    with playground_in_thread(options) as url:
        info = httpx.get(f"{url}/info", timeout=TIMEOUT).json()
        assert info["database"].startswith("postgresql")
        asyncio.run(scenario(url))
