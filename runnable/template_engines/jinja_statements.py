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

__all__ = ["FLAT", "Statement", "parse_statement"]

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
