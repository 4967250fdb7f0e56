"""Retry policy: backoff, jitter and Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runnable.retry import RetryPolicy, is_retryable_status, parse_retry_after

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def test_backoff_doubles_per_attempt_without_jitter() -> None:
    policy = RetryPolicy(max_retries=4, backoff_base=0.5, backoff_max=100, jitter=0)

    assert [policy.delay(n) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(max_retries=10, backoff_base=1, backoff_max=3, jitter=0)

    assert policy.delay(9) == 3


def test_no_delay_once_retries_are_used_up() -> None:
    assert RetryPolicy(max_retries=2).delay(2) is None
    assert RetryPolicy(max_retries=0).delay(0, retry_after=1) is None


def test_retry_after_replaces_backoff_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff_base=5, max_retry_after=10)

    assert policy.delay(0, retry_after=0.25) == 0.25
    assert policy.delay(0, retry_after=11) is None


@given(
    attempt=st.integers(min_value=0, max_value=50),
    base=st.floats(min_value=0, max_value=10),
    cap=st.floats(min_value=0, max_value=60),
    jitter=st.floats(min_value=0, max_value=1),
    rand=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_jittered_delay_stays_between_shortened_and_full_backoff(
    attempt: int, base: float, cap: float, jitter: float, rand: float
) -> None:
    policy = RetryPolicy(max_retries=51, backoff_base=base, backoff_max=cap, jitter=jitter)
    full = min(cap, base * 2.0**attempt)

    delay = policy.delay(attempt, rand=lambda: rand)

    assert delay is not None
    assert full * (1 - jitter) - 1e-9 <= delay <= full + 1e-9


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"Retry-After": "Sun, 01 Jun 2025 12:00:30 GMT"}, 30.0),
        ({"Retry-After": "Sun, 01 Jun 2025 11:00:00 GMT"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-3"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert parse_retry_after(headers, now=lambda: NOW) == seconds


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(408, True), (409, True), (429, True), (500, True), (503, True), (400, False), (401, False)],
)
def test_retryable_statuses(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable
