"""`runnable-bridge serve --workers 2 --db postgresql://...`: a save through one worker
reaches the other worker's readers."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.db_fixtures import POSTGRES_URL

ROOT = Path(__file__).resolve().parents[3]
REF = "prompt:greeter"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _admin(sql: str) -> None:
    url = make_url(POSTGRES_URL).set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def fresh_database() -> Iterator[str]:
    name = f"rb_workers_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _one_client_per_worker(base: str, workers: int) -> dict[int, httpx.Client]:
    clients: dict[int, httpx.Client] = {}
    for _ in range(60):  # each client is one kept-alive connection: one worker
        client = httpx.Client(base_url=base, timeout=10)
        pid = client.get("/info").json()["worker_pid"]
        if pid in clients:
            client.close()
        else:
            clients[pid] = client
        if len(clients) == workers:
            return clients
    raise AssertionError(f"connections reached only {len(clients)} of {workers} workers")


def test_a_save_through_one_worker_reaches_a_reader_of_the_other(fresh_database: str) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OPENAI_BASE_URL", None)
    command = [sys.executable, "-m", "bridge", "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(
        [*command, "--db", fresh_database],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/info", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert server.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.2)
        clients = _one_client_per_worker(base, 2)
        writer, reader = clients.values()
        assert reader.get(f"/runnables/{REF}").status_code == 200  # loaded in the reader
        assert writer.patch(f"/runnables/{REF}", json={"name": "Saved by the other"}).is_success
        assert writer.post(f"/runnables/{REF}/save").is_success
        seen = None
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            seen = reader.get(f"/runnables/{REF}").json()["data"]["name"]
            if seen == "Saved by the other":
                break
            time.sleep(0.05)
        assert seen == "Saved by the other"
    finally:
        server.terminate()
        server.wait(timeout=20)
