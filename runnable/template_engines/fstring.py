"""The `fstring` format: Python's format syntax, read by the standard library's parser.

`{user.name}` and `{items[0]}` read the roots `user` / `items`; positional fields are
refused; a width or precision past `max_format_width` is refused before formatting.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from string import Formatter
from typing import Any

from runnable.errors import TemplateError
from runnable.template_engines.limits import RenderBudget, TemplateLimits, check_format_spec

__all__ = ["check", "render", "variables"]

MISSING: Any = object()
_FIELD_STEP = re.compile(r"\.([^.\[]+)|\[([^\]]+)\]")
_ROOT = re.compile(r"[.\[]")
_OUTER_BRACE = re.compile(r"\{\{|\}\}|[{}]")
_INNER_BRACE = re.compile(r"[{}]")

Field = tuple[str, str | None, str | None, str | None]


def _line_and_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _error_offset(text: str) -> int:
    """Where the first unbalanced brace is (for error messages)."""
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{}" and text[i + 1 : i + 2] == char:
            i += 2
            continue
        if char == "}":
            return i
        if char == "{":
            depth, j = 1, i + 1
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            if depth:
                return i
            i = j
            continue
        i += 1
    return max(len(text) - 1, 0)


def _fields(text: str, *, locate: bool = True) -> Iterator[Field]:
    try:
        yield from Formatter().parse(text)
    except ValueError as exc:
        line = column = None
        if locate:  # a pass over the text, char by char: only for a message someone reads
            line, column = _line_and_column(text, _error_offset(text))
        raise TemplateError(str(exc), format="fstring", line=line, column=column) from exc


def _complete_fields(text: str) -> Iterator[str]:
    """Each balanced `{...}` of the text; escapes skipped, an unclosed `{` ends the scan.

    Only the braces are visited (`{{` and `}}` outside a field are escapes; inside one,
    each brace counts), so a long text with few braces is read at the regex's speed.
    """
    i = 0
    while (brace := _OUTER_BRACE.search(text, i)) is not None:
        i = brace.end()
        if brace.group() != "{":
            continue  # an escape, or a stray `}`
        depth = 1
        while depth:
            inner = _INNER_BRACE.search(text, i)
            if inner is None:
                return
            depth += 1 if inner.group() == "{" else -1
            i = inner.end()
        yield text[brace.start() : i]


def _root(field: str) -> str:
    root = _ROOT.split(field, maxsplit=1)[0]
    if not root or root.isdigit():
        raise TemplateError(
            f"positional field {{{field}}} is not supported; name every field", format="fstring"
        )
    return root


def _names(fields: Iterator[Field]) -> Iterator[str]:
    for _, field, spec, _ in fields:
        if field is None:
            continue
        yield _root(field)
        for _, inner, _, _ in _fields(spec or "", locate=False):
            if inner is not None:
                yield _root(inner)


def variables(text: str) -> list[str]:
    """The roots of the named fields, in order; a broken field is skipped, never raises."""
    try:
        return list(dict.fromkeys(_names(_fields(text, locate=False))))
    except TemplateError:
        pass
    names: list[str] = []
    for field in _complete_fields(text):
        try:
            names.extend(_names(_fields(field, locate=False)))
        except TemplateError:
            continue  # a positional or malformed field is no variable
    return list(dict.fromkeys(names))


def check(text: str, limits: TemplateLimits) -> None:
    """Raise `TemplateError` for unbalanced braces, positional fields or too-wide specs."""
    for _, field, spec, _ in _fields(text):
        if field is None:
            continue
        _root(field)
        for _, inner, inner_spec, _ in _fields(spec or ""):
            if inner is not None:
                _root(inner)
            check_format_spec(inner_spec or "", limits, format="fstring")
        check_format_spec(spec or "", limits, format="fstring")


def _value(field: str, variables: Mapping[str, Any]) -> Any:
    root = _ROOT.split(field, maxsplit=1)[0]
    value = variables.get(root, MISSING)
    rest = field[len(root) :]
    pos = 0
    while pos < len(rest) and value is not MISSING:
        match = _FIELD_STEP.match(rest, pos)
        if match is None:
            raise TemplateError(f"malformed field {{{field}}}", format="fstring")
        attribute, index = match.groups()
        key = attribute if attribute is not None else index
        if key.startswith("_"):
            raise TemplateError(f"field {{{field}}} reads a private name", format="fstring")
        if isinstance(value, Mapping):
            value = value.get(key, MISSING)
        elif index is not None and index.isdigit() and isinstance(value, list | tuple):
            value = value[int(index)] if int(index) < len(value) else MISSING
        else:
            value = getattr(value, key, MISSING)
        pos = match.end()
    return value


def render(
    text: str, variables: Mapping[str, Any], budget: RenderBudget, as_text: Callable[[Any], str]
) -> str:
    """Each field formatted; a field without a value stays as written (a nested spec too).

    The text is checked first by `runnable.templates.render` (not again here).
    """
    formatter = Formatter()
    parts: list[str] = []
    size = 0
    for literal, field, spec, conversion in _fields(text):
        parts.append(literal)
        size += len(literal)
        if field is None:
            continue
        value = _value(field, variables)
        if value is MISSING:
            suffix = (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            inserted = "{" + field + suffix + "}"
        else:
            spec = render(spec, variables, budget, as_text) if spec else ""
            check_format_spec(spec, budget.limits, format="fstring")
            try:
                value = formatter.convert_field(value, conversion) if conversion else value
                inserted = format(value, spec) if spec else as_text(value)
            except (ValueError, TypeError) as exc:
                raise TemplateError(f"field {{{field}}}: {exc}", format="fstring") from exc
        parts.append(inserted)
        size += len(inserted)
        budget.check_size(size)
    return "".join(parts)
