"""When to retry a failed HTTP call, and how long to wait first."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import attrs

__all__ = ["RETRYABLE_STATUS_CODES", "RetryPolicy", "is_retryable_status", "parse_retry_after"]

# Request timeout, lock conflict, rate limit and every server error: the same request may
# succeed later. Other 4xx mean the request itself is wrong.
RETRYABLE_STATUS_CODES = frozenset({408, 409, 429})


def is_retryable_status(status_code: int) -> bool:
    """True for statuses worth repeating the same request for."""
    return status_code in RETRYABLE_STATUS_CODES or status_code >= 500


def parse_retry_after(
    headers: Mapping[str, str], now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """Seconds the server asks us to wait (`retry-after-ms`, then `Retry-After`), or None.

    `Retry-After` may be delta-seconds or an HTTP date; an unreadable value counts as absent.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    text = lowered.get("retry-after")
    if text is None:
        return None
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now()).total_seconds())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


@attrs.frozen(slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, deferring to the server's Retry-After.

    Attempt `n` (0-based) waits `min(backoff_max, backoff_base * 2**n)` seconds, shortened by
    up to `jitter` (a fraction) so that many clients do not retry in step. A Retry-After
    up to `max_retry_after` seconds is obeyed exactly; a longer one ends the retries
    (`delay` returns None) rather than wait longer than the caller would.
    """

    max_retries: int = attrs.field(default=2, validator=attrs.validators.ge(0))
    backoff_base: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    backoff_max: float = attrs.field(default=8.0, validator=attrs.validators.ge(0))
    jitter: float = attrs.field(
        default=0.25, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )
    max_retry_after: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))

    def delay(
        self,
        attempt: int,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to wait before retry number `attempt + 1`, or None to stop retrying."""
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        backoff = min(self.backoff_max, self.backoff_base * 2.0 ** min(attempt, 60))
        return backoff * (1 - self.jitter * rand())
