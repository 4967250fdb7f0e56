"""The Source contract, checked on every source: in-memory, SQL (SQLite, PostgreSQL), HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runnable.errors import RunnableError
from runnable.http.serving import serve_in_thread
from runnable.sources import (
    DeletableSource,
    HttpSource,
    InMemorySource,
    InvalidEntityError,
    SourceBackendError,
    SourceError,
    SqlSource,
)
from tests.runnable.rest_server import EntityServerState, entity_app


@pytest.fixture(scope="module")
def rest_server() -> Iterator[str]:
    with serve_in_thread(entity_app(EntityServerState())) as base_url:
        yield base_url


@pytest.fixture(params=["memory", "sql-sqlite", "sql-postgresql", "http"])
async def source(request: pytest.FixtureRequest) -> AsyncIterator[DeletableSource]:
    kind = request.param
    made: Any
    if kind == "memory":
        made = InMemorySource()
    elif kind == "http":
        # A collection of its own per test: the server outlives the test.
        made = HttpSource(f"{request.getfixturevalue('rest_server')}/c{uuid.uuid4().hex}")
    else:
        db = request.getfixturevalue(f"{kind.removeprefix('sql-')}_database")
        made = SqlSource(db.url, "prompts", schema=db.schema)
    try:
        yield made
    finally:
        if kind != "memory":
            await made.close()


PROMPT = {"name": "greeter", "messages": [{"role": "user", "content": "Hi {{name}}"}]}


async def test_source_follows_the_protocol(source: DeletableSource) -> None:
    assert isinstance(source, DeletableSource)


async def test_get_of_a_missing_entity_returns_none(source: DeletableSource) -> None:
    assert await source.get("nope") is None


async def test_saved_entity_is_read_back_with_its_id(source: DeletableSource) -> None:
    await source.save("p1", PROMPT)
    assert await source.get("p1") == {**PROMPT, "id": "p1"}


async def test_save_replaces_the_whole_document(source: DeletableSource) -> None:
    await source.save("p1", {"name": "old", "settings": {"model": "a"}})
    await source.save("p1", {"name": "new"})
    assert await source.get("p1") == {"id": "p1", "name": "new"}


async def test_id_argument_wins_over_the_id_in_data(source: DeletableSource) -> None:
    await source.save("p1", {"id": "other", "name": "x"})
    assert await source.get("p1") == {"id": "p1", "name": "x"}
    assert await source.get("other") is None


async def test_list_returns_every_entity_oldest_first(source: DeletableSource) -> None:
    for entity_id in ("b", "a", "c"):
        await source.save(entity_id, {"name": entity_id})
    await source.save("b", {"name": "b2"})
    assert await source.list() == [
        {"id": "b", "name": "b2"},
        {"id": "a", "name": "a"},
        {"id": "c", "name": "c"},
    ]


async def test_returned_data_is_a_copy(source: DeletableSource) -> None:
    await source.save("p1", PROMPT)
    first = await source.get("p1")
    assert first is not None
    first["messages"].append({"role": "assistant", "content": "mutated"})
    assert await source.get("p1") == {**PROMPT, "id": "p1"}


async def test_delete_removes_and_tolerates_a_missing_id(source: DeletableSource) -> None:
    await source.save("p1", PROMPT)
    await source.delete("p1")
    await source.delete("p1")
    assert await source.get("p1") is None
    assert await source.list() == []


@pytest.mark.parametrize("bad_id", ["", None, 42])
async def test_an_empty_or_non_str_id_is_refused(source: DeletableSource, bad_id: Any) -> None:
    with pytest.raises(InvalidEntityError, match="non-empty str"):
        await source.get(bad_id)


async def test_data_that_is_not_json_is_refused_naming_the_id(source: DeletableSource) -> None:
    with pytest.raises(InvalidEntityError, match=r"'p1'.*not JSON-serialisable"):
        await source.save("p1", {"when": datetime(2024, 1, 1)})
    assert await source.get("p1") is None


async def test_data_that_is_not_a_mapping_is_refused(source: DeletableSource) -> None:
    with pytest.raises(InvalidEntityError, match="must be a mapping, got list"):
        await source.save("p1", [1, 2])  # type: ignore[arg-type]


# PostgreSQL's jsonb cannot hold U+0000, so documents leave it out everywhere.
json_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(json_text, children, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=st.dictionaries(json_text, json_values, max_size=5))
async def test_any_json_document_round_trips(
    source: DeletableSource, document: dict[str, Any]
) -> None:
    await source.save("doc", document)
    assert await source.get("doc") == {**document, "id": "doc"}


def test_source_errors_belong_to_the_runnable_error_family() -> None:
    assert issubclass(SourceError, RunnableError)
    assert issubclass(InvalidEntityError, ValueError) and issubclass(
        InvalidEntityError, SourceError
    )
    assert issubclass(SourceBackendError, SourceError)
