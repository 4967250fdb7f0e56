"""jinja2's grammar, read for the names it loads: expressions, assignment targets, tags.

A recursive-descent parser over one tag's tokens (`jinja_lexer`) that follows jinja2's
own parser rule by rule (`jinja2/parser.py`: the same tokens accepted in the same
places) but builds no expression tree: an expression is the list of names it loads, in
order. Attribute names, filter and test names, keyword-argument keys and constants are
not loads. It may accept a little more than jinja2 does (it does not check that a target
is assignable or a filter exists): only the names matter here, and on text jinja2
accepts they are the same. Brackets nested past `MAX_BRACKETS` give up on the tag, so
the recursion stays shallow whatever the text.
"""

from __future__ import annotations

from collections.abc import Callable

from runnable.template_engines.jinja_lexer import Token

__all__ = ["CONSTANTS", "MAX_BRACKETS", "Event", "TagParser", "UnparsedTagError"]

Event = tuple[str, str]
"""`(what, name)`: what is `load`, `store`, `param` or `nsref` (a `set ns.x`: loads ns);
the reader also makes `outer` (a load) and `define` (a store) events, which jinja2's
name visitor does not meet where they stand (see `jinja_scopes.outer_loads`)."""

CONSTANTS = frozenset({"true", "false", "none", "True", "False", "None"})
MAX_BRACKETS = 48
_BINARY = frozenset(
    {"eq", "ne", "lt", "lteq", "gt", "gteq", "add", "sub", "tilde", "mul", "div", "floordiv"}
    | {"mod", "pow"}
)
_POSTFIX = frozenset({"dot", "lbracket", "lparen", "pipe", "name"})
_TEST_ARGUMENT = frozenset({"name", "string", "integer", "float", "lbracket", "lbrace"})
_END: Token = ("end", "")
_NOT: Token = ("name", "not")
_IF: Token = ("name", "if")
_IN: Token = ("name", "in")
_AND_OR = frozenset({("name", "and"), ("name", "or")})


class UnparsedTagError(Exception):
    """The tag does not parse."""


class TagParser:
    """One tag's tokens, read rule by rule; the loaded names go to `out`."""

    def __init__(self, tokens: list[Token]) -> None:
        # Two end tokens after the last: the cursor and the one after it are always valid.
        self.tokens = [*tokens, _END, _END]
        self.size = len(tokens)
        self.i = 0
        self.out: list[str] = []
        self.depth = 0

    # --- the token stream ---

    def current(self) -> Token:
        """The token at the cursor (`("end", "")` past the last)."""
        return self.tokens[self.i]

    def look(self) -> Token:
        """The token after the cursor."""
        return self.tokens[self.i + 1]

    def at_name(self, value: str) -> bool:
        """Whether the cursor is at the name `value`."""
        return self.tokens[self.i] == ("name", value)

    def skip(self, kind: str, value: str | None = None) -> bool:
        """Step over the token if it is of `kind` (and `value`); whether it was."""
        token = self.tokens[self.i]
        if token[0] == kind and (value is None or token[1] == value):
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value: str | None = None) -> str:
        """The token's text, stepping over it; `UnparsedTagError` if not of `kind` (and `value`)."""
        token = self.tokens[self.i]
        if token[0] != kind or (value is not None and token[1] != value):
            raise UnparsedTagError
        self.i += 1
        return token[1]

    def at_end(self) -> bool:
        """Whether every token was read."""
        return self.i >= self.size

    def expect_end(self) -> None:
        """`UnparsedTagError` unless every token was read."""
        if self.i < self.size:
            raise UnparsedTagError

    def statement_end(self) -> None:
        """The end of a tag that opens a body: an optional colon, then nothing."""
        self.skip("colon")
        self.expect_end()

    def loads(self, read: Callable[..., None], *args: object) -> list[str]:
        """The names loaded while `read(*args)` runs."""
        saved, self.out = self.out, []
        try:
            read(*args)
            return self.out
        finally:
            self.out = saved

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_BRACKETS:
            raise UnparsedTagError

    # --- expressions (jinja2's parse_tuple ... parse_primary) ---

    def tuple_(
        self,
        with_condexpr: bool = True,
        extra_end: str | None = None,
        explicit_parentheses: bool = False,
    ) -> None:
        """Expressions separated by commas (a tuple), or one expression."""
        count = 0
        while True:
            if count:
                self.expect("comma")
            kind = self.tokens[self.i][0]
            if kind in ("end", "rparen") or (extra_end is not None and self.at_name(extra_end)):
                break
            self.expression(with_condexpr)
            count += 1
            if self.tokens[self.i][0] != "comma":
                break
        if count == 0 and not explicit_parentheses:
            raise UnparsedTagError

    def expression(self, with_condexpr: bool = True) -> None:
        """`a if b else c` (unless `with_condexpr` is False), or an `or` expression."""
        self.or_()
        if not with_condexpr:
            return
        while self.tokens[self.i] == _IF and self.skip("name", "if"):
            self.or_()
            if self.skip("name", "else"):
                self.or_()

    def or_(self) -> None:
        """`not`-expressions joined by `and` and `or`.

        jinja2's `parse_or` ... `parse_pow` are left-associative loops over the level
        below, so one loop reads the same tokens: `not`s where an `and`/`or` operand
        starts, then unary expressions joined by any comparison or arithmetic operator.
        """
        tokens = self.tokens
        while True:
            while tokens[self.i] == _NOT:
                self.i += 1
            self.unary()
            while True:
                token = tokens[self.i]
                if token[0] in _BINARY or token == _IN:
                    self.i += 1
                elif token == _NOT and tokens[self.i + 1] == _IN:
                    self.i += 2
                else:
                    break
                self.unary()
            if tokens[self.i] not in _AND_OR:
                return
            self.i += 1

    def unary(self) -> None:
        """Signs, a primary, its attributes, items and calls, then filters and tests."""
        tokens = self.tokens
        while tokens[self.i][0] in ("add", "sub"):
            self.i += 1
        kind, value = tokens[self.i]
        if kind == "name":
            self.i += 1
            if value not in CONSTANTS:
                self.out.append(value)
        else:
            self.primary()
        if tokens[self.i][0] in _POSTFIX:
            self.postfix()
            self.filters_and_tests()

    def primary(self) -> None:
        """A name, a literal, or a bracketed tuple, list or dict."""
        kind, value = self.tokens[self.i]
        if kind == "name":
            self.i += 1
            if value not in CONSTANTS:
                self.out.append(value)
        elif kind == "string":
            while self.skip("string"):
                pass
        elif kind in ("integer", "float"):
            self.i += 1
        elif kind in ("lparen", "lbracket", "lbrace"):
            self._enter()
            self.i += 1
            if kind == "lparen":
                self.tuple_(explicit_parentheses=True)
                self.expect("rparen")
            else:
                self._items(kind == "lbrace")
            self.depth -= 1
        else:
            raise UnparsedTagError

    def _items(self, pairs: bool) -> None:
        closing = "rbrace" if pairs else "rbracket"
        count = 0
        while self.tokens[self.i][0] != closing:
            if count:
                self.expect("comma")
                if self.tokens[self.i][0] == closing:
                    break
            self.expression()
            if pairs:
                self.expect("colon")
                self.expression()
            count += 1
        self.expect(closing)

    def postfix(self) -> None:
        """`.name`, `.0`, `[...]` and calls after a primary."""
        while True:
            kind = self.tokens[self.i][0]
            if kind == "dot":
                self.i += 1
                if self.tokens[self.i][0] not in ("name", "integer"):
                    raise UnparsedTagError
                self.i += 1
            elif kind == "lbracket":
                self._subscript()
            elif kind == "lparen":
                self.call_arguments()
            else:
                return

    def _subscript(self) -> None:
        self._enter()
        self.i += 1
        count = 0
        while self.tokens[self.i][0] != "rbracket":
            if count:
                self.expect("comma")
            self._subscribed()
            count += 1
        self.expect("rbracket")
        self.depth -= 1

    def _subscribed(self) -> None:
        if not self.skip("colon"):
            self.expression()
            if not self.skip("colon"):
                return
        if self.tokens[self.i][0] not in ("colon", "rbracket", "comma"):
            self.expression()
        if self.skip("colon") and self.tokens[self.i][0] not in ("rbracket", "comma"):
            self.expression()

    def call_arguments(self) -> None:
        """`(a, b=c, *d, **e)`: keyword keys are not loads."""
        self._enter()
        self.expect("lparen")
        first = True
        while self.tokens[self.i][0] != "rparen":
            if not first:
                self.expect("comma")
                if self.tokens[self.i][0] == "rparen":
                    break
            if self.tokens[self.i][0] in ("mul", "pow"):
                self.i += 1
            elif self.tokens[self.i][0] == "name" and self.look()[0] == "assign":
                self.i += 2
            self.expression()
            first = False
        self.expect("rparen")
        self.depth -= 1

    def filters_and_tests(self) -> None:
        """`|filter(...)`, `is [not] test ...` and calls, as many as follow."""
        while True:
            kind = self.tokens[self.i][0]
            if kind == "end":
                return
            if kind == "pipe":
                self.filters()
            elif self.at_name("is"):
                self._test()
            elif kind == "lparen":
                self.call_arguments()
            else:
                return

    def filters(self, start_inline: bool = False) -> None:
        """`|name.name(...)` as many times as they follow (the first `|` optional)."""
        while start_inline or self.tokens[self.i][0] == "pipe":
            if not start_inline:
                self.i += 1
            self._dotted_name()
            if self.tokens[self.i][0] == "lparen":
                self.call_arguments()
            start_inline = False

    def _dotted_name(self) -> None:
        self.expect("name")
        while self.skip("dot"):
            self.expect("name")

    def _test(self) -> None:
        self.i += 1  # is
        self.skip("name", "not")
        self._dotted_name()
        kind, value = self.current()
        if kind == "lparen":
            self.call_arguments()
        elif kind in _TEST_ARGUMENT and value not in ("else", "or", "and"):
            if value == "is" and kind == "name":
                raise UnparsedTagError
            self.primary()
            self.postfix()

    # --- assignment targets (jinja2's parse_assign_target) ---

    def target(
        self, what: str = "store", extra_end: str | None = None, with_namespace: bool = False
    ) -> list[Event]:
        """Names (a tuple of them, bracketed or not) assigned to, as `what` events."""
        events: list[Event] = []
        count = 0
        while True:
            if count:
                self.expect("comma")
            kind = self.tokens[self.i][0]
            if kind in ("end", "rparen") or (extra_end is not None and self.at_name(extra_end)):
                break
            self._target_item(events, what, with_namespace)
            count += 1
            if self.tokens[self.i][0] != "comma":
                break
        if count == 0:
            raise UnparsedTagError
        return events

    def _target_item(self, events: list[Event], what: str, with_namespace: bool) -> None:
        kind, value = self.current()
        if kind == "name" and value not in CONSTANTS:
            self.i += 1
            if with_namespace and self.skip("dot"):
                self.expect("name")
                events.append(("nsref", value))
            else:
                events.append((what, value))
        elif kind == "lparen":
            self._enter()
            self.i += 1
            if self.tokens[self.i][0] != "rparen":
                events.extend(self.target(what))
            self.expect("rparen")
            self.depth -= 1
        else:
            raise UnparsedTagError

    def signature(self) -> tuple[list[str], list[str]]:
        """A macro's or call block's `(a, b=default)`: the names and the defaults' loads."""
        self.expect("lparen")
        names: list[str] = []
        defaults: list[str] = []
        while self.tokens[self.i][0] != "rparen":
            if names:
                self.expect("comma")
            names.append(self.expect("name"))
            if self.skip("assign"):
                defaults.extend(self.loads(self.expression))
        self.expect("rparen")
        return names, defaults
