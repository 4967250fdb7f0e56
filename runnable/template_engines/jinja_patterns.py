"""The regular expressions `jinja_lexer` reads a jinja2 template with.

Built from jinja2's own token patterns (`jinja2.lexer`), possessive wherever they repeat
(no backtracking): the tags of common shapes with the data before them, and runs of
them, in one match (`EXACT`, `LENIENT`: see the comments below); a tag's tokens
(`TOKEN`, one at a time as jinja2 reads them; `WORDS`, `LENIENT_WORDS`, all of a stretch
in one pass).
"""

from __future__ import annotations

import re

from jinja2 import lexer as _jinja2_lexer
from jinja2.lexer import float_re, integer_re, operator_re, operators, string_re

__all__ = [
    "BLOCK_END",
    "EXACT",
    "EXACT_SINGLE",
    "EXACT_TAGS",
    "LENIENT",
    "LENIENT_VARIABLES",
    "LENIENT_WORDS",
    "OPENER",
    "QUOTE_OR_BRACE",
    "RAW_BEGIN",
    "RAW_END",
    "RUN_NAMES",
    "TOKEN",
    "VARIABLE_END",
    "WORDS",
    "WORD_CHARACTER",
]

# jinja2's own identifier pattern (the lexer imports it from a private module).
_NAME_RE: re.Pattern[str] = getattr(_jinja2_lexer, "name_re")  # noqa: B009


def _quick_names(pattern: str) -> str:
    """jinja2's name pattern, `[\\w...]+`, as one that matches the same text faster: runs
    of word characters, and the other characters only past ASCII."""
    if not (pattern.startswith("[\\w") and pattern.endswith("]+")):
        return pattern
    return rf"(?:\w++|(?![\x00-\x7f])[{pattern[3:-2]}])++"


_NAME_TOKEN = _quick_names(_NAME_RE.pattern)
OPENER = re.compile(r"\{[{%#]")
RAW_BEGIN = re.compile(r"\{%[-+]?\s*+raw\s*+(?:-%\}\s*+|%\})")
RAW_END = re.compile(r"\{%[-+]?\s*+endraw\s*+(?:\+%\}|-%\}\s*+|%\})")
VARIABLE_END = re.compile(r"-\}\}\s*+|\}\}")
BLOCK_END = re.compile(r"\+%\}|-%\}\s*+|%\}")
TOKEN = re.compile(
    rf"(?P<whitespace>\s+)|(?P<float>(?ix:{float_re.pattern}))"
    rf"|(?P<integer>(?ix:{integer_re.pattern}))|(?P<name>{_NAME_TOKEN})"
    rf"|(?P<string>(?s:{string_re.pattern}))|(?P<operator>{operator_re.pattern})"
)

WORD_CHARACTER = re.compile(r"\w")
QUOTE_OR_BRACE = re.compile(r"['\"{}]")


def _ungrouped(pattern: str) -> str:
    return re.sub(r"\((?!\?)", "(?:", pattern)


# The same tokens, each one group (one `findall` reads a stretch): without strings (the
# exact path reads no quote), and leniently with them, where a quote that does not
# close takes the rest of the stretch (so it is tried once, not from every later quote).
_OPERATORS = "|".join(map(re.escape, sorted(operators, key=len, reverse=True)))
_WORD = (
    rf"(?ix:{_ungrouped(float_re.pattern)})|(?ix:{_ungrouped(integer_re.pattern)})"
    rf"|{_NAME_TOKEN}|{_OPERATORS}|\S"
)
WORDS = re.compile(rf"\s*+({_WORD})")
LENIENT_WORDS = re.compile(rf"\s*+((?s:{_ungrouped(string_re.pattern)})|['\"][\s\S]*+|{_WORD})")

# The data before the next tag, then the tag when it has a common shape, read in one
# match: `{{ name }}` (`fast`), a variable tag (`var`) or a block tag (`block`, not a
# `raw`); anything else is left to `Lexer._one` (`other`, at `at`). Exactly: the content
# holds no quote and no brace (jinja2 ends such a tag at its first end delimiter), as in
# `_one`'s shortcut. Leniently: the content stops at the first end delimiter or the next
# tag opener (then the tag was cut short), as `_one` reads in recovery mode. A `-` or
# `+` before the end delimiter belongs to the delimiter. Possessive: no backtracking.
_DATA = r"(?:[^{]++|\{(?![{%#]))*+(?P<at>)"
# Leniently, a variable tag without a word character holds no name: skipped as data.
_LENIENT_DATA = (
    r"(?:[^{]++|\{(?![{%#])"
    r"|\{\{[-+]?+(?:[^{}\w\-]++|-(?!\}\})|\{(?![{%#])|\}(?!\}))*+"
    r"(?:-\}\}\s*+|\}\}|(?=\{[{%#])|\Z))*+(?P<at>)"
)
# A run of `{{ name }}` tags (attributes and argument-less filters allowed) whose first
# names are plain ASCII identifiers (not a constant nor `not`), with data between them,
# read in one match (`run`); `RUN_NAMES` then finds their names in one pass (no other
# `{{` before a name is in such a run). Other names are runs of word characters (a
# subset of jinja2's name pattern, which also takes some combining marks and is slow to
# match): a tag with any other name is read as a variable tag.
_WORD_NAME = r"(?!\d)\w++"
_ASCII_NAME = r"(?!(?:true|false|none|True|False|None|not)\b)[A-Za-z_][A-Za-z0-9_]*+\b"
_RUN_BODY = (
    rf"\{{\{{[-+]?\s*+{_ASCII_NAME}(?>\s*+\.\s*+{_WORD_NAME})*+"
    rf"(?>\s*+\|\s*+{_WORD_NAME}(?>\s*+\.\s*+{_WORD_NAME})*+)*+\s*+"
)
RUN_NAMES = re.compile(r"\{\{[-+]?\s*+([A-Za-z_][A-Za-z0-9_]*+)")
_NOT_RAW = r"(?![-+]?\s*+raw\s*+-?%\})"
_VARIABLE_CLOSE = r"-\}\}\s*+|\}\}"
_BLOCK_CLOSE = r"\+%\}|-%\}\s*+|%\}"
_RUN_TAG = rf"{_RUN_BODY}(?:-\}}\}}\s*+|\}}\}})"
# Leniently, also cut short by the next tag opener (or the end).
_LENIENT_RUN_TAG = rf"{_RUN_BODY}(?:-\}}\}}\s*+|\}}\}}|(?=\{{[{{%#])|\Z)"
_VARIABLE_CONTENT = r"(?:[^{}'\"\-]++|-(?!\}\}))*+"
_BLOCK_CONTENT = r"(?:[^{}'\"%\-+]++|[-+](?!%\})|%(?!\}))*+"
_EXACT_TAG = (
    rf"\{{(?:\{{[-+]?+{_VARIABLE_CONTENT}(?:{_VARIABLE_CLOSE})"
    rf"|%{_NOT_RAW}[-+]?+{_BLOCK_CONTENT}(?:{_BLOCK_CLOSE}))"
)
_EXACT_ONE = (
    rf"|\{{\{{[-+]?+(?P<var>{_VARIABLE_CONTENT})(?:{_VARIABLE_CLOSE})"
    rf"|\{{%{_NOT_RAW}[-+]?+(?P<block>{_BLOCK_CONTENT})(?:{_BLOCK_CLOSE})"
    r"|(?P<other>))"
)
_DATA_ONLY = _DATA.replace("(?P<at>)", "")
# Two tags or more of those shapes with data between them (`tags`) are read in one
# match, and `EXACT_TAGS` gives their contents in one pass (no `{{` or `{%` in data).
EXACT = re.compile(
    rf"{_DATA}(?:(?P<run>{_RUN_TAG}(?:{_DATA_ONLY}{_RUN_TAG})*+)"
    rf"|(?P<tags>{_EXACT_TAG}(?:{_DATA_ONLY}{_EXACT_TAG})++){_EXACT_ONE}"
)
EXACT_SINGLE = re.compile(rf"{_DATA}(?:(?P<run>{_RUN_TAG}){_EXACT_ONE}")
EXACT_TAGS = re.compile(
    rf"\{{(?:(\{{)[-+]?+({_VARIABLE_CONTENT})(?:{_VARIABLE_CLOSE})"
    rf"|%[-+]?+({_BLOCK_CONTENT})(?:{_BLOCK_CLOSE}))"
)
_LENIENT_CONTENT = r"(?:[^{}\-]++|-(?!\}\})|\{(?![{%#])|\}(?!\}))*+"
_LENIENT_DATA_ONLY = _LENIENT_DATA.replace("(?P<at>)", "")
# Leniently, a stretch of variable tags (`vars`, with data between them) is read in one
# match, and `LENIENT_VARIABLES` gives their contents and ends in one pass: leniently,
# no tag runs past the next tag opener, and the data of a stretch holds no `{{` but at
# the start of a tag without a word (which reads nothing), so every `{{` is a tag's.
LENIENT_VARIABLES = re.compile(rf"\{{\{{[-+]?+({_LENIENT_CONTENT})({_VARIABLE_CLOSE})?")
_LENIENT_VARIABLE_TAG = rf"\{{\{{[-+]?+{_LENIENT_CONTENT}(?:{_VARIABLE_CLOSE})?"
LENIENT = re.compile(
    rf"{_LENIENT_DATA}(?:(?P<run>{_LENIENT_RUN_TAG}"
    rf"(?:{_LENIENT_DATA_ONLY}{_LENIENT_RUN_TAG})*+)"
    rf"|(?P<vars>{_LENIENT_VARIABLE_TAG}(?:{_LENIENT_DATA_ONLY}{_LENIENT_VARIABLE_TAG})*+)"
    rf"|\{{%{_NOT_RAW}[-+]?+(?P<block>(?:[^{{%\-+]++|[-+](?!%\}})|\{{(?![{{%#])|%(?!\}}))*+)"
    rf"(?P<bclose>{_BLOCK_CLOSE})?"
    r"|(?P<other>))"
)
