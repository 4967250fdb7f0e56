"""The `curly` format: `{{name}}`, where the trimmed text between the braces is ONE name.

Tags are found by a pattern that never backtracks, so the time is linear in the text
whatever it holds; a `{{` that is never closed is not a tag.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from runnable.errors import TemplateError
from runnable.template_engines.limits import RenderBudget

__all__ = ["check", "lookup", "render", "tags", "variables"]

MISSING: Any = object()
# Possessive `*+`: the name part never gives back what it took, so a `{{` that is not
# closed costs one pass over the text after it, not a cubic search.
_TAG = re.compile(r"\{\{([^{}]*+)\}\}")


def tags(text: str) -> Iterator[tuple[int, int, str]]:
    """`(start, end, name)` of each `{{ name }}` whose name holds no brace, left to right."""
    for match in _TAG.finditer(text):
        yield match.start(), match.end(), match.group(1).strip()


def variables(text: str) -> list[str]:
    """The names of the text's tags, in order, without duplicates; never raises."""
    return list(dict.fromkeys(name for _, _, name in tags(text) if name))


def _line_and_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def check(text: str) -> None:
    """Raise `TemplateError` at the first `{{` that does not open a tag (one pass)."""
    pos = 0
    for start, end, _ in tags(text):
        _refuse_open(text, text.find("{{", pos, start))
        pos = end
    _refuse_open(text, text.find("{{", pos))


def _refuse_open(text: str, unclosed: int) -> None:
    # A stray `{{` between tags is a half-typed tag too: its text would go to the model.
    if unclosed >= 0:
        line, column = _line_and_column(text, unclosed)
        raise TemplateError(
            "'{{' is never closed by '}}'", format="curly", line=line, column=column
        )


def lookup(name: str, variables: Mapping[str, Any]) -> Any:
    """The value of a name: the literal name first, then a dotted path; MISSING if none."""
    if name in variables:
        return variables[name]
    value: Any = variables
    for part in name.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list | tuple) and part.lstrip("-").isdigit():
            try:
                value = value[int(part)]
            except IndexError:
                return MISSING
        else:
            return MISSING
    return value


def render(
    text: str,
    variables: Mapping[str, Any],
    budget: RenderBudget,
    as_text: Callable[[Any], str],
) -> str:
    """Each tag replaced by its value (as text); a tag without a value stays as written.

    The text is checked first by `runnable.templates.render` (not again here).
    """
    parts: list[str] = []
    size = 0
    pos = 0
    for start, end, name in tags(text):
        value = lookup(name, variables) if name else MISSING
        inserted = text[start:end] if value is MISSING else as_text(value)
        size += start - pos + len(inserted)
        budget.check_size(size)
        parts += [text[pos:start], inserted]
        pos = end
    budget.check_size(size + len(text) - pos)
    parts.append(text[pos:])
    return "".join(parts)
