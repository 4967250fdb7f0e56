"""What one jinja2 tag reads, from its tokens alone: its names, a variable tag's loads,
a block tag's statement; and the same for a shape (`jinja_shapes`), as picks.

A tag's names by the token rule (`token_names`: not after `.`, `|` or `is`, split into
those a `for`/`set`/`with`/`macro` binds and the others) order the variables and stand
for a tag that does not parse; jinja2's grammar (`jinja_grammar`, `jinja_statements`)
gives what a tag that parses loads. What the tag does to the template (a body opened,
continued, closed) is `jinja_names`' work.
"""

from __future__ import annotations

from collections.abc import Sequence

from runnable.template_engines.jinja_grammar import CONSTANTS, TagParser, UnparsedTagError
from runnable.template_engines.jinja_lexer import Token
from runnable.template_engines.jinja_shapes import Picks, picked, picked_run, picks
from runnable.template_engines.jinja_statements import Statement, StatementShape, parse_statement

__all__ = [
    "KEYWORDS",
    "SPECIAL",
    "BlockNames",
    "BlockPicks",
    "VariableNames",
    "VariablePicks",
    "block_names",
    "block_picks",
    "picked_block",
    "picked_run_names",
    "token_names",
    "variable_names",
    "variable_picks",
]

SPECIAL = frozenset({"loop", "caller", "varargs", "kwargs", "self", "super"})
_BINDING = frozenset({"for", "set", "with", "macro"})
KEYWORDS = CONSTANTS | SPECIAL | {"and", "or", "not", "in", "is", "if", "else", "elif"}
KEYWORDS |= {"recursive", "as", "with", "without", "context", "ignore", "missing"}


def token_names(tokens: list[Token], block: bool) -> tuple[list[str], list[str]]:
    """The tag's names outside `.x`, `|f` and `is t`: those not bound, and those bound.

    Bound: the targets of `for` (before `in`), `set`, `with` and `macro` (before `=`).
    A tag's first name in `{% %}` is its tag name, in neither list.
    """
    free: list[str] = []
    bound: list[str] = []
    previous = ""
    tag = ""
    binding = False
    for index, (kind, value) in enumerate(tokens):
        if kind == "name" and block and index == 0:
            tag = value
            binding = value in _BINDING
        elif kind == "name" and previous not in (".", "|", "is"):
            (bound if binding else free).append(value)
        if kind == "assign" or (value == "in" and tag == "for"):
            binding = False
        previous = value
    return free, bound


def _plain(tokens: list[Token]) -> bool:
    """Whether the tokens are `name.attr|filter.x` (only the first name is read)."""
    kind, value = tokens[0]
    if kind != "name" or value in CONSTANTS or value == "not":
        return False
    after_sign = False
    for kind, _ in tokens[1:]:
        if after_sign:
            if kind != "name":
                return False
            after_sign = False
        elif kind in ("dot", "pipe"):
            after_sign = True
        else:
            return False
    return not after_sign


VariableNames = tuple[Sequence[str], Sequence[str], Sequence[str]]
"""A variable tag's names: not bound, bound (`token_names`), and those it loads."""


def variable_names(tokens: list[Token], complete: bool) -> VariableNames:
    """What a variable tag reads: by jinja2's grammar, or by the token rule when it was
    cut short or does not parse."""
    if not tokens:
        return (), (), ()  # `{{ }}`: nothing to read
    if _plain(tokens):
        name = tokens[0][1]
        return [name], (), (name,)
    free, bound = token_names(tokens, False)
    if complete:
        parser = TagParser(tokens)
        try:
            loads = parser.loads(parser.tuple_)
            parser.expect_end()
            return free, bound, loads
        except UnparsedTagError:
            pass
    # Cut short (half-typed) or unparsed: its names by the token rule.
    return free, bound, [n for n in free if n not in KEYWORDS]


BlockNames = tuple[list[str], list[str], Statement | None]
"""A block tag's names not bound and bound (`token_names`), and its statement."""


def block_names(tokens: list[Token]) -> BlockNames:
    """A block tag's names by the token rule, and its statement (None: no parse)."""
    free, bound = token_names(tokens, True)
    return free, bound, parse_statement(tokens)


BlockPicks = tuple[Picks, Picks, StatementShape | None]
VariablePicks = tuple[Picks, Picks, Picks]


def variable_picks(tokens: list[Token], complete: bool, count: int) -> VariablePicks:
    """A shape's variable tag read from its canonical tokens (`jinja_shapes`)."""
    free, bound, loads = variable_names(tokens, complete)
    return picks(free, count), picks(bound, count), picks(loads, count)


def block_picks(tokens: list[Token], count: int) -> BlockPicks:
    """A shape's block tag read from its canonical tokens (`jinja_shapes`)."""
    free, bound, statement = block_names(tokens)
    shaped = None if statement is None else StatementShape(statement, count)
    return picks(free, count), picks(bound, count), shaped


def picked_block(kept: BlockPicks, names: list[str]) -> BlockNames:
    """A block tag of a shape read by the shape's reading, with its own names."""
    free, bound, shaped = kept
    statement = None if shaped is None else shaped.renamed(names)
    return picked(free, names), picked(bound, names), statement


def picked_run_names(kept: VariablePicks, names: list[str], count: int) -> VariableNames:
    """What variable tags of one shape in a row read (`count` names each, one tag's
    after the other's), by the shape's reading."""
    if len(names) > count and names[count:] == names[:-count]:
        names = names[:count]  # one tag again and again: read once
    free, bound, loads = kept
    if count == 0:
        return picked(free, names), picked(bound, names), picked(loads, names)
    return (
        picked_run(free, names, count),
        picked_run(bound, names, count),
        picked_run(loads, names, count),
    )
