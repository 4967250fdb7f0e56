"""The tags of a jinja2 template and their tokens, read in linear time without raising.

Tokens follow jinja2's own lexer: its token patterns (reused from `jinja2.lexer`) tried
in its order, its bracket balancing, its comment and `raw` rules, so a template jinja2
reads gives the same tokens here. Text jinja2 refuses (an unclosed tag, a stray
character, an unterminated string or comment) is read from that tag on in a recovery
mode where no tag runs past the next tag opener, so a half-typed tag never hides the
tags after it. Tags of the common shapes (`{{ name }}`, a tag without quotes or braces;
in recovery mode, every variable tag) are read with the data before them in one match
of a regular expression (`jinja_patterns`), a run of them at once; a run's contents are
cut into shapes and names in one pass (`jinja_shapes`), each shape is tokenized once
(with placeholders for its names), and a content seen before is not read again; the
other tags are read token by token (`Lexer._one`). Both passes only move forward, and
every search that looks ahead without consuming (a comment's end, a closing quote)
remembers where it failed:
the work is linear in the length of the text. `Lexer.work` counts it (tokens read plus
characters searched in vain), for the tests.
"""

from __future__ import annotations

import re
from collections.abc import Hashable

from runnable.template_engines.jinja_patterns import (
    BLOCK_END,
    EXACT,
    EXACT_SINGLE,
    EXACT_TAGS,
    LENIENT,
    LENIENT_VARIABLES,
    OPENER,
    QUOTE_OR_BRACE,
    RAW_BEGIN,
    RAW_END,
    RUN_NAMES,
    VARIABLE_END,
    WORD_CHARACTER,
)
from runnable.template_engines.jinja_shapes import Shape, canonical, split, split_many
from runnable.template_engines.jinja_tokens import BrokenTagError, Token, Tokenizer

__all__ = ["FAST", "VARIABLES", "Lexer", "Tag", "Token"]


Tag = tuple[str, str, list[Token], bool, Shape | None, list[str]]
"""`(kind, key, tokens, complete, shape, names)`: kind `variable` or `block` with the
tag's tokens, or kind `FAST` for `{{ name }}` (optionally with attributes and
argument-less filters) with `key` its only variable and no tokens; `complete` is False
for a tag that did not close properly (read in recovery mode). For a variable or block
tag, `key` is its content as written when equal contents always give equal tokens
(else ""): a reader may keep what it made of a content by it. When `shape` is not None
the tokens are its canonical tokens (`jinja_shapes`: placeholders for names) and
`names` the tag's own names, which a reader puts back; a reader may keep what it made
of a shape by it."""

_Read = tuple[list[Token], Shape, list[str]]
"""A content read: its shape's canonical tokens, the shape, the content's names."""

FAST = "fast"
BLOCK = "block"
VARIABLES = "variables"
"""A run of variable tags of one shape (and all closed, or all cut short): `names` are
theirs one after the other, `shape.count` each; `key` is ""."""
_NO_TOKENS: list[Token] = []  # a FAST tag's (shared: never changed)
_NO_NAMES: list[str] = []


class Lexer:
    """Splits a template into tags; `tags()` never raises."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._work = 0
        self.tokenizer = Tokenizer(text)
        self.recovering = False
        size = len(text) + 1
        # Searches that look ahead: where the last one found its target (reused while
        # still ahead), and from where one failed (it fails from anywhere after too).
        self._found = {"}}": -1, "%}": -1}
        self._none_after = {"}}": size, "%}": size, "#}": size, "raw": size}
        # Tokens by tag content: templates repeat their tags (held once: the contents
        # are pieces of the text, so these hold at most the text's length); and by
        # shape, which contents with new names share.
        self._read_exactly: dict[str, _Read] = {}
        self._read_leniently: dict[str, _Read] = {}
        self._shapes: tuple[dict[Hashable, Shape], dict[Hashable, Shape]] = ({}, {})

    @property
    def work(self) -> int:
        """Steps taken: tokens read, matches, characters searched in vain."""
        return self._work + self.tokenizer.work

    def tags(self) -> list[Tag]:
        """The tags in text order (data, comments and raw blocks hold no names)."""
        text = self.text
        size = len(text)
        tags: list[Tag] = []
        append = tags.append
        pos = 0
        single_until = 0  # a stretch of tags read one by one (`_tag_run` declined it)
        # One match reads the data before a tag and the tag, when it has a common shape
        # (`EXACT`, `LENIENT`: the same reading as `_one`, without its searches);
        # other tags, and tags jinja2 would refuse, go to `_one`.
        while pos < size:
            lenient = self.recovering
            pattern = LENIENT if lenient else EXACT if pos >= single_until else EXACT_SINGLE
            found = pattern.match(text, pos)
            assert found is not None  # every alternative may match at an opener or the end
            self._work += 1
            shape = found.lastgroup or "other"
            if shape == "run":
                names = RUN_NAMES.findall(text, found.start("run"), found.end())
                self._work += len(names)
                tags.extend([(FAST, name, _NO_TOKENS, True, None, _NO_NAMES) for name in names])
                pos = found.end()
                continue
            if shape == "vars":
                self._variables(found.start("vars"), found.end(), tags)
                pos = found.end()
                continue
            if shape == "tags":
                if self._tag_run(found.start("tags"), found.end(), tags):
                    pos = found.end()
                else:  # a tag jinja2 refuses, or the mark: read them one by one
                    single_until = found.end()
                    pos = found.start("tags")
                continue
            if shape == "other":
                start = found.start("at")
                if start >= size:
                    break
                pos = self._careful(start, tags)
                continue
            if shape == "bclose":  # a lenient block tag that closed
                shape = "block"
                complete = True
            else:
                complete = not lenient
            content = found.group(shape)
            kind = "variable" if shape == "var" else "block"
            read = (self._read_leniently if lenient else self._read_exactly).get(content)
            if read is None:
                try:
                    read = self._words(content, lenient)
                except BrokenTagError:
                    self.recovering = True
                    continue  # read this tag again, leniently
            append((kind, content, read[0], complete, read[1], read[2]))
            pos = found.end()
        return tags

    def _variables(self, begin: int, end: int, tags: list[Tag]) -> None:
        """Leniently, the variable tags of a stretch (those without a word too, which
        read nothing)."""
        stretch = LENIENT_VARIABLES.findall(self.text, begin, end)
        self._work += len(stretch)
        contents = [content for content, _ in stretch]
        self._shaped(None, contents, [close != "" for _, close in stretch], tags)

    def _tag_run(self, begin: int, end: int, tags: list[Tag]) -> bool:
        """Exactly, the tags of a run (`tags` in `EXACT`); False, reading none, if one
        is a tag jinja2 refuses (they are read one by one then)."""
        first = EXACT_SINGLE.match(self.text, begin)
        if first is not None and first.lastgroup in ("var", "block"):
            # Text jinja2 refuses is most often so from its first tag: tried alone first.
            try:
                self._words(first.group(first.lastgroup), False)
            except BrokenTagError:
                return False
        found = EXACT_TAGS.findall(self.text, begin, end)
        self._work += len(found)
        variables = [brace != "" for brace, _, _ in found]
        contents = [variable if brace else block for brace, variable, block in found]
        return self._shaped(variables, contents, None, tags)

    def _shaped(
        self,
        variables: list[bool] | None,
        contents: list[str],
        completes: list[bool] | None,
        tags: list[Tag],
    ) -> bool:
        """Tags by their contents (`variables`: which are variable tags, None for all;
        `completes`: which closed, None for all); False, adding none, if one is a tag
        jinja2 refuses. Mostly new contents are read by their shapes (`split_many`), a
        run of variable tags of one shape as one `VARIABLES` tag."""
        size = len(contents)
        split_all = split_many(contents) if 2 * len(set(contents)) > size else None
        if split_all is None:
            return self._by_content(variables, contents, completes, tags)
        keys, names = split_all
        lenient = self.recovering
        shapes = self._shapes[lenient]
        self._work += len(names)
        if variables is None and keys.count(keys[0]) == size:
            complete = completes is None or completes[0]
            if completes is None or completes.count(complete) == size:
                shape = shapes.get(keys[0]) or self._new_shape(keys[0], contents[0], lenient)
                if shape.tokens is None:
                    return False
                tags.append((VARIABLES, "", shape.tokens, complete, shape, names))
                return True
        new: list[Tag] = []
        offset = start = 0
        run: Shape | None = None  # the shape of the variable tags read since `start`
        run_complete = True
        for index, key in enumerate(keys):
            shape = shapes.get(key) or self._new_shape(key, contents[index], lenient)
            if shape.tokens is None:
                return False
            variable = variables is None or variables[index]
            complete = completes is None or completes[index]
            if run is not None and (not variable or shape is not run or complete != run_complete):
                new.append(
                    (VARIABLES, "", run.tokens or [], run_complete, run, names[start:offset])
                )
                run = None
            if not variable:
                until = offset + shape.count
                new.append((BLOCK, contents[index], shape.tokens, True, shape, names[offset:until]))
            elif run is None:
                run, run_complete, start = shape, complete, offset
            offset += shape.count
        if run is not None:
            new.append((VARIABLES, "", run.tokens or [], run_complete, run, names[start:offset]))
        tags.extend(new)
        return True

    def _by_content(
        self,
        variables: list[bool] | None,
        contents: list[str],
        completes: list[bool] | None,
        tags: list[Tag],
    ) -> bool:
        """`_shaped` for contents that mostly repeat: each read once, kept by content."""
        lenient = self.recovering
        known = self._read_leniently if lenient else self._read_exactly
        new: list[Tag] = []
        last: tuple[str, bool] | None = None  # the last variable tag's content, closed
        for index, content in enumerate(contents):
            complete = completes is None or completes[index]
            variable = variables is None or variables[index]
            if variable and last == (content, complete):
                continue  # the same variable tag again right after itself reads nothing new
            try:
                read = known.get(content) or self._words(content, lenient)
            except BrokenTagError:
                return False
            last = (content, complete) if variable else None
            kind = "variable" if variable else BLOCK
            new.append((kind, content, read[0], complete, read[1], read[2]))
        tags.extend(new)
        return True

    def _new_shape(self, key: Hashable, content: str, lenient: bool) -> Shape:
        _, pieces, names = split(content)
        try:
            tokens: list[Token] | None = self.tokenizer.words(
                canonical(pieces) if names else content, lenient
            )
        except BrokenTagError:
            tokens = None
        shape = self._shapes[lenient][key] = Shape(tokens, len(names))
        return shape

    def _careful(self, start: int, tags: list[Tag]) -> int:
        """`_one`, and from a tag jinja2 would refuse on, recovery mode."""
        try:
            return self._one(start, tags)
        except BrokenTagError:
            # From this tag on, jinja2 would refuse the text: read the rest leniently.
            self.recovering = True
            return self._one(start, tags)

    def _one(self, start: int, tags: list[Tag]) -> int:
        """Read the tag (or comment, or raw block) at `start`; where reading goes on."""
        text = self.text
        kind = text[start + 1]
        if kind == "#":
            return self._skip_comment(start)
        if kind == "%" and (raw := RAW_BEGIN.match(text, start)) is not None:
            return self._skip_raw(raw.end())
        if self.recovering and OPENER.match(text, start + 2) is not None:
            return start + 2  # `{{{%`...: an empty tag cut short, nothing to read
        begin = start + 2
        if text.startswith(("-", "+"), begin):
            begin += 1
        closing, end, tag = ("}}", VARIABLE_END, "variable")
        if kind == "%":
            closing, end, tag = ("%}", BLOCK_END, "block")
        close = self._find(closing, begin)
        if self.recovering:
            opener = OPENER.search(text, begin)
            stop = opener.start() if opener is not None else len(text)
            cut = close < 0 or close >= stop
            inside = stop if cut else self._inside_end(begin, close, kind)
            # A variable tag without a word holds no name: nothing to read.
            if kind == "%" or WORD_CHARACTER.search(text, begin, inside) is not None:
                tokens = self._tokens(begin, inside, lenient=True)
                tags.append((tag, "", tokens, not cut, None, _NO_NAMES))
            return stop if cut else self._after(end, inside)
        if close < 0:
            raise BrokenTagError  # the tag never closes
        inside = self._inside_end(begin, close, kind)
        if QUOTE_OR_BRACE.search(text, begin, inside) is None:
            # No string and no brace: jinja2 ends the tag at the first end delimiter.
            tokens = self._tokens(begin, inside, lenient=False)
            tags.append((tag, "", tokens, True, None, _NO_NAMES))
            return self._after(end, inside)
        tokens, after = self.tokenizer.tag(begin, end)
        tags.append((tag, "", tokens, True, None, _NO_NAMES))
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
        self._work += (found if found >= 0 else len(self.text)) - begin
        if found < 0:
            self._none_after[target] = begin
        elif target in self._found:
            self._found[target] = found
        return found

    def _tokens(self, begin: int, end: int, lenient: bool) -> list[Token]:
        """The tokens of a stretch without quotes or braces (or of any, leniently: a
        character jinja2 refuses is skipped)."""
        return self.tokenizer.words(self.text[begin:end], lenient)

    def _words(self, content: str, lenient: bool) -> _Read:
        """The canonical tokens of a tag's content (see `_tokens`), its shape and names;
        the same shape twice gives the same list (its readers must not change it)."""
        read = self._read_leniently if lenient else self._read_exactly
        known = read.get(content)
        if known is not None:
            return known
        key, _, names = split(content)
        self._work += len(names) + 1
        shape = self._shapes[lenient].get(key) or self._new_shape(key, content, lenient)
        if shape.tokens is None:
            raise BrokenTagError
        known = read[content] = (shape.tokens, shape, names)
        return known

    def _skip_comment(self, start: int) -> int:
        close = self._find("#}", start + 2)
        if close >= 0:
            return close + 2
        if not self.recovering:
            raise BrokenTagError
        return start + 2  # an unclosed `{#` is plain text

    def _skip_raw(self, begin: int) -> int:
        found = None
        if begin < self._none_after["raw"]:
            found = RAW_END.search(self.text, begin)
            self._work += (found.end() if found is not None else len(self.text)) - begin
        if found is not None:
            return found.end()
        self._none_after["raw"] = min(self._none_after["raw"], begin)
        if not self.recovering:
            raise BrokenTagError
        return begin  # an unclosed `{% raw %}` is plain text
