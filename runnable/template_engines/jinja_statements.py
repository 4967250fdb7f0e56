"""A jinja2 block tag's statement, parsed from its tokens alone.

`parse_statement` reads `{% for %}`, `{% if %}`, `{% set %}`... with `jinja_grammar`
into a `Statement`: the tag and the names each of its parts loads, stores or binds.
What the statement does to the template (opens a body, continues or closes the one
open) depends on the tags before it, and is `jinja_names`' work; the parse depends on
the tokens only, so a reader keeps it by the tag's content and a template that repeats
a tag parses it once.
"""

from __future__ import annotations

from runnable.template_engines.jinja_grammar import Event, TagParser, UnparsedTagError
from runnable.template_engines.jinja_lexer import Token
from runnable.template_engines.jinja_shapes import Picks, picked, picks

__all__ = ["FLAT", "Statement", "StatementShape", "parse_statement"]

FLAT = frozenset({"print", "include", "extends", "import", "from"})
"""Tags that open no body: `print`, and the loading tags (refused by the check, read for
their names)."""


_NONE: list[str] = []


class Statement:
    """A block tag parsed: `tag` (its first name) and, as the tag has them:

    - `loads`: the names read where the tag stands (a `for`'s iterable, a `call`'s call,
      `with` values, `filter` and `autoescape` arguments, a flat tag's expressions), or
      an `if`/`elif` test, or a `set`'s value;
    - `targets`: a `for`'s or `with`'s targets, a macro's or call block's parameters;
    - `events`: what a `set` assigns; `stores`: the names a flat tag defines;
    - `defaults`: parameter defaults, or a set block's filters' loads;
    - `test`: a `for`'s `if` test; `flag`: a recursive `for`, a `set` with a value;
    - `name`: a macro's name.
    """

    __slots__ = ("defaults", "events", "flag", "loads", "name", "stores", "tag", "targets", "test")

    def __init__(
        self,
        tag: str,
        loads: list[str] | None = None,
        *,
        targets: list[str] | None = None,
        events: list[Event] | None = None,
        stores: list[str] | None = None,
        defaults: list[str] | None = None,
        test: list[str] | None = None,
        flag: bool = False,
        name: str = "",
    ) -> None:
        self.tag = tag
        # Absent parts share one empty list: a statement's lists are never changed.
        self.loads = _NONE if loads is None else loads
        self.targets = _NONE if targets is None else targets
        self.events: list[Event] = [] if events is None else events
        self.stores = _NONE if stores is None else stores
        self.defaults = _NONE if defaults is None else defaults
        self.test = test
        self.flag = flag
        self.name = name


class StatementShape:
    """A statement read from a shape's canonical tokens (`jinja_shapes`), and where each
    of its parts takes a content's names from; `renamed` gives a content's statement."""

    __slots__ = ("defaults", "events", "loads", "name", "statement", "stores", "targets", "test")

    def __init__(self, statement: Statement, count: int) -> None:
        self.statement = statement
        self.loads = _picks(statement.loads, count)
        self.targets = _picks(statement.targets, count)
        self.events = _picks([name for _, name in statement.events], count)
        self.stores = _picks(statement.stores, count)
        self.defaults = _picks(statement.defaults, count)
        self.test = None if statement.test is None else _picks(statement.test, count)
        self.name = _picks([statement.name], count)

    def loads_for(self, names: list[str]) -> list[str]:
        """The `loads` of a content of this shape with these names."""
        return self.statement.loads if self.loads is _SAME else picked(self.loads, names)

    def renamed(self, names: list[str]) -> Statement:
        """The statement of a content of this shape with these names."""
        template = self.statement
        new = object.__new__(Statement)
        new.tag = template.tag
        new.flag = template.flag
        new.loads = template.loads if self.loads is _SAME else picked(self.loads, names)
        new.targets = template.targets if self.targets is _SAME else picked(self.targets, names)
        new.stores = template.stores if self.stores is _SAME else picked(self.stores, names)
        new.defaults = template.defaults if self.defaults is _SAME else picked(self.defaults, names)
        events = template.events
        if self.events is not _SAME:
            renamed = picked(self.events, names)
            events = [(what, renamed[i]) for i, (what, _) in enumerate(events)]
        new.events = events
        test = template.test
        new.test = test if self.test is _SAME or test is None else picked(self.test, names)
        new.name = template.name if self.name is _SAME else picked(self.name, names)[0]
        return new


_SAME: Picks = ()  # a part without placeholders: the template's own list


def _picks(values: list[str], count: int) -> Picks:
    found = picks(values, count)
    if found is not None and all(isinstance(value, str) for value in found):
        return _SAME
    return found


def parse_statement(tokens: list[Token]) -> Statement | None:
    """The statement of a block tag's tokens; None if it does not parse.

    `elif`, `else` and `end...` are parsed as continuations (only `elif` reads more);
    whether one continues the body open is for the reader to decide.
    """
    p = TagParser(tokens)
    try:
        tag = p.expect("name")
        if tag == "else" or tag.startswith("end"):
            return Statement(tag)
        if tag in ("if", "elif"):
            test = p.loads(p.tuple_, False)
            p.statement_end()
            return Statement(tag, test)
        return _opening(tag, p)
    except UnparsedTagError:
        return None


def _opening(tag: str, p: TagParser) -> Statement | None:
    if tag == "for":
        target = [n for _, n in p.target(extra_end="in")]
        p.expect("name", "in")
        iter = p.loads(p.tuple_, False, "recursive")
        test = p.loads(p.expression) if p.skip("name", "if") else None
        recursive = p.skip("name", "recursive")
        p.statement_end()
        return Statement(tag, iter, targets=target, test=test, flag=recursive)
    if tag == "set":
        assigned = p.target(with_namespace=True)
        if p.skip("assign"):
            value = p.loads(p.tuple_)
            p.expect_end()
            return Statement(tag, value, events=assigned, flag=True)
        filters = p.loads(p.filters)
        p.statement_end()
        return Statement(tag, events=assigned, defaults=filters)
    if tag in ("macro", "call"):
        name = p.expect("name") if tag == "macro" else ""
        signed = tag == "macro" or p.current()[0] == "lparen"
        args, defaults = p.signature() if signed else ([], [])
        call = p.loads(p.expression) if tag == "call" else []
        p.statement_end()
        return Statement(tag, call, targets=args, defaults=defaults, name=name)
    if tag == "with":
        targets: list[str] = []
        values: list[str] = []
        while not p.at_end():
            if targets:
                p.expect("comma")
            targets.extend(n for _, n in p.target("param"))
            p.expect("assign")
            values.extend(p.loads(p.expression))
        p.statement_end()
        return Statement(tag, values, targets=targets)
    if tag in ("filter", "autoescape"):
        loads = p.loads(p.filters, True) if tag == "filter" else p.loads(p.expression)
        p.statement_end()
        return Statement(tag, loads)
    if tag == "block":
        p.expect("name")
        p.skip("name", "scoped")
        p.skip("name", "required")
        p.statement_end()
        return Statement(tag)
    if tag in FLAT:
        return _flat(tag, p)
    return None  # an unknown tag


def _flat(tag: str, p: TagParser) -> Statement:
    loads: list[str] = []
    stores: list[str] = []
    if tag == "print":
        count = 0
        while not p.at_end():
            if count:
                p.expect("comma")
            loads.extend(p.loads(p.expression))
            count += 1
    else:
        loads = p.loads(p.expression)
        if tag == "import" and p.skip("name", "as"):
            stores.append(p.expect("name"))
        elif tag == "from" and p.skip("name", "import"):
            while p.current()[0] == "name" and p.look() != ("name", "context"):
                name = p.expect("name")
                stores.append(p.expect("name") if p.skip("name", "as") else name)
                if not p.skip("comma"):
                    break
        while not p.at_end():  # ignore missing, with/without context
            p.expect("name")
    return Statement(tag, loads, stores=stores)
