"""The tags of a jinja2 template and their tokens, read in linear time without raising.

Tokens follow jinja2's own lexer: its token patterns (reused from `jinja2.lexer`) tried
in its order, its bracket balancing, its comment and `raw` rules, so a template jinja2
reads gives the same tokens here. Text jinja2 refuses (an unclosed tag, a stray
character, an unterminated string or comment) is read again from the start in a
recovery mode where no tag runs past the next tag opener, so a half-typed tag never
hides the tags after it. Both passes only move forward, and every search that looks
ahead without consuming (a comment's end, a closing quote) remembers where it failed:
the work is linear in the length of the text. `Lexer.work` counts it (tokens read plus
characters searched in vain), for the tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from jinja2 import lexer as _jinja2_lexer
from jinja2.lexer import float_re, integer_re, operator_re, operators, string_re

__all__ = ["FAST", "Lexer", "Tag", "Token"]

Token = tuple[str, str]
"""`(type, value)`: a jinja2 token type (`name`, `string`, `integer`, `float`, `dot`,
`pipe`...) and its text."""

Tag = tuple[str, str, list[Token], bool]
"""`(kind, name, tokens, complete)`: kind `variable` or `block` with the tag's tokens,
or kind `FAST` for `{{ name }}` (optionally with attributes and argument-less filters)
with `name` its only variable and no tokens; `complete` is False for a tag that did not
close properly (read in recovery mode)."""

FAST = "fast"

# jinja2's own identifier pattern (the lexer imports it from a private module).
_NAME_RE: re.Pattern[str] = getattr(_jinja2_lexer, "name_re")  # noqa: B009
_OPENER = re.compile(r"\{[{%#]")
_RAW_BEGIN = re.compile(r"\{%[-+]?\s*+raw\s*+(?:-%\}\s*+|%\})")
_RAW_END = re.compile(r"\{%[-+]?\s*+endraw\s*+(?:\+%\}|-%\}\s*+|%\})")
_VARIABLE_END = re.compile(r"-\}\}\s*+|\}\}")
_BLOCK_END = re.compile(r"\+%\}|-%\}\s*+|%\}")
_TOKEN = re.compile(
    rf"(?P<whitespace>\s+)|(?P<float>(?ix:{float_re.pattern}))"
    rf"|(?P<integer>(?ix:{integer_re.pattern}))|(?P<name>{_NAME_RE.pattern})"
    rf"|(?P<string>(?s:{string_re.pattern}))|(?P<operator>{operator_re.pattern})"
)
_NAME = rf"(?!\d){_NAME_RE.pattern}"
# The commonest tag, `{{ name }}` (attributes and argument-less filters allowed), in one
# match: only its first name can be a variable. Possessive: it never backtracks.
_FAST = re.compile(
    rf"\{{\{{[-+]?\s*+({_NAME})(?>\s*+\.\s*+{_NAME})*+"
    rf"(?>\s*+\|\s*+{_NAME}(?>\s*+\.\s*+{_NAME})*+)*+\s*+(?:-\}}\}}\s*+|\}}\}})"
)
# Names that are not a plain variable when they open an expression.
_NOT_FAST = frozenset({"true", "false", "none", "True", "False", "None", "not"})
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_OPENS_AFTER_BRACE = frozenset("{%#")


class _Broken(Exception):
    """jinja2 would refuse the text here: read it again in recovery mode."""


class Lexer:
    """Splits a template into tags; `tags()` never raises."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.work = 0
        # Where a search for a comment's end, a raw block's end or a closing quote
        # already failed: it fails from anywhere after too, so it is not searched again.
        self._no_comment_end = len(text) + 1
        self._no_raw_end = len(text) + 1
        self._no_closing_quote = {"'": len(text) + 1, '"': len(text) + 1}

    def tags(self) -> list[Tag]:
        """The tags in text order (data, comments and raw blocks hold no names)."""
        try:
            return list(self._read(recovering=False))
        except _Broken:
            return list(self._read(recovering=True))

    def _read(self, recovering: bool) -> Iterator[Tag]:
        text = self.text
        pos = 0
        while (found := _OPENER.search(text, pos)) is not None:
            start = found.start()
            self.work += 1
            kind = text[start + 1]
            if kind == "#":
                pos = self._skip_comment(start, recovering)
            elif kind == "%" and (raw := _RAW_BEGIN.match(text, start)) is not None:
                pos = self._skip_raw(raw.end(), recovering)
            elif (
                kind == "{"
                and (fast := _FAST.match(text, start)) is not None
                and (fast.group(1) not in _NOT_FAST and fast.group(1).isidentifier())
            ):
                self.work += 1
                pos = fast.end()
                yield FAST, fast.group(1), [], True
            else:
                begin = start + 2
                if text.startswith(("-", "+"), begin):
                    begin += 1
                end = _VARIABLE_END if kind == "{" else _BLOCK_END
                tag = "variable" if kind == "{" else "block"
                if recovering:
                    tokens, pos, complete = self._recover_tag(begin, end)
                else:
                    tokens, pos = self._tag(begin, end)
                    complete = True
                yield tag, "", tokens, complete

    def _skip_comment(self, start: int, recovering: bool) -> int:
        close = -1 if start >= self._no_comment_end else self.text.find("#}", start + 2)
        if close >= 0:
            self.work += 1
            return close + 2
        if not recovering:
            raise _Broken
        self.work += max(0, len(self.text) - start) if start < self._no_comment_end else 1
        self._no_comment_end = min(self._no_comment_end, start)
        return start + 2  # an unclosed `{#` is plain text

    def _skip_raw(self, begin: int, recovering: bool) -> int:
        found = None if begin >= self._no_raw_end else _RAW_END.search(self.text, begin)
        if found is not None:
            self.work += 1
            return found.end()
        if not recovering:
            raise _Broken
        self.work += max(0, len(self.text) - begin) if begin < self._no_raw_end else 1
        self._no_raw_end = min(self._no_raw_end, begin)
        return begin  # an unclosed `{% raw %}` is plain text

    def _tag(self, pos: int, end: re.Pattern[str]) -> tuple[list[Token], int]:
        """Tokens up to the tag's end, exactly as jinja2 reads them; `_Broken` if it fails."""
        text = self.text
        tokens: list[Token] = []
        expected: list[str] = []
        while True:
            self.work += 1
            if not expected and (closing := end.match(text, pos)) is not None:
                return tokens, closing.end()
            token = _TOKEN.match(text, pos)
            if token is None:
                raise _Broken  # a stray character, an unterminated string, the end
            pos = token.end()
            kind = token.lastgroup or ""
            value = token.group()
            if kind == "operator":
                if value in _CLOSERS:
                    expected.append(_CLOSERS[value])
                elif value in ")]}" and (not expected or expected.pop() != value):
                    raise _Broken
                kind = operators[value]
            elif kind == "whitespace":
                continue
            elif kind == "name" and not value.isidentifier():
                raise _Broken
            tokens.append((kind, value))

    def _recover_tag(self, pos: int, end: re.Pattern[str]) -> tuple[list[Token], int, bool]:
        """Tokens up to the tag's end, the next tag opener or the end of the text."""
        text = self.text
        size = len(text)
        tokens: list[Token] = []
        expected: list[str] = []
        complete = True
        while pos < size:
            self.work += 1
            char = text[pos]
            if char == "{" and text[pos + 1 : pos + 2] in _OPENS_AFTER_BRACE and pos + 1 < size:
                return tokens, pos, False
            if (closing := end.match(text, pos)) is not None:
                return tokens, closing.end(), complete and not expected
            if char in self._no_closing_quote and pos >= self._no_closing_quote[char]:
                pos, complete = pos + 1, False
                continue
            token = _TOKEN.match(text, pos)
            if token is None:
                if char in self._no_closing_quote:
                    self.work += size - pos
                    self._no_closing_quote[char] = pos
                pos, complete = pos + 1, False
                continue
            pos = token.end()
            kind = token.lastgroup or ""
            value = token.group()
            if kind == "whitespace":
                continue
            if kind == "operator":
                if value in _CLOSERS:
                    expected.append(_CLOSERS[value])
                elif value in ")]}":
                    if expected and expected[-1] == value:
                        expected.pop()
                    else:
                        complete = False
                kind = operators[value]
            tokens.append((kind, value))
        return tokens, size, False
