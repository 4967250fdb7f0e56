"""The input variables of a jinja2 template, read in linear time without ever raising.

`variables(text, globals)` gives, for every template jinja2 accepts, what jinja2's own
`meta.find_undeclared_variables` gives (ordered by where each name first appears as a
name in a tag), at a small fraction of its cost and without a length limit; for text
jinja2 refuses it gives what can be read. The property tests hold it to jinja2.

How: `jinja_lexer` splits the text into tags; `jinja_grammar` reads each tag; the
statements read here make a small tree, and `jinja_scopes` applies jinja2's scoping
to it (loop and `set` variables, `with`, macro parameters, `if` branches, `loop`,
`caller`, blocks).

A tag that does not parse gives the names a token rule finds in it (not after `.`,
`|` or `is`, not a keyword, not the target of a `for`/`set`/`with`/`macro`). Blocks
nested past `MAX_NESTING` are read flat, so the tree stays shallow whatever the text.
"""

from __future__ import annotations

from runnable.template_engines.jinja_grammar import CONSTANTS, TagParser, UnparsedTagError
from runnable.template_engines.jinja_lexer import FAST, Lexer, Token
from runnable.template_engines.jinja_scopes import (
    BLOCK_SPECIAL,
    SELF,
    Analysis,
    Assign,
    For,
    If,
    Item,
    Macro,
    Scoped,
    loads_of,
)

__all__ = ["MAX_NESTING", "scan", "variables"]

MAX_NESTING = 32
_SPECIAL = frozenset({"loop", "caller", "varargs", "kwargs", "self", "super"})
_BINDING = frozenset({"for", "set", "with", "macro"})
_KEYWORDS = CONSTANTS | _SPECIAL | {"and", "or", "not", "in", "is", "if", "else", "elif"}
_KEYWORDS |= {"recursive", "as", "with", "without", "context", "ignore", "missing"}
_BODIES = {
    "if": frozenset({"elif", "else", "endif"}),
    "for": frozenset({"else", "endfor"}),
    "macro": frozenset({"endmacro"}),
    "call": frozenset({"endcall"}),
    "filter": frozenset({"endfilter"}),
    "set": frozenset({"endset"}),
    "with": frozenset({"endwith"}),
    "autoescape": frozenset({"endautoescape"}),
    "block": frozenset({"endblock"}),
}
_FLAT = frozenset({"print", "include", "extends", "import", "from"})


def _token_names(tokens: list[Token], block: bool) -> tuple[list[str], list[str]]:
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


class _Open:
    """A block being read: its node, the body being filled, the tags that continue it."""

    __slots__ = ("accepts", "kind", "node", "part")

    def __init__(self, kind: str, node: object, part: list[Item], accepts: frozenset[str]) -> None:
        self.kind = kind
        self.node = node
        self.part = part
        self.accepts = accepts


class _Reader:
    """Builds the statement tree from the tags, in text order."""

    def __init__(self) -> None:
        self.root: list[Item] = []
        self.stack: list[_Open] = []
        self.order: dict[str, None] = {}
        self.seen: set[str] = set()

    def part(self) -> list[Item]:
        return self.stack[-1].part if self.stack else self.root

    def read(self, kind: str, name: str, tokens: list[Token], complete: bool) -> None:
        if kind == FAST:
            self.order.setdefault(name)
            self.seen.add(name)
            self.part().append(("load", name))
            return
        if not tokens:
            return  # `{{ }}` or `{% %}`: nothing to read
        block = kind == "block"
        if not block and _plain(tokens):
            self.order.setdefault(tokens[0][1])
            self.seen.add(tokens[0][1])
            self.part().append(("load", tokens[0][1]))
            return
        free, bound = _token_names(tokens, block)
        for found in free:
            self.order.setdefault(found)
        self.seen.update(free, bound)
        if not complete and not block:
            # Cut short (half-typed): its names by the token rule; a half-typed block
            # tag is still parsed, so that it opens or closes what it names.
            self.part().extend(loads_of([n for n in free if n not in _KEYWORDS]))
            return
        parser = TagParser(tokens)
        try:
            if block:
                self._statement(parser, free, bound)
            else:
                loads = parser.loads(parser.tuple_)
                parser.expect_end()
                self.part().extend(loads_of(loads))
        except UnparsedTagError:
            self._by_tokens(tokens, block, free, bound)

    def _by_tokens(
        self, tokens: list[Token], block: bool, free: list[str], bound: list[str]
    ) -> None:
        """A tag that does not parse: its names by the token rule; blocks still open."""
        loads = loads_of([n for n in free if n not in _KEYWORDS])
        tag = tokens[0][1] if block and tokens and tokens[0][0] == "name" else ""
        if tag in ("for", "macro", "call", "with"):
            # A body where the bound names are parameters, like a `with`.
            node = Scoped(loads, bound, [], [], [])
            self._open(tag, node, node.body)
        elif tag in _BODIES and not (tag == "set" and any(k == "assign" for k, _ in tokens)):
            if_node = If([])
            self.part().extend(loads)
            self._open(tag, if_node, if_node.body)
        else:
            self.part().extend(loads)
            self.part().extend(("store", n) for n in bound)

    def _open(self, kind: str, node: object, body: list[Item]) -> None:
        if len(self.stack) >= MAX_NESTING:
            # Read flat: the body goes on in the enclosing one; only the end is matched.
            self.stack.append(_Open(kind, None, self.part(), _BODIES[kind]))
            return
        self.part().append(node)  # type: ignore[arg-type]
        self.stack.append(_Open(kind, node, body, _BODIES[kind]))

    def _statement(self, p: TagParser, free: list[str], bound: list[str]) -> None:
        tag = p.expect("name")
        top = self.stack[-1] if self.stack else None
        if top is not None and tag in top.accepts:
            self._continue(top, tag, p)
            return
        if tag == "for":
            target = [n for _, n in p.target(extra_end="in")]
            p.expect("name", "in")
            iter = p.loads(p.tuple_, False, "recursive")
            test = p.loads(p.expression) if p.skip("name", "if") else None
            recursive = p.skip("name", "recursive")
            p.statement_end()
            node = For(target, iter, test, recursive)
            self.part().extend(loads_of(iter))
            self._open("for", node, node.body)
        elif tag == "if":
            test = p.loads(p.tuple_, False)
            p.statement_end()
            if_node = If(test)
            self._open("if", if_node, if_node.body)
        elif tag == "set":
            assigned = p.target(with_namespace=True)
            if p.skip("assign"):
                value = p.loads(p.tuple_)
                p.expect_end()
                self.part().append(Assign(assigned, value))
                return
            filters = loads_of(p.loads(p.filters))
            p.statement_end()
            self.part().extend(assigned)
            set_block = Scoped([], [], [], assigned + filters, [])
            self._open("set", set_block, set_block.body)
        elif tag in ("macro", "call"):
            name = p.expect("name") if tag == "macro" else ""
            signed = tag == "macro" or p.current()[0] == "lparen"
            args, defaults = p.signature() if signed else ([], [])
            call = p.loads(p.expression) if tag == "call" else []
            p.statement_end()
            self.part().extend(loads_of(call) if tag == "call" else [("store", name)])
            macro = Macro(call, args, defaults)
            self._open(tag, macro, macro.body)
        elif tag == "with":
            targets: list[str] = []
            values: list[str] = []
            while not p.at_end():
                if targets:
                    p.expect("comma")
                targets.extend(n for _, n in p.target("param"))
                p.expect("assign")
                values.extend(p.loads(p.expression))
            p.statement_end()
            self.part().extend(loads_of(values))
            params = [("param", n) for n in targets]
            with_node = Scoped([], targets, [], params + loads_of(values), [])
            self._open("with", with_node, with_node.body)
        elif tag == "filter":
            loads = p.loads(p.filters, True)
            p.statement_end()
            self.part().extend(loads_of(loads))
            filter_node = Scoped([], [], [], [], loads_of(loads))
            self._open("filter", filter_node, filter_node.body)
        elif tag == "autoescape":
            loads = p.loads(p.expression)
            p.statement_end()
            scope = Scoped([], [], loads, loads_of(loads), [])
            self._open("autoescape", scope, scope.body)
        elif tag == "block":
            p.expect("name")
            p.skip("name", "scoped")
            p.skip("name", "required")
            p.statement_end()
            block = Scoped([], [], [], [], [], isolated=True)
            self._open("block", block, block.body)
        elif tag in _FLAT:
            self._flat(tag, p)
        else:
            raise UnparsedTagError  # an unknown tag, or an end that closes nothing open

    def _flat(self, tag: str, p: TagParser) -> None:
        """`print`, and the loading tags (refused by the check, read for their names)."""
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
        self.part().extend(loads_of(loads))
        self.part().extend(("store", n) for n in stores)

    def _continue(self, top: _Open, tag: str, p: TagParser) -> None:
        if tag.startswith("end"):
            self.stack.pop()
            return
        node = top.node
        if tag == "elif":
            test = p.loads(p.tuple_, False)
            p.statement_end()
            if isinstance(node, If):
                elif_node = If(test)
                node.elifs.append(elif_node)
                top.part = elif_node.body
            else:
                top.part.extend(loads_of(test))
            return
        top.accepts = frozenset({f"end{top.kind}"})  # else
        if isinstance(node, If | For):
            top.part = node.else_


def scan(text: str, globals: frozenset[str]) -> tuple[list[str], int]:
    """The variables, and the work spent finding them (steps, for the linearity tests)."""
    lexer = Lexer(text)
    reader = _Reader()
    for kind, name, tokens, complete in lexer.tags():
        reader.read(kind, name, tokens, complete)
    analysis = Analysis(reader.seen)
    analysis.frame(reader.root, sorted(analysis.first_reads(reader.root, SELF)), [])
    for block in analysis.blocks:
        analysis.frame(block.body, sorted(analysis.first_reads(block.body, BLOCK_SPECIAL)), [])
    found = analysis.undeclared - globals
    names = [name for name in reader.order if name in found]
    names.extend(sorted(found.difference(names)))
    return names, lexer.work + analysis.work


def variables(text: str, globals: frozenset[str]) -> list[str]:
    """The names a template reads from its context, in order of first appearance."""
    return scan(text, globals)[0]
