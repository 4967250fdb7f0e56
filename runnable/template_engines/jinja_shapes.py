"""A tag's content by its shape: the content with its plain names abstracted.

What a tag reads depends on its names' text only through the words jinja2's grammar
knows (keywords, constants, tag names, `loop`, `caller`...): `{{ f1(a) }}` and
`{{ g2(b) }}` parse alike and read the names in the same places. `split` cuts a content
into its shape (`key`: the content with every other ASCII identifier taken out) and
those names, in one pass of a regular expression (`split_many`: the contents of a whole
run of tags in one pass); a reader parses a shape once, from its `canonical` content
(the names replaced by placeholders `_0`, `_1`...), and reads each content of that
shape by putting its names back (`picks`, `picked`). A hostile text can make every tag
new by numbering its names: ten thousand tags in 100 KB that never repeat, but share a
handful of shapes.

Kept literally, so two contents of one shape always parse alike: every word the lexer,
the grammar, the statements or the scoping compare a name with, every identifier that
begins with `end` (an end tag), and identifiers with a character past ASCII or glued to
one (jinja2's name pattern is wider than ASCII; such names are rare, and kept they only
make more shapes). A placeholder is never one of these, so a name read from the
canonical content is a placeholder exactly when it is one of `_0`... `_{count - 1}`.
Strings are not tokens of their own here: an identifier inside a string is taken out
like any other (replacing a word by a word inside a string leaves it a string of the
same extent), and numbers stay whole (`1e5`, `0x1f`: an identifier must not follow a
word character).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence

__all__ = ["Picks", "Shape", "canonical", "picked", "picked_run", "picks", "split", "split_many"]

# Words compared by value somewhere in reading a tag (the grammar's keywords and
# constants, the tag names, the special names of jinja2's scoping).
_KEPT = frozenset(
    {"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is"}
    | {"if", "elif", "else", "for", "recursive", "set", "with", "without", "context"}
    | {"macro", "call", "filter", "autoescape", "block", "scoped", "required", "print"}
    | {"include", "extends", "import", "from", "as", "ignore", "missing", "raw"}
    | {"loop", "caller", "varargs", "kwargs", "self", "super"}
)


def _trie(words: frozenset[str]) -> str:
    """An alternation of the words as a trie (`a(?:nd|s)`): one test per character,
    not one per word, where a name starts."""
    branches: dict[str, set[str]] = {}
    for word in words:
        branches.setdefault(word[:1], set()).add(word[1:])
    options = []
    for first, rests in sorted(branches.items()):
        if not first:
            continue
        inner = _trie(frozenset(rests - {""}))
        optional = "?" if "" in rests else ""
        options.append(re.escape(first) + (f"(?:{inner}){optional}" if inner else ""))
    return "|".join(options)


_SPLIT = re.compile(rf"\b(?!(?:{_trie(_KEPT)})\b|end)([A-Za-z_][A-Za-z0-9_]*+)(?!\w)")
_MARK = "\x00"
_NO_NAMES: list[str] = []
_PLACEHOLDERS: list[str] = []  # `_0`, `_1`...: as many as the most names a tag has held


def _placeholders(count: int) -> list[str]:
    while len(_PLACEHOLDERS) < count:
        _PLACEHOLDERS.append(f"_{len(_PLACEHOLDERS)}")
    return _PLACEHOLDERS


def split(content: str) -> tuple[Hashable, list[str], list[str]]:
    """The content's shape key, its pieces between names, and its names in text order."""
    parts = _SPLIT.split(content)
    # A content holding the mark itself gets a key no marked shape can equal.
    if len(parts) == 1:
        return (content if _MARK not in content else (content,)), parts, _NO_NAMES
    pieces = parts[0::2]
    key: Hashable = _MARK.join(pieces) if _MARK not in content else tuple(pieces)
    return key, pieces, parts[1::2]


def split_many(contents: list[str]) -> tuple[list[str], list[str]] | None:
    """The shape keys of many contents (none holding `{%`) and all their names in text
    order, in one pass; None if one holds the mark (`split` each then)."""
    joined = "{%".join(contents)
    if _MARK in joined:
        return None
    parts = _SPLIT.split(joined)
    # A name never holds `{%`, nor does a content: the keys split where the contents do.
    return _MARK.join(parts[0::2]).split("{%"), parts[1::2]


def canonical(pieces: list[str]) -> str:
    """The content of a shape with its names as placeholders `_0`, `_1`..."""
    names = _placeholders(len(pieces) - 1)
    out = [pieces[0]]
    for index, piece in enumerate(pieces[1:]):
        out.append(names[index])
        out.append(piece)
    return "".join(out)


Picks = tuple[int | str, ...] | None
"""Where a reading's names come from: for each, a content's name (by its index) or a
kept word; None for all the content's names in order (the commonest reading)."""


def picks(values: Sequence[str], count: int) -> Picks:
    """The picks of names read from a canonical content with `count` placeholders."""
    index = {placeholder: i for i, placeholder in enumerate(_placeholders(count)[:count])}
    found = tuple(index.get(value, value) for value in values)
    return None if found == tuple(range(count)) else found


def picked(picks: Picks, names: list[str]) -> list[str]:
    """The names a content of the shape reads (`names` not to be changed)."""
    if picks is None:
        return names
    if not picks:
        return _NO_NAMES
    if len(picks) == 1:  # (the commonest: one name, without a comprehension's cost)
        pick = picks[0]
        return [names[pick] if isinstance(pick, int) else pick]
    return [names[p] if p.__class__ is int else p for p in picks]  # type: ignore[misc]


def picked_run(picks: Picks, names: list[str], count: int) -> list[str]:
    """`picked` for a run of contents of one shape (`count` names each), one after the other."""
    if picks is None:
        return names
    if not picks:
        return _NO_NAMES
    starts = range(0, len(names), count)
    return [names[at + p] if p.__class__ is int else p for at in starts for p in picks]  # type: ignore[misc]


class Shape:
    """A shape seen in a text: its canonical tokens (None: jinja2 refuses the tag), and
    how many names a content of it holds."""

    __slots__ = ("count", "tokens")

    def __init__(self, tokens: list[tuple[str, str]] | None, count: int) -> None:
        self.tokens = tokens
        self.count = count
