"""Versions on every source: a save on an older version is a ConflictError and writes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runnable import ConflictError
from runnable.http.serving import serve_in_thread
from runnable.sources import (
    HttpSource,
    InMemorySource,
    InvalidEntityError,
    SourceBackendError,
    SqlSource,
    Versioned,
    VersionedSource,
)
from tests.db_fixtures import Database
from tests.runnable.rest_server import EntityServerState, entity_app


@pytest.fixture(scope="module")
def rest_server() -> Iterator[str]:
    with serve_in_thread(entity_app(EntityServerState())) as base_url:
        yield base_url


@pytest.fixture(params=["memory", "sql-sqlite", "sql-postgresql", "http"])
async def source(request: pytest.FixtureRequest) -> AsyncIterator[VersionedSource]:
    kind = request.param
    made: Any
    if kind == "memory":
        made = InMemorySource()
    elif kind == "http":
        made = HttpSource(f"{request.getfixturevalue('rest_server')}/c{uuid.uuid4().hex}")
    else:
        db = request.getfixturevalue(f"{kind.removeprefix('sql-')}_database")
        made = SqlSource(db.url, "prompts", schema=db.schema)
    try:
        yield made
    finally:
        if kind != "memory":
            await made.close()


async def test_every_source_is_a_versioned_source(source: VersionedSource) -> None:
    assert isinstance(source, VersionedSource)


async def test_a_new_entity_is_at_version_one_and_each_save_adds_one(
    source: VersionedSource,
) -> None:
    assert await source.save("p1", {"name": "a"}) == 1
    assert await source.save("p1", {"name": "b"}, version=1) == 2
    assert await source.get_versioned("p1") == Versioned({"id": "p1", "name": "b"}, 2)


async def test_a_save_on_an_older_version_conflicts_and_writes_nothing(
    source: VersionedSource,
) -> None:
    await source.save("p1", {"name": "a"})
    await source.save("p1", {"name": "theirs"}, version=1)
    with pytest.raises(ConflictError, match=r"'p1'.*version 1.*version 2") as caught:
        await source.save("p1", {"name": "mine"}, version=1)
    assert (caught.value.entity_id, caught.value.expected_version) == ("p1", 1)
    assert caught.value.current_version == 2
    assert await source.get_versioned("p1") == Versioned({"id": "p1", "name": "theirs"}, 2)


async def test_a_save_on_a_version_of_a_deleted_entity_conflicts(source: VersionedSource) -> None:
    await source.save("p1", {"name": "a"})
    await source.delete("p1")
    with pytest.raises(ConflictError, match="no longer exists") as caught:
        await source.save("p1", {"name": "mine"}, version=1)
    assert caught.value.current_version is None
    assert await source.get("p1") is None


async def test_a_save_without_a_version_writes_over_any_version(source: VersionedSource) -> None:
    await source.save("p1", {"name": "a"})
    await source.save("p1", {"name": "b"}, version=1)
    assert await source.save("p1", {"name": "on purpose"}) == 3
    assert await source.get("p1") == {"id": "p1", "name": "on purpose"}


@pytest.mark.parametrize("bad", [0, -1, True, "1", 1.0])
async def test_a_version_that_is_not_a_positive_int_is_refused(
    source: VersionedSource, bad: Any
) -> None:
    with pytest.raises(InvalidEntityError, match="positive int"):
        await source.save("p1", {"name": "a"}, version=bad)
    assert await source.get("p1") is None


async def test_the_version_stays_beside_the_document_not_in_it(source: VersionedSource) -> None:
    # An entity's own `version` field (a prompt's) is data, never the source's version.
    await source.save("p1", {"name": "a", "version": "v7"})
    await source.save("p1", {"name": "a", "version": "v8"}, version=1)
    found = await source.get_versioned("p1")
    assert found == Versioned({"id": "p1", "name": "a", "version": "v8"}, 2)


async def test_listing_gives_each_entity_with_its_version(source: VersionedSource) -> None:
    await source.save("a", {"name": "a"})
    await source.save("b", {"name": "b"})
    await source.save("a", {"name": "a2"}, version=1)
    listed = await source.list_versioned()
    assert [item.data for item in listed] == [{"id": "a", "name": "a2"}, {"id": "b", "name": "b"}]
    if not isinstance(source, HttpSource):  # a REST list carries no ETags
        assert [item.version for item in listed] == [2, 1]


async def test_two_saves_on_one_version_give_one_success_and_one_conflict(
    database: Database,
) -> None:
    first = SqlSource(database.url, "prompts", schema=database.schema)
    second = SqlSource(database.url, "prompts", schema=database.schema)
    try:
        await first.save("p1", {"n": 0})
        outcomes = await asyncio.gather(
            first.save("p1", {"n": "first"}, version=1),
            second.save("p1", {"n": "second"}, version=1),
            return_exceptions=True,
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["ConflictError", "int"]
        winner = "first" if outcomes[0] == 2 else "second"
        assert await first.get_versioned("p1") == Versioned({"id": "p1", "n": winner}, 2)
    finally:
        await first.close()
        await second.close()


async def test_an_http_conflict_reads_the_current_version_from_the_etag(
    rest_server: str,
) -> None:
    async with HttpSource(f"{rest_server}/c{uuid.uuid4().hex}") as source:
        await source.save("p1", {"name": "a"})
        await source.save("p1", {"name": "b"})
        with pytest.raises(ConflictError) as caught:
            await source.save("p1", {"name": "c"}, version=1)
    assert caught.value.current_version == 2


def test_a_conflict_as_json_names_the_entity_and_both_versions_not_the_source() -> None:
    error = ConflictError("SqlSource(prompts @ /srv/data/app.sqlite)", "p1", 3, 4)
    assert "SqlSource" in str(error)  # the server's own logs say where
    assert error.to_dict() == {
        "detail": "entity 'p1': saved on version 3, but it is at version 4 now; "
        "reload it and save again",
        "entity_id": "p1",
        "expected_version": 3,
        "current_version": 4,
    }


async def test_listening_on_sqlite_is_refused_naming_postgresql(
    sqlite_database: Database,
) -> None:
    source = SqlSource(sqlite_database.url, "prompts")
    try:
        assert not source.announces_changes
        with pytest.raises(SourceBackendError, match="needs PostgreSQL"):
            async with source.listen(print):
                pass
    finally:
        await source.close()


async def test_a_feed_that_loses_its_connection_comes_back_and_reports_the_gap(
    postgresql_database: Database,
) -> None:
    import asyncpg

    from runnable.sources.changes import FeedConnection, read_change
    from tests.db_fixtures import POSTGRES_URL

    source = SqlSource(postgresql_database.url, "prompts", schema=postgresql_database.schema)
    heard: list[Any] = []
    gap = asyncio.Event()

    def deliver(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        heard.append(read_change(payload, postgresql_database.schema, "prompts"))

    await source.init()
    feed = FeedConnection(source.engine.connect, deliver, "test feed", on_gap=gap.set, retry=0.1)
    try:
        await feed.open()
        pid = feed.server_pid
        assert pid is not None
        admin = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""))
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        await asyncio.wait_for(gap.wait(), 5)
        assert feed.server_pid not in (None, pid)
        await source.save("p1", {"name": "after the gap"})
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.02)
    finally:
        await feed.close()
        await source.close()
    assert [(c.id, c.version) for c in heard] == [("p1", 1)]


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    saves=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(min_value=1, max_value=6)), st.integers()),
        min_size=1,
        max_size=8,
    )
)
async def test_only_saves_on_the_current_version_or_none_are_written(
    source: VersionedSource, saves: list[tuple[int | None, int]]
) -> None:
    entity_id = f"e{uuid.uuid4().hex}"
    current: int | None = None
    document: dict[str, Any] | None = None
    for expected, value in saves:
        accepted = expected is None or expected == current
        try:
            new_version = await source.save(entity_id, {"value": value}, version=expected)
        except ConflictError as exc:
            assert not accepted
            assert exc.current_version == current
        else:
            assert accepted
            current = (current or 0) + 1
            assert new_version == current
            document = {"id": entity_id, "value": value}
    found = await source.get_versioned(entity_id)
    if document is None:
        assert found is None
    else:
        assert found == Versioned(document, current)
