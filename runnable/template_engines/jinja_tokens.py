"""A jinja2 tag's tokens, as jinja2's lexer reads them.

`Tokenizer.words` reads a tag's whole content in one pass of a regular expression
(`jinja_patterns.WORDS`, `LENIENT_WORDS`), `Tokenizer.tag` one token at a time from a
place in the text (a tag with quotes or braces, which jinja2 ends where its brackets
close). `BrokenTagError` says jinja2 would refuse the tag. `Tokenizer.work` counts the
tokens read, for the linearity tests.
"""

from __future__ import annotations

import re

from jinja2.lexer import operators

from runnable.template_engines.jinja_patterns import LENIENT_WORDS, TOKEN, WORDS

__all__ = ["BrokenTagError", "Token", "Tokenizer"]

Token = tuple[str, str]
"""`(type, value)`: a jinja2 token type (`name`, `string`, `integer`, `float`, `dot`,
`pipe`...) and its text."""

_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_DEPTH = {"(": 1, "[": 1, ")": -1, "]": -1}
_KNOWN_WORDS = 4096  # words whose token a lexer keeps (bounded: names may all differ)


def _word_kind(word: str) -> str:
    """A token that is not an operator: a number, a string, a name, or a character
    jinja2 refuses."""
    first = word[0]
    if first.isdigit():
        return "integer"  # or float: the grammar reads both alike
    if first in "'\"":
        return "string"
    return "name" if word.isidentifier() else "bad"


class BrokenTagError(Exception):
    """jinja2 would refuse the text here: read it again in recovery mode."""


class Tokenizer:
    """The tokens of a text's tags (a word's token is kept: a text repeats them)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.work = 0
        self._known: dict[str, Token] = {}

    def words(self, content: str, lenient: bool) -> list[Token]:
        """The tokens of a tag's content without quotes or braces (or of any, leniently:
        a character jinja2 refuses is skipped); `BrokenTagError` where jinja2 fails."""
        content = content.rstrip()  # trailing spaces would be rescanned
        known = self._known
        if lenient:
            words = LENIENT_WORDS.findall(content)
            self.work += len(words)
            tokens = [known.get(word) or self._token(word) for word in words]
            return [token for token in tokens if token[0] != "bad"]
        words = WORDS.findall(content)
        self.work += len(words)
        tokens = [known.get(word) or self._token(word) for word in words]
        depth = 0
        for kind, value in tokens:
            if kind == "bad":
                raise BrokenTagError
            if value in _DEPTH:
                depth += _DEPTH[value]
                if depth < 0:
                    raise BrokenTagError
        if depth:
            raise BrokenTagError  # an unclosed bracket: jinja2 reads past the end, then fails
        return tokens

    def _token(self, word: str) -> Token:
        """The token a word is (kept: a template repeats its names and operators)."""
        token = (operators.get(word) or _word_kind(word), word)
        if len(self._known) < _KNOWN_WORDS:
            self._known[word] = token
        return token

    def tag(self, pos: int, end: re.Pattern[str]) -> tuple[list[Token], int]:
        """Tokens up to the tag's end, as jinja2 reads them; `BrokenTagError` if it fails."""
        text = self.text
        tokens: list[Token] = []
        expected: list[str] = []
        while True:
            self.work += 1
            if not expected and (closing := end.match(text, pos)) is not None:
                return tokens, closing.end()
            token = TOKEN.match(text, pos)
            if token is None:
                raise BrokenTagError  # a stray character, an unterminated string, the end
            pos = token.end()
            kind = token.lastgroup or ""
            value = token.group()
            if kind == "operator":
                if value in _CLOSERS:
                    expected.append(_CLOSERS[value])
                elif value in ")]}" and (not expected or expected.pop() != value):
                    raise BrokenTagError
                kind = operators[value]
            elif kind == "whitespace":
                continue
            elif kind == "name" and not value.isidentifier():
                raise BrokenTagError
            tokens.append((kind, value))
