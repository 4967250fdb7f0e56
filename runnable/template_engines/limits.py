"""Resource limits of template rendering and the budget one render spends from.

Every engine renders under a `RenderBudget`: loop iterations are counted, every growing
value (a repeated string, a concatenation, a filter's result) is measured against the
output limit, and a deadline bounds the wall time. A limit hit raises
`TemplateLimitError` naming the limit, so a caller can tell a hostile template from a
broken one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Sized
from contextvars import ContextVar
from typing import Any, TypeVar

import attrs

from runnable.errors import TemplateLimitError

__all__ = ["LIMITS", "RenderBudget", "TemplateLimits", "check_format_spec"]

T = TypeVar("T")


@attrs.frozen(slots=True)
class TemplateLimits:
    """How much one template may ask for; every engine honours every limit that applies."""

    max_output_chars: int = 1_000_000
    """Longest rendered text, and longest string or list built while rendering."""
    max_nesting: int = 16
    """Deepest nesting of blocks (jinja2 `if`/`for`..., mustache sections)."""
    max_expression_depth: int = 32
    """Deepest nesting of brackets inside one jinja2 expression."""
    max_loop_iterations: int = 100_000
    """Loop iterations (jinja2 `for`, mustache list sections) in one render."""
    max_format_width: int = 10_000
    """Largest width or precision in a format spec (`{x:>300000000}`, `'%9999999d'`)."""
    max_power_bits: int = 100_000
    """Largest integer a `**` may produce, in bits."""
    max_seconds: float = 2.0
    """Wall time of one render."""
    max_jinja2_chars: int = 20_000
    """Longest jinja2 template checked or rendered: jinja2's lexer, parser and compiler
    cost ~10-15 µs a character of packed tags, so one check costs at most a few hundred
    milliseconds of a worker thread. Extraction does not use jinja2 and has no limit."""


LIMITS = TemplateLimits()

_SPEC_NUMBER = re.compile(r"\d+")


def check_format_spec(spec: str, limits: TemplateLimits, *, format: str) -> None:
    """Refuse a format spec whose width or precision is past `max_format_width`."""
    for number in _SPEC_NUMBER.findall(spec):
        # A run of digits longer than the limit's own is past it without int().
        if len(number) > 12 or int(number) > limits.max_format_width:
            raise TemplateLimitError(
                "max_format_width",
                f"format spec {spec[:40]!r} asks for {number[:20]} characters "
                f"(at most {limits.max_format_width})",
                format=format,
            )


class RenderBudget:
    """What one render may still spend: loop iterations, output size and time."""

    def __init__(self, limits: TemplateLimits, format: str) -> None:
        self.limits = limits
        self.format = format
        self.iterations = 0
        self.deadline = time.monotonic() + limits.max_seconds

    def tick(self) -> None:
        """Fail once the render has run past `max_seconds`."""
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(
                "max_seconds",
                f"rendering took more than {self.limits.max_seconds} s",
                format=self.format,
            )

    def iterate(self, items: Iterable[T]) -> Iterator[T]:
        """`items`, each one counted against `max_loop_iterations` and the deadline."""
        for item in items:
            self.iterations += 1
            if self.iterations > self.limits.max_loop_iterations:
                raise TemplateLimitError(
                    "max_loop_iterations",
                    f"more than {self.limits.max_loop_iterations} loop iterations",
                    format=self.format,
                )
            self.tick()
            yield item

    def measure(self, value: T, what: str = "a value") -> T:
        """`value`, after checking its length against `max_output_chars`."""
        if isinstance(value, Sized) and not isinstance(value, type):
            self.check_size(len(value), what)
        return value

    def check_size(self, size: int, what: str = "the output") -> None:
        """Fail when `size` characters (or items) are past `max_output_chars`."""
        if size > self.limits.max_output_chars:
            raise TemplateLimitError(
                "max_output_chars",
                f"{what} would be {size} long (at most {self.limits.max_output_chars})",
                format=self.format,
            )


_CURRENT: ContextVar[RenderBudget | None] = ContextVar("template_render_budget", default=None)


def current_budget() -> RenderBudget:
    """The budget of the render running in this context (a fresh default one outside any)."""
    found = _CURRENT.get()
    return found if found is not None else RenderBudget(LIMITS, "template")


def enter_budget(budget: RenderBudget) -> Any:
    """Make `budget` the current one; pass the result to `leave_budget`."""
    return _CURRENT.set(budget)


def leave_budget(token: Any) -> None:
    """Restore the budget that was current before `enter_budget`."""
    _CURRENT.reset(token)
