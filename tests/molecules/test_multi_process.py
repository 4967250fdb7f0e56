"""Two processes over one database: saves are seen, races have one winner, no edit is lost.

The second process is `tests.molecules.store_peer`, a real Python process with its own
store, talking to the test through JSON lines on its stdin and stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from runnable.sources import SqlSource, Versioned
from tests.db_fixtures import Database

ROOT = Path(__file__).resolve().parents[2]


class Peer:
    """A running store_peer process and its JSON-line pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def read(self, timeout: float = 20.0) -> dict[str, Any]:
        """The next JSON line the peer prints."""
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            assert self.process.stderr is not None
            raise AssertionError(f"the peer ended: {(await self.process.stderr.read()).decode()}")
        found: dict[str, Any] = json.loads(line)
        return found

    def send(self, text: str) -> None:
        """Write one line to the peer's stdin."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{text}\n".encode())


@asynccontextmanager
async def peer(database: Database, key: str, *args: str) -> AsyncIterator[Peer]:
    """Start a store_peer on `database` for entity `key`; stop it on the way out."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.molecules.store_peer",
        database.url,
        database.schema or "",
        key,
        *args,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        yield Peer(process)
    finally:
        if process.returncode is None:
            assert process.stdin is not None
            process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


def source_of(database: Database) -> SqlSource:
    return SqlSource(database.url, "prompts", schema=database.schema)


async def until(check: Callable[[dict[str, Any]], bool], watcher: Peer, by: float) -> Any:
    """The first line of `watcher` that passes `check`, read before time `by`."""
    while True:
        line = await watcher.read(timeout=max(by - time.time(), 0.001))
        if check(line):
            return line


async def test_a_save_in_one_process_reaches_the_other_watcher_within_a_second(
    postgresql_database: Database,
) -> None:
    source = source_of(postgresql_database)
    try:
        await source.save("p1", {"name": "v1", "temperature": 0.1})
        async with peer(postgresql_database, "p1", "watch") as watcher:
            assert (await watcher.read())["ready"]
            saved_at = time.time()
            assert await source.save("p1", {"name": "v2", "temperature": 0.1}, version=1) == 2
            seen = await until(lambda line: line.get("version") == 2, watcher, saved_at + 1.0)
    finally:
        await source.close()
    assert seen["data"] == {"id": "p1", "name": "v2", "temperature": 0.1, "draft_note": "kept"}
    assert seen["dirty"] is True
    assert seen["at"] - saved_at < 1.0


async def test_a_draft_equal_to_the_new_server_data_is_dropped_by_the_refresh(
    postgresql_database: Database,
) -> None:
    source = source_of(postgresql_database)
    try:
        await source.save("p1", {"name": "v1"})
        async with peer(postgresql_database, "p1", "watch") as watcher:
            assert (await watcher.read())["ready"]
            saved_at = time.time()
            await source.save("p1", {"name": "v1", "draft_note": "kept"}, version=1)
            seen = await until(lambda line: line.get("version") == 2, watcher, saved_at + 1.0)
    finally:
        await source.close()
    assert seen["dirty"] is False


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
async def test_racing_saves_from_two_processes_give_one_success_and_one_conflict(
    request: pytest.FixtureRequest, dialect: str
) -> None:
    database: Database = request.getfixturevalue(f"{dialect}_database")
    source = source_of(database)
    try:
        await source.save("p1", {"name": "v1"})
        async with (
            peer(database, "p1", "race", "from_a") as a,
            peer(database, "p1", "race", "from_b") as b,
        ):
            assert (await a.read())["loaded"] and (await b.read())["loaded"]
            a.send("go")
            b.send("go")
            outcomes = sorted([(await a.read())["outcome"], (await b.read())["outcome"]])
        stored = await source.get_versioned("p1")
    finally:
        await source.close()
    assert outcomes == ["conflict", "saved"]
    assert stored is not None and stored.version == 2
    assert ("from_a" in stored.data) != ("from_b" in stored.data)  # the winner's edit only


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
async def test_no_edit_is_lost_over_two_hundred_concurrent_edits(
    request: pytest.FixtureRequest, dialect: str
) -> None:
    database: Database = request.getfixturevalue(f"{dialect}_database")
    source = source_of(database)
    try:
        await source.save("p1", {"name": "shared"})
        async with (
            peer(database, "p1", "edits", "a", "100") as a,
            peer(database, "p1", "edits", "b", "100") as b,
        ):
            assert (await a.read())["loaded"] and (await b.read())["loaded"]
            a.send("go")
            b.send("go")
            reports = await asyncio.gather(a.read(60), b.read(60))
        stored = await source.get_versioned("p1")
    finally:
        await source.close()
    assert stored is not None
    expected = {f"{p}{i}": i for p in "ab" for i in range(100)}
    assert {k: v for k, v in stored.data.items() if k not in ("id", "name")} == expected
    conflicts = sum(report["conflicts"] for report in reports)
    assert stored.version == 1 + 200  # every edit saved exactly once; conflicts wrote nothing
    assert conflicts > 0  # the edits did race (about 140 of 200 conflict here)


async def test_a_listener_hears_committed_saves_and_deletes_of_its_table_only(
    postgresql_database: Database,
) -> None:
    source = source_of(postgresql_database)
    other = SqlSource(postgresql_database.url, "prompt_actions", schema=postgresql_database.schema)
    heard: list[Any] = []
    try:
        async with source.listen(heard.append):
            await source.save("p1", {"name": "a"})
            await other.save("x", {"name": "not ours"})
            await source.delete("p1")
            for _ in range(100):
                if len(heard) >= 2:
                    break
                await asyncio.sleep(0.02)
        assert [(c.id, c.version) for c in heard] == [("p1", 1), ("p1", None)]
        assert await source.get_versioned("p1") is None
        assert isinstance(await other.get_versioned("x"), Versioned)
    finally:
        await source.close()
        await other.close()
