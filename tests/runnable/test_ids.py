"""Run and task ids are UUIDv7 text that sorts in the order the ids were made."""

from __future__ import annotations

import time
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runnable import ids
from runnable.ids import new_id


def test_an_id_is_a_uuid7_in_32_hex_digits_stamped_with_the_time() -> None:
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(made)
    assert parsed.hex == made and len(made) == 32
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert before <= int(made[:12], 16) <= after + 1


def test_ids_made_one_after_another_sort_in_that_order_and_never_repeat() -> None:
    made = [new_id() for _ in range(20_000)]  # thousands in each millisecond
    assert made == sorted(made)
    assert len(set(made)) == len(made)


@given(steps=st.lists(st.integers(-5, 5), min_size=1, max_size=6_000))
def test_ids_keep_their_order_when_the_clock_stands_still_or_steps_back(
    steps: list[int],
) -> None:
    clock = [1_765_000_000_000 * 1_000_000]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ids.time, "time_ns", lambda: clock[0])
        patch.setattr(ids, "_last_ms", 0)
        made = []
        for step in steps:  # milliseconds, forward or back
            clock[0] += step * 1_000_000
            made.append(new_id())
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(uuid.UUID(one).version == 7 for one in made)


def test_past_4096_ids_in_a_millisecond_the_time_is_carried_forward(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now_ms = 1_765_000_000_000
    monkeypatch.setattr(ids.time, "time_ns", lambda: now_ms * 1_000_000)
    monkeypatch.setattr(ids, "_last_ms", 0)
    made = [new_id() for _ in range(5_000)]
    assert made == sorted(made) and len(set(made)) == 5_000
    assert {int(one[:12], 16) for one in made} == {now_ms, now_ms + 1}
    assert int(made[4_095][13:16], 16) == 0xFFF and int(made[4_096][13:16], 16) == 0
