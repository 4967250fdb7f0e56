"""The shared column types: timestamps in UTC, JSON text passed through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    Table,
    create_engine,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite

from runnable.sources.sqltypes import JsonText, UtcDateTime

aware = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.just(UTC) | st.timezones(),  # datetime.UTC itself takes a shorter path
)


@given(aware)
@example(datetime(5, 1, 2, 3, 4, 5, tzinfo=UTC))  # a short year, zero-padded like the rest
def test_sqlite_timestamps_are_the_text_sqlalchemy_itself_stores(value: datetime) -> None:
    # UtcDateTime makes SQLite's text in one step; it must be SQLAlchemy's DATETIME text
    # for the same instant in UTC, or stored rows would sort and read back differently.
    dialect = sqlite.dialect()
    ours = UtcDateTime().bind_processor(dialect)
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None and theirs is not None
    assert ours(value) == theirs(value.astimezone(UTC).replace(tzinfo=None))


def test_timestamps_must_be_aware_and_go_in_as_utc() -> None:
    process = UtcDateTime().bind_processor(sqlite.dialect())
    with pytest.raises(ValueError, match="naive datetime"):
        process(datetime(2026, 1, 1))
    assert process(None) is None
    noon_in_paris = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=1)))
    assert process(noon_in_paris) == "2026-01-01 11:00:00.000000"
    assert UtcDateTime().process_bind_param(noon_in_paris, postgresql.dialect()) == datetime(
        2026, 1, 1, 11, tzinfo=UTC
    )


def test_json_text_goes_to_the_database_as_it_is_and_reads_back_parsed() -> None:
    table = Table(
        "docs", MetaData(), Column("id", Integer, primary_key=True), Column("doc", JsonText)
    )
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": 1, "doc": '{"a": [1, 2]}'}, {"id": 2, "doc": None}])
        stored = conn.execute(text("SELECT doc FROM docs ORDER BY id")).scalars().all()
        read = conn.execute(select(table.c.doc).order_by(table.c.id)).scalars().all()
    assert stored == ['{"a": [1, 2]}', None]  # not serialized a second time; None is NULL
    assert read == [{"a": [1, 2]}, None]
