"""`runnable-bridge serve --workers 2` as a real process, for the tests that go through it.

`start_served` starts the CLI on a free port and returns once the front says every
worker is ready; `stop_served` stops it with a signal and checks that no worker and no
socket is left. `fresh_database` makes a PostgreSQL database of its own for one server.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import attrs
import httpx
from sqlalchemy.engine import make_url

from tests.bridge.server.conftest import TIMEOUT, session_for
from tests.db_fixtures import POSTGRES_URL, _run_apart

ROOT = Path(__file__).resolve().parents[3]
READY = re.compile(r"2 workers ready behind (http://\S+)/ \((\S+)\)")


@attrs.frozen
class Served:
    """A running `serve --workers 2`: its URL, its process, where its stderr goes."""

    url: str
    process: subprocess.Popen[bytes]
    stderr: Path
    sockets: Path
    """The folder of the workers' sockets."""

    def said(self) -> str:
        """What the server wrote on stderr so far."""
        return self.stderr.read_text()

    def pid_of(self, session: str | None) -> int:
        """The pid of the worker that answers `session` (None: no session named)."""
        headers = {} if session is None else {"X-Session": session}
        answer = httpx.get(f"{self.url}/info", headers=headers, timeout=TIMEOUT)
        pid: int = answer.json()["worker_pid"]
        return pid


def start_served(folder: Path, db: str) -> Served:
    """Start `runnable-bridge serve --workers 2 --db db` in `folder`; once it is ready."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OPENAI_BASE_URL", None)
    stderr = folder / "stderr.txt"
    command = [sys.executable, "-m", "bridge", "serve", "--port", "0", "--workers", "2"]
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--db", db], cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=sink
        )
    deadline = time.monotonic() + 90
    while not (found := READY.search(stderr.read_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"no server:\n{stderr.read_text()}")
        time.sleep(0.1)
    return Served(found.group(1), process, stderr, Path(found.group(2)))


def stop_served(served: Served, signum: int) -> None:
    """Stop the server with `signum`; its workers and their sockets must be gone."""
    workers = [served.pid_of(session_for(0)), served.pid_of(session_for(1))]
    served.process.send_signal(signum)
    assert served.process.wait(timeout=30) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists(), f"worker {pid} outlived the server"
    assert not served.sockets.exists(), "the workers' socket folder was left behind"


def _asyncpg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    url = make_url(POSTGRES_URL).set(database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(_asyncpg_url(url), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new PostgreSQL database (its URL), dropped at the end."""
    name = f"rb_workers_{uuid.uuid4().hex[:12]}"
    # Apart from the caller's thread: playwright's sync API keeps a loop running there.
    _run_apart(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _run_apart(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def stored(database: str, entity_id: str) -> dict[str, Any]:
    """The document stored for prompt `entity_id` in `database`."""
    conn = await asyncpg.connect(_asyncpg_url(database), timeout=5)
    try:
        data = await conn.fetchval("SELECT data FROM prompts WHERE id = $1", entity_id)
    finally:
        await conn.close()
    found: dict[str, Any] = json.loads(data) if isinstance(data, str) else data
    return found
