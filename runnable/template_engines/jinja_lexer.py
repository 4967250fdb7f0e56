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
_DEPTH = {"(": 1, "[": 1, ")": -1, "]": -1}
_WORD_CHARACTER = re.compile(r"\w")
_QUOTE_OR_BRACE = re.compile(r"['\"{}]")


def _ungrouped(pattern: str) -> str:
    return re.sub(r"\((?!\?)", "(?:", pattern)


# The same tokens, each one group (one `findall` reads a stretch): without strings (the
# exact path reads no quote), and leniently with them, where a quote that does not
# close takes the rest of the stretch (so it is tried once, not from every later quote).
_OPERATORS = "|".join(map(re.escape, sorted(operators, key=len, reverse=True)))
_WORD = (
    rf"(?ix:{_ungrouped(float_re.pattern)})|(?ix:{_ungrouped(integer_re.pattern)})"
    rf"|{_NAME_RE.pattern}|{_OPERATORS}|\S"
)
_WORDS = re.compile(rf"\s*+({_WORD})")
_LENIENT_WORDS = re.compile(rf"\s*+((?s:{_ungrouped(string_re.pattern)})|['\"][\s\S]*+|{_WORD})")


def _word_kind(word: str) -> str:
    """A token that is not an operator: a number, a string, a name, or a character
    jinja2 refuses."""
    first = word[0]
    if first.isdigit():
        return "integer"  # or float: the grammar reads both alike
    if first in "'\"":
        return "string"
    return "name" if word.isidentifier() else "bad"


class _BrokenTagError(Exception):
    """jinja2 would refuse the text here: read it again in recovery mode."""


class Lexer:
    """Splits a template into tags; `tags()` never raises."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.work = 0
        self.recovering = False
        size = len(text) + 1
        # Searches that look ahead: where the last one found its target (reused while
        # still ahead), and from where one failed (it fails from anywhere after too).
        self._found = {"}}": -1, "%}": -1}
        self._none_after = {"}}": size, "%}": size, "#}": size, "raw": size}

    def tags(self) -> list[Tag]:
        """The tags in text order (data, comments and raw blocks hold no names)."""
        text = self.text
        tags: list[Tag] = []
        pos = 0
        while (found := _OPENER.search(text, pos)) is not None:
            self.work += 1
            try:
                pos = self._one(found.start(), tags)
            except _BrokenTagError:
                # From this tag on, jinja2 would refuse the text: read the rest leniently.
                self.recovering = True
                pos = self._one(found.start(), tags)
        return tags

    def _one(self, start: int, tags: list[Tag]) -> int:
        """Read the tag (or comment, or raw block) at `start`; where reading goes on."""
        text = self.text
        kind = text[start + 1]
        if kind == "#":
            return self._skip_comment(start)
        if kind == "%" and (raw := _RAW_BEGIN.match(text, start)) is not None:
            return self._skip_raw(raw.end())
        if self.recovering and _OPENER.match(text, start + 2) is not None:
            return start + 2  # `{{{%`...: an empty tag cut short, nothing to read
        if kind == "{" and (fast := _FAST.match(text, start)) is not None:
            name = fast.group(1)
            if name not in _NOT_FAST and name.isidentifier():
                tags.append((FAST, name, [], True))
                return fast.end()
        begin = start + 2
        if text.startswith(("-", "+"), begin):
            begin += 1
        closing, end, tag = ("}}", _VARIABLE_END, "variable")
        if kind == "%":
            closing, end, tag = ("%}", _BLOCK_END, "block")
        close = self._find(closing, begin)
        if self.recovering:
            opener = _OPENER.search(text, begin)
            stop = opener.start() if opener is not None else len(text)
            cut = close < 0 or close >= stop
            inside = stop if cut else self._inside_end(begin, close, kind)
            # A variable tag without a word holds no name: nothing to read.
            if kind == "%" or _WORD_CHARACTER.search(text, begin, inside) is not None:
                tags.append((tag, "", self._tokens(begin, inside, lenient=True), not cut))
            return stop if cut else self._after(end, inside)
        if close < 0:
            raise _BrokenTagError  # the tag never closes
        inside = self._inside_end(begin, close, kind)
        if _QUOTE_OR_BRACE.search(text, begin, inside) is None:
            # No string and no brace: jinja2 ends the tag at the first end delimiter.
            tags.append((tag, "", self._tokens(begin, inside, lenient=False), True))
            return self._after(end, inside)
        tokens, after = self._tag(begin, end)
        tags.append((tag, "", tokens, True))
        return after

    def _inside_end(self, begin: int, close: int, kind: str) -> int:
        """Where the tag's content stops: before `-}}`, `-%}` or `+%}` if so written."""
        signs = "-" if kind == "{" else "-+"
        return close - 1 if close > begin and self.text[close - 1] in signs else close

    def _after(self, end: re.Pattern[str], inside: int) -> int:
        found = end.match(self.text, inside)
        return found.end() if found is not None else inside + 2

    def _find(self, target: str, begin: int) -> int:
        """The first `target` at or after `begin`, or -1 (each stretch searched once)."""
        last = self._found.get(target, -1)
        if last >= begin:
            return last
        if begin >= self._none_after[target]:
            return -1
        found = self.text.find(target, begin)
        self.work += (found if found >= 0 else len(self.text)) - begin
        if found < 0:
            self._none_after[target] = begin
        elif target in self._found:
            self._found[target] = found
        return found

    def _tokens(self, begin: int, end: int, lenient: bool) -> list[Token]:
        """The tokens of a stretch without quotes or braces (or of any, leniently: a
        character jinja2 refuses is skipped)."""
        text = self.text
        end = begin + len(text[begin:end].rstrip())  # trailing spaces would be rescanned
        if lenient:
            words = _LENIENT_WORDS.findall(text, begin, end)
            self.work += len(words)
            return [
                (kind, word)
                for word in words
                if (kind := operators.get(word) or _word_kind(word)) != "bad"
            ]
        words = _WORDS.findall(text, begin, end)
        self.work += len(words)
        tokens = [(operators.get(word) or _word_kind(word), word) for word in words]
        depth = 0
        for kind, value in tokens:
            if kind == "bad":
                raise _BrokenTagError
            if value in _DEPTH:
                depth += _DEPTH[value]
                if depth < 0:
                    raise _BrokenTagError
        if depth:
            raise _BrokenTagError  # an unclosed bracket: jinja2 reads past the end, then fails
        return tokens

    def _skip_comment(self, start: int) -> int:
        close = self._find("#}", start + 2)
        if close >= 0:
            return close + 2
        if not self.recovering:
            raise _BrokenTagError
        return start + 2  # an unclosed `{#` is plain text

    def _skip_raw(self, begin: int) -> int:
        found = None
        if begin < self._none_after["raw"]:
            found = _RAW_END.search(self.text, begin)
            self.work += (found.end() if found is not None else len(self.text)) - begin
        if found is not None:
            return found.end()
        self._none_after["raw"] = min(self._none_after["raw"], begin)
        if not self.recovering:
            raise _BrokenTagError
        return begin  # an unclosed `{% raw %}` is plain text

    def _tag(self, pos: int, end: re.Pattern[str]) -> tuple[list[Token], int]:
        """Tokens up to the tag's end, as jinja2 reads them; `_BrokenTagError` if it fails."""
        text = self.text
        tokens: list[Token] = []
        expected: list[str] = []
        while True:
            self.work += 1
            if not expected and (closing := end.match(text, pos)) is not None:
                return tokens, closing.end()
            token = _TOKEN.match(text, pos)
            if token is None:
                raise _BrokenTagError  # a stray character, an unterminated string, the end
            pos = token.end()
            kind = token.lastgroup or ""
            value = token.group()
            if kind == "operator":
                if value in _CLOSERS:
                    expected.append(_CLOSERS[value])
                elif value in ")]}" and (not expected or expected.pop() != value):
                    raise _BrokenTagError
                kind = operators[value]
            elif kind == "whitespace":
                continue
            elif kind == "name" and not value.isidentifier():
                raise _BrokenTagError
            tokens.append((kind, value))
