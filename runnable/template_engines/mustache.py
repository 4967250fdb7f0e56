"""The `mustache` format, as chevron-blue reads it, tokenized and rendered under the limits.

Sections are inputs; names inside a section are looked up on the section's value first
and are not inputs. Names are looked up in mappings and lists only (never as Python
attributes: `{{a.__class__}}` is refused), partials are refused, sections nest at most
`max_nesting` deep, every list item rendered is counted and the output is measured.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

import attrs

from runnable.errors import TemplateError, TemplateLimitError
from runnable.template_engines.limits import RenderBudget, TemplateLimits

__all__ = ["check", "render", "variables"]

_INPUT_KINDS = ("variable", "no escape", "section", "inverted section")


_KINDS = {
    "!": "comment",
    "#": "section",
    "^": "inverted section",
    "/": "end",
    ">": "partial",
    "=": "set delimiter",
    "{": "no escape",
    "&": "no escape",
}
_REST_OF_LINE_BLANK = re.compile(r"[ \t\r\f\v]*(?:\n|\Z)")
_LAST_LINE_BLANK = re.compile(r"[ \t\r\f\v]*\Z")


def _scan(text: str, out: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """chevron-blue's token stream (standalone lines trimmed as the spec says), by index.

    Tokens go into `out` as they are read, so after an error it holds those before it.

    chevron-blue's own tokenizer copies the rest of the text at every tag (quadratic);
    this one moves an index, so its time is linear in the text.
    """
    tokens = [] if out is None else out
    append = tokens.append
    pos, line, standalone = 0, 1, True
    opened: list[tuple[str, int]] = []
    left, right = "{{", "}}"
    while pos < len(text):
        start = text.find(left, pos)
        if start < 0:
            append(("literal", text[pos:]))
            break
        literal = text[pos:start]
        newline = literal.rfind("\n")
        line += literal.count("\n")
        if newline >= 0 or standalone:
            standalone = _LAST_LINE_BLANK.match(literal, newline + 1) is not None
        end = text.find(right, start + len(left))
        if end < 0:
            raise TemplateError(f"unclosed tag at line {line}", format="mustache", line=line)
        tag, pos = text[start + len(left) : end], end + len(right)
        kind = _KINDS.get(tag[:1], "variable")
        tag = tag if kind == "variable" else tag[1:]
        if kind == "set delimiter":
            if not tag.endswith("="):
                raise TemplateError(
                    f"unclosed set delimiter tag at line {line}", format="mustache", line=line
                )
            tag = tag[:-1]
            parts = tag.strip().split(" ")
            left, right = parts[0], parts[-1]
            if not left or not right:
                raise TemplateError(f"empty delimiter at line {line}", format="mustache")
        elif (
            text[start + 2 : start + 3] == "{"
            and (left, right) == ("{{", "}}")
            and text.startswith("}", pos)
        ):
            pos += 1  # `{{{name}}}`: the third closing brace belongs to the tag
        key = tag.strip()
        if kind in ("section", "inverted section"):
            opened.append((key, line))
        elif kind == "end":
            if not opened:
                raise TemplateError(
                    f'closing "{key}", which was not opened, at line {line + 1}',
                    format="mustache",
                    line=line + 1,
                )
            if opened[-1][0] != key:
                raise TemplateError(
                    f'closing "{key}" while "{opened[-1][0]}" is open, at line {line + 1}',
                    format="mustache",
                    line=line + 1,
                )
            opened.pop()
        alone = None
        if standalone and kind not in ("variable", "no escape"):
            alone = _REST_OF_LINE_BLANK.match(text, pos)
        standalone = alone is not None
        if alone is not None:
            if alone.group().endswith("\n"):
                pos = alone.end()
            if kind != "partial":
                literal = literal.rstrip(" ")
        if literal:
            append(("literal", literal))
        if kind != "comment":
            append((kind, key))
    if opened:
        key, at = opened[-1]
        raise TemplateError(
            f'the tag "{key}" was never closed; it was opened at line {at}',
            format="mustache",
            line=at,
        )
    return tokens


def _tokens(text: str) -> tuple[list[tuple[str, str]], TemplateError | None]:
    """The tokens up to the first error, and that error."""
    found: list[tuple[str, str]] = []
    try:
        _scan(text, found)
    except TemplateError as exc:
        return found, exc
    return found, None


def variables(text: str) -> list[str]:
    """The names read outside any section, in order; never raises on half-typed text."""
    tokens, _ = _tokens(text)
    names: list[str] = []
    open_sections: list[str] = []
    for kind, key in tokens:
        if kind == "end":
            if open_sections:
                open_sections.pop()
            continue
        if kind not in _INPUT_KINDS:
            continue
        # Inside a section, names resolve on the section's value first: not inputs.
        if "section" not in open_sections and key != ".":
            names.append(key.split(".", 1)[0].strip())
        if kind in ("section", "inverted section"):
            open_sections.append("section" if kind == "section" else "inverted")
    return list(dict.fromkeys(name for name in names if name))


@attrs.frozen(slots=True)
class _Section:
    kind: str
    key: str
    body: tuple[Any, ...]


@lru_cache(maxsize=256)
def _tree(text: str, limits: TemplateLimits) -> tuple[Any, ...]:
    """The tokens as a tree of sections; raises for malformed text, partials, private names
    and sections nested past `max_nesting`."""
    tokens, error = _tokens(text)
    if error is not None:
        raise error
    stack: list[tuple[str, str, list[Any]]] = [("", "", [])]
    for kind, key in tokens:
        if kind == "partial":
            raise TemplateError(f"partial {{{{>{key}}}}} is not supported", format="mustache")
        if kind in _INPUT_KINDS and any(p.startswith("_") for p in key.split(".")):
            raise TemplateError(f"{{{{{key}}}}} reads a private name", format="mustache")
        if kind in ("section", "inverted section"):
            stack.append((kind, key, []))
            if len(stack) - 1 > limits.max_nesting:
                raise TemplateLimitError(
                    "max_nesting",
                    f"sections nest deeper than {limits.max_nesting}",
                    format="mustache",
                )
        elif kind == "end":
            open_kind, open_key, body = stack.pop()
            stack[-1][2].append(_Section(open_kind, open_key, tuple(body)))
        elif kind in ("literal", "variable", "no escape"):
            stack[-1][2].append((kind, key))
    return tuple(stack[0][2])


def check(text: str, limits: TemplateLimits) -> None:
    """Raise `TemplateError` for malformed text, a partial, a private name or deep nesting."""
    _tree(text, limits)


def _lookup(key: str, scopes: list[Any]) -> Any:
    """Like chevron: the innermost scope with the first part of the name wins."""
    if key == ".":
        return scopes[-1]
    for scope in reversed(scopes):
        value = scope
        for index, part in enumerate(key.split(".")):
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            elif isinstance(value, Sequence) and not isinstance(value, str) and part.isdigit():
                position = int(part)
                if position >= len(value):
                    return ""
                value = value[position]
            elif index > 0:
                return ""  # the name was found here; its path goes nowhere
            else:
                break
        else:
            return value if value in (0, False) else (value or "")
    return ""


def _render(
    body: tuple[Any, ...], scopes: list[Any], budget: RenderBudget, out: list[str], size: int
) -> int:
    for item in body:
        if isinstance(item, _Section):
            value = _lookup(item.key, scopes)
            if item.kind == "inverted section":
                if not value:
                    size = _render(item.body, scopes, budget, out, size)
            elif isinstance(value, Sequence | Iterator) and not isinstance(value, str):
                for element in budget.iterate(value):
                    size = _render(item.body, [*scopes, element], budget, out, size)
            elif value:
                size = _render(item.body, [*scopes, value], budget, out, size)
            continue
        kind, key = item
        text = key if kind == "literal" else _lookup(key, scopes)
        text = text if isinstance(text, str) else str(text)
        size += len(text)
        budget.check_size(size)
        out.append(text)
    return size


def render(text: str, variables: Mapping[str, Any], budget: RenderBudget) -> str:
    """The template rendered without HTML escaping, within `budget`."""
    out: list[str] = []
    _render(_tree(text, budget.limits), [dict(variables)], budget, out, 0)
    return "".join(out)
