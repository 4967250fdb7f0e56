"""The input variables of a jinja2 template, read in linear time without ever raising.

`variables(text, globals)` gives, for every template jinja2 accepts, what jinja2's own
`meta.find_undeclared_variables` gives (ordered by where each name first appears as a
name in a tag), at a small fraction of its cost and without a length limit; for text
jinja2 refuses it gives what can be read. The property tests hold it to jinja2.

How: `jinja_lexer` splits the text into tags; `jinja_grammar` reads each tag; the
statements make a small tree whose scoping follows jinja2's compiler (`idtracking.py`):

- A frame (the template, a `for` body, a macro, a `with`, a `filter` or set block, an
  `autoescape` body; a `{% block %}` is a frame of its own with no parent) sees every
  name its enclosing frames define, wherever they define it; inside one frame, a name
  loaded before anything defines it is a variable.
- A name assigned in an `if` branch is a variable unless it was assigned before the
  `if` (jinja2 resolves it from the context when the branch does not run).
- `loop` in a loop, `caller`, `varargs` and `kwargs` in a macro, `self` and `super`
  are defined when their first mention is a read, as jinja2 decides it.

A tag that does not parse gives the names a token rule finds in it (not after `.`,
`|` or `is`, not a keyword, not the target of a `for`/`set`/`with`/`macro`). Blocks
nested past `MAX_NESTING` are read flat, so the tree stays shallow whatever the text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from runnable.template_engines.jinja_grammar import CONSTANTS, Bad, Event, TagParser
from runnable.template_engines.jinja_lexer import FAST, Lexer, Token

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


class _If:
    __slots__ = ("body", "elifs", "else_", "test")

    def __init__(self, test: list[str]) -> None:
        self.test = test
        self.body: list[_Item] = []
        self.elifs: list[_If] = []
        self.else_: list[_Item] = []


class _For:
    __slots__ = ("body", "else_", "iter", "recursive", "target", "test")

    def __init__(
        self, target: list[str], iter: list[str], test: list[str] | None, recursive: bool
    ) -> None:
        self.target = target
        self.iter = iter
        self.test = test
        self.recursive = recursive
        self.body: list[_Item] = []
        self.else_: list[_Item] = []


class _Macro:
    """A macro or a call block: parameters, their defaults, a body; a call block's call."""

    __slots__ = ("args", "body", "call", "defaults")

    def __init__(self, call: list[str], args: list[str], defaults: list[str]) -> None:
        self.call = call
        self.args = args
        self.defaults = defaults
        self.body: list[_Item] = []


class _Scoped:
    """A body in a frame of its own: `with`, `filter`, a set block, `autoescape`, a
    `{% block %}` (`isolated`: no parent frame).

    `outer` is read in the enclosing frame, `params` and `inner` start the new one;
    `before` and `after` are what jinja2's name visitor meets around the body.
    """

    __slots__ = ("after", "before", "body", "inner", "isolated", "outer", "params")

    def __init__(
        self,
        outer: list[Event],
        params: list[str],
        inner: list[str],
        before: list[Event],
        after: list[Event],
        isolated: bool = False,
    ) -> None:
        self.outer = outer
        self.params = params
        self.inner = inner
        self.before = before
        self.after = after
        self.isolated = isolated
        self.body: list[_Item] = []


class _Assign:
    __slots__ = ("target", "value")

    def __init__(self, target: list[Event], value: list[str]) -> None:
        self.target = target
        self.value = value


_Item = Event | _If | _For | _Macro | _Scoped | _Assign


def _loads(names: list[str]) -> list[Event]:
    return [("load", name) for name in names]


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

    def __init__(self, kind: str, node: object, part: list[_Item], accepts: frozenset[str]) -> None:
        self.kind = kind
        self.node = node
        self.part = part
        self.accepts = accepts


class _Reader:
    """Builds the statement tree from the tags, in text order."""

    def __init__(self) -> None:
        self.root: list[_Item] = []
        self.stack: list[_Open] = []
        self.order: dict[str, None] = {}
        self.seen: set[str] = set()

    def part(self) -> list[_Item]:
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
            self.part().extend(_loads([n for n in free if n not in _KEYWORDS]))
            return
        parser = TagParser(tokens)
        try:
            if block:
                self._statement(parser, free, bound)
            else:
                loads = parser.loads(parser.tuple_)
                parser.expect_end()
                self.part().extend(_loads(loads))
        except Bad:
            self._by_tokens(tokens, block, free, bound)

    def _by_tokens(
        self, tokens: list[Token], block: bool, free: list[str], bound: list[str]
    ) -> None:
        """A tag that does not parse: its names by the token rule; blocks still open."""
        loads = _loads([n for n in free if n not in _KEYWORDS])
        tag = tokens[0][1] if block and tokens and tokens[0][0] == "name" else ""
        if tag in ("for", "macro", "call", "with"):
            # A body where the bound names are parameters, like a `with`.
            node = _Scoped(loads, bound, [], [], [])
            self._open(tag, node, node.body)
        elif tag in _BODIES and not (tag == "set" and any(k == "assign" for k, _ in tokens)):
            if_node = _If([])
            self.part().extend(loads)
            self._open(tag, if_node, if_node.body)
        else:
            self.part().extend(loads)
            self.part().extend(("store", n) for n in bound)

    def _open(self, kind: str, node: object, body: list[_Item]) -> None:
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
            node = _For(target, iter, test, recursive)
            self.part().extend(_loads(iter))
            self._open("for", node, node.body)
        elif tag == "if":
            test = p.loads(p.tuple_, False)
            p.statement_end()
            if_node = _If(test)
            self._open("if", if_node, if_node.body)
        elif tag == "set":
            assigned = p.target(with_namespace=True)
            if p.skip("assign"):
                value = p.loads(p.tuple_)
                p.expect_end()
                self.part().append(_Assign(assigned, value))
                return
            filters = _loads(p.loads(p.filters))
            p.statement_end()
            self.part().extend(assigned)
            set_block = _Scoped([], [], [], assigned + filters, [])
            self._open("set", set_block, set_block.body)
        elif tag in ("macro", "call"):
            name = p.expect("name") if tag == "macro" else ""
            signed = tag == "macro" or p.current()[0] == "lparen"
            args, defaults = p.signature() if signed else ([], [])
            call = p.loads(p.expression) if tag == "call" else []
            p.statement_end()
            self.part().extend(_loads(call) if tag == "call" else [("store", name)])
            macro = _Macro(call, args, defaults)
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
            self.part().extend(_loads(values))
            params = [("param", n) for n in targets]
            with_node = _Scoped([], targets, [], params + _loads(values), [])
            self._open("with", with_node, with_node.body)
        elif tag == "filter":
            loads = p.loads(p.filters, True)
            p.statement_end()
            self.part().extend(_loads(loads))
            filter_node = _Scoped([], [], [], [], _loads(loads))
            self._open("filter", filter_node, filter_node.body)
        elif tag == "autoescape":
            loads = p.loads(p.expression)
            p.statement_end()
            scope = _Scoped([], [], loads, _loads(loads), [])
            self._open("autoescape", scope, scope.body)
        elif tag == "block":
            p.expect("name")
            p.skip("name", "scoped")
            p.skip("name", "required")
            p.statement_end()
            block = _Scoped([], [], [], [], [], isolated=True)
            self._open("block", block, block.body)
        elif tag in _FLAT:
            self._flat(tag, p)
        else:
            raise Bad  # an unknown tag, or an end that closes nothing open

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
        self.part().extend(_loads(loads))
        self.part().extend(("store", n) for n in stores)

    def _continue(self, top: _Open, tag: str, p: TagParser) -> None:
        if tag.startswith("end"):
            self.stack.pop()
            return
        node = top.node
        if tag == "elif":
            test = p.loads(p.tuple_, False)
            p.statement_end()
            if isinstance(node, _If):
                elif_node = _If(test)
                node.elifs.append(elif_node)
                top.part = elif_node.body
            else:
                top.part.extend(_loads(test))
            return
        top.accepts = frozenset({f"end{top.kind}"})  # else
        if isinstance(node, _If | _For):
            top.part = node.else_


class _Analysis:
    """jinja2's scoping over the statement tree: which loads resolve from the context."""

    def __init__(self, seen: set[str]) -> None:
        self.seen = seen
        self.undeclared: set[str] = set()
        self.blocks: list[_Scoped] = []
        self.work = 0

    def first_reads(self, body: Sequence[_Item], names: frozenset[str]) -> set[str]:
        """Those of `names` whose first mention in `body` (jinja2's field order) is a read."""
        wanted = set(names & self.seen)
        if not wanted:
            return set()
        read: set[str] = set()
        for what, name in self._mentions(body):
            self.work += 1
            if name in wanted:
                wanted.discard(name)
                if what == "load":
                    read.add(name)
                if not wanted:
                    break
        return read

    def _mentions(self, body: Sequence[_Item]) -> Iterator[Event]:
        for item in body:
            if isinstance(item, tuple):
                if item[0] != "nsref":
                    yield item
            elif isinstance(item, _Assign):
                yield from (e for e in item.target if e[0] != "nsref")
                yield from _loads(item.value)
            elif isinstance(item, _If):
                yield from _loads(item.test)
                yield from self._mentions(item.body)
                for elif_ in item.elifs:
                    yield from _loads(elif_.test)
                    yield from self._mentions(elif_.body)
                yield from self._mentions(item.else_)
            elif isinstance(item, _For):
                yield from (("store", n) for n in item.target)
                yield from _loads(item.iter)
                yield from self._mentions(item.body)
                yield from self._mentions(item.else_)
                yield from _loads(item.test or [])
            elif isinstance(item, _Macro):
                yield from _loads(item.call)
                yield from (("param", n) for n in item.args)
                yield from _loads(item.defaults)
                yield from self._mentions(item.body)
            elif not item.isolated:  # a {% block %} stops jinja2's visitor
                yield from item.before
                yield from self._mentions(item.body)
                yield from item.after

    def frame(self, body: Sequence[_Item], params: list[str], ancestors: list[set[str]]) -> None:
        """Read one frame, then the frames inside it (which see all it defines)."""
        refs = set(params)
        chain = [(refs, set(params))]
        children: list[_For | _Macro | _Scoped] = []
        self._walk(body, chain, ancestors, children)
        inner = [*ancestors, refs]
        for child in children:
            self._child(child, inner)

    def _child(self, child: _For | _Macro | _Scoped, inner: list[set[str]]) -> None:
        if isinstance(child, _For):
            extended = child.recursive or "loop" in self.first_reads(child.body, _LOOP)
            self.frame(child.body, ["loop", *child.target] if extended else child.target, inner)
            if child.else_:
                self.frame(child.else_, [], inner)
            if child.test is not None:
                self.frame(_loads(child.test), child.target, inner)
        elif isinstance(child, _Macro):
            specials = self.first_reads(child.body, _MACRO_SPECIAL) - set(child.args)
            params = child.args + sorted(specials)
            self.frame([*_loads(child.defaults), *child.body], params, inner)
        else:
            self.frame([*_loads(child.inner), *child.body], child.params, inner)

    def _walk(
        self,
        body: Sequence[_Item],
        chain: list[tuple[set[str], set[str]]],
        ancestors: list[set[str]],
        children: list[_For | _Macro | _Scoped],
    ) -> None:
        for item in body:
            self.work += 1
            if isinstance(item, tuple):
                self._event(item, chain, ancestors)
            elif isinstance(item, _Assign):
                for name in item.value:
                    self._event(("load", name), chain, ancestors)
                for event in item.target:
                    self._event(event, chain, ancestors)
            elif isinstance(item, _If):
                self._if(item, chain, ancestors, children)
            elif isinstance(item, _Scoped) and item.isolated:
                self.blocks.append(item)
            else:
                if isinstance(item, _Scoped):
                    for event in item.outer:
                        self._event(event, chain, ancestors)
                children.append(item)

    def _event(
        self, event: Event, chain: list[tuple[set[str], set[str]]], ancestors: list[set[str]]
    ) -> None:
        what, name = event
        if name in self.undeclared:
            return  # a variable already: nothing later can take that back
        refs, stores = chain[-1]
        if what in ("load", "nsref"):
            if not self._in(name, chain, 0):
                refs.add(name)
                if not self._outer(name, ancestors):
                    self.undeclared.add(name)
        else:
            refs.add(name)
            stores.add(name)

    def _in(self, name: str, chain: list[tuple[set[str], set[str]]], which: int) -> bool:
        """Whether the frame (seen from the current branch) defined (0) or stored (1) it."""
        for overlay in chain:
            self.work += 1
            if name in overlay[which]:
                return True
        return False

    def _outer(self, name: str, ancestors: list[set[str]]) -> bool:
        for refs in ancestors:
            self.work += 1
            if name in refs:
                return True
        return False

    def _if(
        self,
        node: _If,
        chain: list[tuple[set[str], set[str]]],
        ancestors: list[set[str]],
        children: list[_For | _Macro | _Scoped],
    ) -> None:
        """jinja2 reads each branch from a copy, then merges: a name stored in a branch
        but not before the `if` resolves from the context."""
        for name in node.test:
            self._event(("load", name), chain, ancestors)
        branches = []
        for branch in (node.body, None, node.else_):
            chain.append((set(), set()))
            if branch is None:
                for elif_ in node.elifs:
                    self._if(elif_, chain, ancestors, children)
            else:
                self._walk(branch, chain, ancestors, children)
            branches.append(chain.pop())
        refs, stores = chain[-1]
        for _, stored in branches:
            for name in stored.difference(self.undeclared):
                if not self._in(name, chain, 1) and not self._outer(name, ancestors):
                    self.undeclared.add(name)
        for branch_refs, stored in branches:
            refs |= branch_refs
            stores |= stored


_LOOP = frozenset({"loop"})
_MACRO_SPECIAL = frozenset({"caller", "varargs", "kwargs"})
_SELF = frozenset({"self"})
_BLOCK_SPECIAL = frozenset({"self", "super"})


def scan(text: str, globals: frozenset[str]) -> tuple[list[str], int]:
    """The variables, and the work spent finding them (steps, for the linearity tests)."""
    lexer = Lexer(text)
    reader = _Reader()
    for kind, name, tokens, complete in lexer.tags():
        reader.read(kind, name, tokens, complete)
    analysis = _Analysis(reader.seen)
    analysis.frame(reader.root, sorted(analysis.first_reads(reader.root, _SELF)), [])
    for block in analysis.blocks:
        analysis.frame(block.body, sorted(analysis.first_reads(block.body, _BLOCK_SPECIAL)), [])
    found = analysis.undeclared - globals
    names = [name for name in reader.order if name in found]
    names.extend(sorted(found.difference(names)))
    return names, lexer.work + analysis.work


def variables(text: str, globals: frozenset[str]) -> list[str]:
    """The names a template reads from its context, in order of first appearance."""
    return scan(text, globals)[0]
