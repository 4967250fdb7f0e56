"""The jinja2 extraction this project used before its own scanner, kept as the reference
the scanner is held to: jinja2's lexer and parser, then `meta.find_undeclared_variables`
(jinja2's compiler run for its bookkeeping), the names ordered by where they first
appear as a name in a tag."""

from __future__ import annotations

from jinja2 import meta

from runnable.template_engines.jinja import _JINJA

__all__ = ["reference_variables"]


def _ordered(tokens: list[tuple[int, str, str]], wanted: set[str]) -> list[str]:
    """The `wanted` names in text order: names in tags, not after `.`, `|` or `is`, not
    bound by `for`/`set`/`with`/`macro`, and not a block tag's own name."""
    names: list[str] = []
    previous = tag = ""
    in_tag = at_tag = binding = False
    for _, kind, value in tokens:
        if kind == "whitespace":
            continue
        if kind in ("block_begin", "variable_begin"):
            in_tag, tag, binding = True, "", False
        elif kind in ("block_end", "variable_end"):
            in_tag = False
        elif kind == "name" and at_tag:
            tag = value
            binding = value in ("for", "set", "with", "macro")
        elif kind == "name" and in_tag and previous not in (".", "|", "is"):
            names.extend([value] if not binding and value in wanted else [])
        if (kind == "operator" and value == "=") or (value == "in" and tag == "for"):
            binding = False
        at_tag = kind == "block_begin"
        previous = value
    return list(dict.fromkeys(names))


def reference_variables(text: str) -> list[str] | None:
    """What jinja2 finds undeclared, in text order; None when jinja2 refuses the text."""
    try:
        tokens = list(_JINJA.lex(text))
        undeclared = meta.find_undeclared_variables(_JINJA.parse(text))
    except Exception:  # any refusal counts: syntax, the compiler's assertions, recursion
        return None
    names = _ordered(tokens, set(undeclared))
    names.extend(sorted(undeclared.difference(names)))
    return names
