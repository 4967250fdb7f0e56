"""Prompt templates: the variables a template reads, checking it, and rendering it in one pass.

Four formats (each an engine in `runnable.template_engines`):

- `curly` (default): `{{name}}`; the text between the braces, trimmed, is ONE literal
  name (`{{user.name}}` is the name `user.name`).
- `fstring`: Python's format syntax read by the standard library's parser; `{user.name}`
  and `{items[0]}` read the root `user` / `items`.
- `jinja2`: the names jinja2 would look up in the context (loop and `set` variables are
  not inputs), read by a linear scanner that follows jinja2's grammar and scoping
  (`template_engines.jinja_names`); checking and rendering use jinja2 itself, in its
  sandbox, without `include` or `import`.
- `mustache`: chevron-blue's tokens; sections are inputs, names inside a section are
  looked up on the section's value and are not inputs; no partials.

`extract_variables` is lenient and linear: it never raises on half-typed text (an
unclosed `{{` is not a variable, the others still are). `check_template` says what is
wrong; `render` checks, then renders under `TemplateLimits` (output size, nesting, loop
iterations, format widths, powers, time): a limit hit is a `TemplateLimitError` naming
it. Rendering never re-reads what it inserts: a value holding `{{x}}` stays literal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from anyio import to_thread

from runnable.errors import (
    MissingTemplateVariablesError,
    UnsupportedTemplateFormatError,
)
from runnable.template_engines import curly, fstring, jinja, mustache
from runnable.template_engines.limits import LIMITS, RenderBudget, TemplateLimits

__all__ = [
    "FORMATS",
    "LIMITS",
    "TemplateFormat",
    "TemplateLimits",
    "arender",
    "check_template",
    "extract_variables",
    "render",
]

TemplateFormat = Literal["curly", "fstring", "jinja2", "mustache"]
FORMATS: tuple[TemplateFormat, ...] = ("curly", "fstring", "jinja2", "mustache")


def _format_of(format: str) -> TemplateFormat:
    name = format.strip().lower()
    for known in FORMATS:
        if name == known:
            return known
    raise UnsupportedTemplateFormatError(
        f"unknown template format {format!r}; expected one of {', '.join(FORMATS)}"
    )


def _as_text(value: Any) -> str:
    """A value as prompt text: strings as they are, everything else as JSON when it can be."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def extract_variables(
    text: str, format: str = "curly", *, limits: TemplateLimits = LIMITS
) -> list[str]:
    """The input variables of a template, in order of first appearance, without duplicates.

    Lenient: a malformed or half-typed template gives the variables that can be read (an
    unclosed tag is skipped) and never raises `TemplateError` (`check_template` does).
    Only an unknown format raises. Linear in the length of the text.
    """
    kind = _format_of(format)
    if kind == "curly":
        return curly.variables(text)
    if kind == "fstring":
        return fstring.variables(text)
    if kind == "jinja2":
        return jinja.variables(text, limits)
    return mustache.variables(text)


def check_template(text: str, format: str = "curly", *, limits: TemplateLimits = LIMITS) -> None:
    """Raise `TemplateError` naming what is wrong with a template (format and position).

    Refused: malformed text, positional fstring fields, mustache partials and private
    names, jinja2 `include`/`import`, and nesting or format widths past `limits`
    (`TemplateLimitError`).
    """
    kind = _format_of(format)
    if kind == "curly":
        curly.check(text)
    elif kind == "fstring":
        fstring.check(text, limits)
    elif kind == "jinja2":
        jinja.check(text, limits)
    else:
        mustache.check(text, limits)


def render(
    text: str,
    variables: Mapping[str, Any],
    format: str = "curly",
    *,
    strict: bool = False,
    limits: TemplateLimits = LIMITS,
) -> str:
    """Render a template in one pass; inserted values are never read as template text.

    A variable without a value stays as written in `curly` and `fstring`, and renders
    empty in `jinja2` and `mustache`; with `strict=True` it raises
    `MissingTemplateVariablesError` naming every missing one. Non-string values are
    inserted as JSON in `curly` and `fstring`. A malformed template raises
    `TemplateError`; one past `limits`, `TemplateLimitError` naming the limit.
    """
    kind = _format_of(format)
    check_template(text, kind, limits=limits)
    if strict:
        names = extract_variables(text, kind, limits=limits)
        if kind == "curly":
            missing = [n for n in names if curly.lookup(n, variables) is curly.MISSING]
        else:
            missing = [n for n in names if n not in variables]
        if missing:
            raise MissingTemplateVariablesError(missing, format=kind)
    budget = RenderBudget(limits, kind)
    if kind == "curly":
        return curly.render(text, variables, budget, _as_text)
    if kind == "fstring":
        return fstring.render(text, variables, budget, _as_text)
    if kind == "jinja2":
        return jinja.render(text, variables, budget)
    return mustache.render(text, variables, budget)


async def arender(
    text: str,
    variables: Mapping[str, Any],
    format: str = "curly",
    *,
    strict: bool = False,
    limits: TemplateLimits = LIMITS,
) -> str:
    """`render` in a worker thread, so a heavy template never stalls the event loop."""
    return await to_thread.run_sync(
        lambda: render(text, variables, format, strict=strict, limits=limits)
    )
