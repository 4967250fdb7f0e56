"""Prompt templates: the variables a template reads, and rendering it in one pass.

Four formats:

- `curly` (default): `{{name}}`; the text between the braces, trimmed, is ONE literal
  name (`{{user.name}}` is the name `user.name`).
- `fstring`: Python's format syntax read by the standard library's parser; `{user.name}`
  and `{items[0]}` read the root `user` / `items`.
- `jinja2`: names found undeclared by jinja2's own parser (loop and `set` variables are
  not inputs); rendering runs in jinja2's sandbox.
- `mustache`: tokens of chevron-blue (a maintained fork of chevron); sections are inputs,
  names inside a section are looked up on the section's value and are not inputs.

Rendering never re-reads what it inserts: a value holding `{{x}}` stays literal.
"""

import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from string import Formatter
from typing import Any, Literal

import chevron_blue  # type: ignore[import-untyped]
from chevron_blue.tokenizer import ChevronError, tokenize  # type: ignore[import-untyped]
from jinja2 import TemplateError as JinjaTemplateError
from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from runnable.errors import (
    MissingTemplateVariablesError,
    TemplateError,
    UnsupportedTemplateFormatError,
)

__all__ = ["FORMATS", "TemplateFormat", "extract_variables", "render"]

TemplateFormat = Literal["curly", "fstring", "jinja2", "mustache"]
FORMATS: tuple[TemplateFormat, ...] = ("curly", "fstring", "jinja2", "mustache")

_CURLY = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_FSTRING_FIELD = re.compile(r"\.([^.\[]+)|\[([^\]]+)\]")
_MISSING = object()
_JINJA = SandboxedEnvironment(keep_trailing_newline=True, autoescape=False)


def _format_of(format: str) -> TemplateFormat:
    name = format.strip().lower()
    for known in FORMATS:
        if name == known:
            return known
    raise UnsupportedTemplateFormatError(
        f"unknown template format {format!r}; expected one of {', '.join(FORMATS)}"
    )


def _line_and_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _as_text(value: Any) -> str:
    """A value as prompt text: strings as they are, everything else as JSON when it can be."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


# --- curly ---------------------------------------------------------------------------------


def _curly_variables(text: str) -> list[str]:
    names = [m.group(1) for m in _CURLY.finditer(text) if m.group(1)]
    last_close = text.rfind("}}")
    unclosed = text.find("{{", last_close + 2 if last_close >= 0 else 0)
    if unclosed >= 0 and not _CURLY.match(text, unclosed):
        line, column = _line_and_column(text, unclosed)
        raise TemplateError(
            "'{{' is never closed by '}}'", format="curly", line=line, column=column
        )
    return list(dict.fromkeys(names))


def _lookup_curly(name: str, variables: Mapping[str, Any]) -> Any:
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
                return _MISSING
        else:
            return _MISSING
    return value


def _render_curly(text: str, variables: Mapping[str, Any]) -> str:
    _curly_variables(text)  # a malformed template fails here too, naming the position

    def substitute(match: re.Match[str]) -> str:
        value = _lookup_curly(match.group(1), variables) if match.group(1) else _MISSING
        return match.group(0) if value is _MISSING else _as_text(value)

    # A function replacement: values are never scanned for `\1`-style escapes.
    return _CURLY.sub(substitute, text)


# --- fstring -------------------------------------------------------------------------------


def _fstring_error_offset(text: str) -> int:
    """Where the first unbalanced brace of a format string is (for error messages)."""
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


def _fstring_fields(text: str) -> Iterator[tuple[str, str | None, str | None, str | None]]:
    try:
        yield from Formatter().parse(text)
    except ValueError as exc:
        line, column = _line_and_column(text, _fstring_error_offset(text))
        raise TemplateError(str(exc), format="fstring", line=line, column=column) from exc


def _fstring_root(field: str) -> str:
    root = re.split(r"[.\[]", field, maxsplit=1)[0]
    if not root or root.isdigit():
        raise TemplateError(
            f"positional field {{{field}}} is not supported; name every field", format="fstring"
        )
    return root


def _fstring_variables(text: str) -> list[str]:
    names: list[str] = []
    for _, field, spec, _ in _fstring_fields(text):
        if field is None:
            continue
        names.append(_fstring_root(field))
        for _, inner, _, _ in _fstring_fields(spec or ""):
            if inner is not None:
                names.append(_fstring_root(inner))
    return list(dict.fromkeys(names))


def _fstring_value(field: str, variables: Mapping[str, Any]) -> Any:
    root = re.split(r"[.\[]", field, maxsplit=1)[0]
    value = variables.get(root, _MISSING)
    rest = field[len(root) :]
    pos = 0
    while pos < len(rest) and value is not _MISSING:
        match = _FSTRING_FIELD.match(rest, pos)
        if match is None:
            raise TemplateError(f"malformed field {{{field}}}", format="fstring")
        attribute, index = match.groups()
        key = attribute if attribute is not None else index
        if key.startswith("_"):
            raise TemplateError(f"field {{{field}}} reads a private name", format="fstring")
        if isinstance(value, Mapping):
            value = value.get(key, _MISSING)
        elif index is not None and index.isdigit() and isinstance(value, list | tuple):
            value = value[int(index)] if int(index) < len(value) else _MISSING
        else:
            value = getattr(value, key, _MISSING)
        pos = match.end()
    return value


def _render_fstring(text: str, variables: Mapping[str, Any]) -> str:
    formatter = Formatter()
    parts: list[str] = []
    for literal, field, spec, conversion in _fstring_fields(text):
        parts.append(literal)
        if field is None:
            continue
        _fstring_root(field)
        value = _fstring_value(field, variables)
        if value is _MISSING:
            suffix = (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            parts.append("{" + field + suffix + "}")
            continue
        spec = _render_fstring(spec, variables) if spec else ""
        try:
            value = formatter.convert_field(value, conversion) if conversion else value
            parts.append(format(value, spec) if spec else _as_text(value))
        except (ValueError, TypeError) as exc:
            raise TemplateError(f"field {{{field}}}: {exc}", format="fstring") from exc
    return "".join(parts)


# --- jinja2 --------------------------------------------------------------------------------


def _jinja_syntax_error(exc: TemplateSyntaxError) -> TemplateError:
    return TemplateError(exc.message or str(exc), format="jinja2", line=exc.lineno)


def _jinja2_variables(text: str) -> list[str]:
    try:
        undeclared = meta.find_undeclared_variables(_JINJA.parse(text))
        tokens = list(_JINJA.lex(text))
    except TemplateSyntaxError as exc:
        raise _jinja_syntax_error(exc) from exc
    names: list[str] = []
    previous = ""
    for _, kind, value in tokens:
        if kind == "whitespace":
            continue
        # After "." or "|" or "is" a name is an attribute, a filter or a test.
        if kind == "name" and value in undeclared and previous not in (".", "|", "is"):
            names.append(value)
        previous = value
    # Safety net: the lexer order must never lose a name the parser found.
    names.extend(sorted(undeclared.difference(names)))
    return list(dict.fromkeys(names))


@lru_cache(maxsize=256)
def _jinja_template(text: str) -> Any:
    try:
        return _JINJA.from_string(text)
    except TemplateSyntaxError as exc:
        raise _jinja_syntax_error(exc) from exc


def _render_jinja2(text: str, variables: Mapping[str, Any]) -> str:
    try:
        return str(_jinja_template(text).render(dict(variables)))
    except TemplateSyntaxError as exc:
        raise _jinja_syntax_error(exc) from exc
    except JinjaTemplateError as exc:  # includes the sandbox's SecurityError
        raise TemplateError(f"{type(exc).__name__}: {exc}", format="jinja2") from exc


# --- mustache ------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _mustache_tokens(text: str) -> tuple[tuple[str, str], ...]:
    try:
        tokens = tuple(tokenize(text))
    except ChevronError as exc:
        message = " ".join(str(exc).split())
        found = re.findall(r"line (\d+)", message)
        raise TemplateError(
            message, format="mustache", line=int(found[-1]) if found else None
        ) from exc
    for kind, key in tokens:
        if kind == "partial":
            raise TemplateError(f"partial {{{{>{key}}}}} is not supported", format="mustache")
    return tokens


def _mustache_variables(text: str) -> list[str]:
    names: list[str] = []
    open_sections: list[str] = []
    for kind, key in _mustache_tokens(text):
        if kind == "end":
            open_sections.pop()
            continue
        if kind not in ("variable", "no escape", "section", "inverted section"):
            continue
        # Inside a section, names resolve on the section's value first: not inputs.
        if "section" not in open_sections and key != ".":
            names.append(key.split(".", 1)[0].strip())
        if kind in ("section", "inverted section"):
            open_sections.append("section" if kind == "section" else "inverted")
    return list(dict.fromkeys(names))


def _render_mustache(text: str, variables: Mapping[str, Any]) -> str:
    tokens = list(_mustache_tokens(text))
    return str(chevron_blue.render(tokens, dict(variables), partials_path=None, no_escape=True))


# --- public --------------------------------------------------------------------------------

_EXTRACT = {
    "curly": _curly_variables,
    "fstring": _fstring_variables,
    "jinja2": _jinja2_variables,
    "mustache": _mustache_variables,
}
_RENDER = {
    "curly": _render_curly,
    "fstring": _render_fstring,
    "jinja2": _render_jinja2,
    "mustache": _render_mustache,
}


def extract_variables(text: str, format: str = "curly") -> list[str]:
    """The input variables of a template, in order of first appearance, without duplicates.

    A malformed template raises `TemplateError` naming the format and the line (and the
    column where the format reports one).
    """
    return _EXTRACT[_format_of(format)](text)


def render(
    text: str, variables: Mapping[str, Any], format: str = "curly", *, strict: bool = False
) -> str:
    """Render a template in one pass; inserted values are never read as template text.

    A variable without a value stays as written in `curly` and `fstring`, and renders
    empty in `jinja2` and `mustache`; with `strict=True` it raises
    `MissingTemplateVariablesError` naming every missing one. Non-string values are
    inserted as JSON in `curly` and `fstring`.
    """
    kind = _format_of(format)
    if strict:
        names = _EXTRACT[kind](text)
        if kind == "curly":
            missing = [n for n in names if _lookup_curly(n, variables) is _MISSING]
        else:
            missing = [n for n in names if n not in variables]
        if missing:
            raise MissingTemplateVariablesError(missing, format=kind)
    return _RENDER[kind](text, variables)
