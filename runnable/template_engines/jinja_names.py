"""The input variables of a jinja2 template, read in linear time without ever raising.

`variables(text, globals)` gives, for every template jinja2 accepts, what jinja2's own
`meta.find_undeclared_variables` gives (ordered by where each name first appears as a
name in a tag), at a small fraction of its cost and without a length limit; for text
jinja2 refuses it gives what can be read. The property tests hold it to jinja2.

How: `jinja_lexer` splits the text into tags; `jinja_tags` reads each tag (a block tag
into a statement, `jinja_statements`, by jinja2's grammar, `jinja_grammar`); the
statements read here make a tree, and `jinja_scopes` applies jinja2's scoping to it
(loop and `set` variables, `with`, macro parameters, `if` branches, `loop`, `caller`,
blocks). A tag is read by its shape (`jinja_shapes`: its content with the plain names
taken out), so the tags of a text that differ only in their names are parsed once, and
what a content gives is kept by content too.

A tag that does not parse gives the names a token rule finds in it (not after `.`,
`|` or `is`, not a keyword, not the target of a `for`/`set`/`with`/`macro`). Blocks
nested past `MAX_NESTING` are read flat, which only text jinja2 refuses holds.
"""

from __future__ import annotations

from collections.abc import Sequence

from runnable.template_engines.jinja_lexer import FAST, VARIABLES, Lexer, Tag, Token
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
    outer_loads,
)
from runnable.template_engines.jinja_shapes import Shape, picked
from runnable.template_engines.jinja_statements import FLAT, Statement
from runnable.template_engines.jinja_tags import (
    KEYWORDS,
    BlockNames,
    BlockPicks,
    VariableNames,
    VariablePicks,
    block_names,
    block_picks,
    picked_block,
    picked_run_names,
    variable_names,
    variable_picks,
)

__all__ = ["MAX_NESTING", "scan", "variables"]

# Past the deepest nesting jinja2 parses at Python's default recursion limit (244 blocks):
# deeper blocks are read flat, so the work stays at most this many steps a character.
MAX_NESTING = 256
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


_IF_BODY = _BODIES["if"]


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
        self._complete: dict[str, VariableNames] = {}
        self._cut: dict[str, VariableNames] = {}
        self._blocks: dict[str, BlockNames] = {}
        # What a shape's canonical tokens read, by shape (`jinja_shapes`).
        self._shape_complete: dict[Shape, VariablePicks] = {}
        self._shape_cut: dict[Shape, VariablePicks] = {}
        self._shape_blocks: dict[Shape, BlockPicks] = {}

    def part(self) -> list[Item]:
        return self.stack[-1].part if self.stack else self.root

    def read_all(self, tags: list[Tag]) -> None:
        """Read the tags in text order."""
        order, seen = self.order, self.seen
        complete_kept, cut_kept = self._complete, self._cut
        shape_complete, shape_cut = self._shape_complete, self._shape_cut
        blocks_kept, shape_blocks = self._blocks, self._shape_blocks
        previous: VariableNames | None = None
        for kind, key, tokens, complete, shape, names_in in tags:
            if kind == FAST:
                # `{{ name }}`, the commonest tag, read here (`read` reads it the same way).
                previous = None
                if key not in order:
                    order[key] = None
                seen.add(key)
                part = self.stack[-1].part if self.stack else self.root
                load = ("load", key)
                if not part or part[-1] != load:
                    part.append(load)
                continue
            if kind == VARIABLES and shape is not None:
                previous = None
                self._variable(self._run_names(tokens, complete, shape, names_in))
                continue
            if kind == "block" and shape is not None:
                # (As `read` reads it, without the calls: blocks are the costliest tags.)
                previous = None
                parsed = blocks_kept.get(key)
                if parsed is None:
                    kept_picks = shape_blocks.get(shape)
                    if kept_picks is None:
                        kept_picks = shape_blocks[shape] = block_picks(tokens, shape.count)
                    free_picks, bound_picks, shaped = kept_picks
                    if shaped is not None and shaped.statement.tag == "if":
                        # The commonest block tag needs only its test: no statement made.
                        unbound = picked(free_picks, names_in)
                        for found_name in unbound:
                            if found_name not in order:
                                order[found_name] = None
                        seen.update(unbound)
                        self._open_if(shaped.loads_for(names_in))
                        continue
                    parsed = blocks_kept[key] = (
                        names_in if free_picks is None else picked(free_picks, names_in),
                        picked(bound_picks, names_in),
                        None if shaped is None else shaped.renamed(names_in),
                    )
                unbound, bound_names, statement = parsed
                for found_name in unbound:
                    if found_name not in order:
                        order[found_name] = None
                seen.update(unbound)
                if bound_names:
                    seen.update(bound_names)
                if statement is None or not self._statement(statement):
                    self._by_tokens(tokens, True, unbound, bound_names)
                continue
            if kind == "variable" and key:
                kept = complete_kept if complete else cut_kept
                names = kept.get(key)
                if names is None and shape is not None:
                    # A new content: read by its shape (as `read` does, without the calls).
                    by_shape = shape_complete if complete else shape_cut
                    found = by_shape.get(shape)
                    if found is None:
                        found = by_shape[shape] = variable_picks(tokens, complete, len(names_in))
                    free, bound, loads = found
                    names = kept[key] = (
                        names_in if free is None else picked(free, names_in),
                        picked(bound, names_in),
                        names_in if loads is None else picked(loads, names_in),
                    )
                if names is not None:
                    if names is not previous:
                        # (The same variable tag again right after itself reads nothing new.)
                        previous = names
                        self._variable(names)
                    continue
            previous = None
            self.read(kind, key, tokens, complete, shape, names_in)

    def read(
        self,
        kind: str,
        key: str,
        tokens: list[Token],
        complete: bool,
        shape: Shape | None = None,
        names_in: list[str] | None = None,
    ) -> None:
        """Read one tag (see `Tag` in `jinja_lexer`)."""
        if kind == FAST:
            self._variable(([key], (), (key,)))
            return
        if not tokens:
            return  # `{{ }}` or `{% %}`: nothing to read
        if kind == "block":
            # A block tag's names and parse depend on its tokens only: kept by content.
            parsed = self._blocks.get(key) if key else None
            if parsed is None:
                if shape is None or names_in is None:
                    parsed = block_names(tokens)
                else:
                    kept_picks = self._shape_blocks.get(shape)
                    if kept_picks is None:
                        kept_picks = self._shape_blocks[shape] = block_picks(tokens, len(names_in))
                    parsed = picked_block(kept_picks, names_in)
                if key:
                    self._blocks[key] = parsed
            free, bound, statement = parsed
            self._names(free, bound)
            if statement is None or not self._statement(statement):
                self._by_tokens(tokens, True, free, bound)
            return
        # A variable tag's names depend on its tokens only: kept by its content.
        kept = self._complete if complete else self._cut
        names = kept.get(key) if key else None
        if names is None:
            if shape is None or names_in is None:
                names = variable_names(tokens, complete)
            else:
                by_shape = self._shape_complete if complete else self._shape_cut
                found = by_shape.get(shape)
                if found is None:
                    found = by_shape[shape] = variable_picks(tokens, complete, len(names_in))
                names = picked_run_names(found, names_in, len(names_in))
            if key:
                kept[key] = names
        self._variable(names)

    def _run_names(
        self, tokens: list[Token], complete: bool, shape: Shape, names: list[str]
    ) -> VariableNames:
        """What a run of variable tags of one shape reads (`VARIABLES` in `jinja_lexer`)."""
        by_shape = self._shape_complete if complete else self._shape_cut
        found = by_shape.get(shape)
        if found is None:
            found = by_shape[shape] = variable_picks(tokens, complete, shape.count)
        return picked_run_names(found, names, shape.count)

    def _names(self, free: Sequence[str], bound: Sequence[str]) -> None:
        order = self.order
        for found in free:
            if found not in order:
                order[found] = None
        self.seen.update(free, bound)

    def _variable(self, names: VariableNames) -> None:
        free, bound, loads = names
        self._names(free, bound)
        part = self.part()
        for name in loads:
            # A load just after the same load changes nothing: kept once.
            if not part or part[-1] != ("load", name):
                part.append(("load", name))

    def _by_tokens(
        self, tokens: list[Token], block: bool, free: list[str], bound: list[str]
    ) -> None:
        """A tag that does not parse: its names by the token rule; blocks still open."""
        loads = loads_of([n for n in free if n not in KEYWORDS])
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
        stack = self.stack
        part = stack[-1].part if stack else self.root
        if len(stack) >= MAX_NESTING:
            # Read flat (only in text jinja2 refuses, see MAX_NESTING): the body goes on
            # in the enclosing one; only the end is matched.
            stack.append(_Open(kind, None, part, _BODIES[kind]))
            return
        part.append(node)  # type: ignore[arg-type]
        stack.append(_Open(kind, node, body, _BODIES[kind]))

    def _open_if(self, test: list[str]) -> None:
        """`_open` for an `if` with this test (flat, its test is read where it stands)."""
        stack = self.stack
        part = stack[-1].part if stack else self.root
        if len(stack) >= MAX_NESTING:
            for name in test:
                if not part or part[-1] != ("load", name):
                    part.append(("load", name))
            stack.append(_Open("if", None, part, _IF_BODY))
            return
        node = If(test)
        part.append(node)
        stack.append(_Open("if", node, node.body, _IF_BODY))

    def _statement(self, statement: Statement) -> bool:
        """Apply a parsed block tag; False if it fits nowhere (an unknown tag, or an end
        that closes nothing open)."""
        tag = statement.tag
        if tag == "if":  # (the commonest block tag; no body open takes an `if`)
            self._open_if(statement.loads)
            return True
        stack = self.stack
        top = stack[-1] if stack else None
        if top is not None and tag in top.accepts:
            self._continue(top, statement)
            return True
        part = top.part if top is not None else self.root
        loads = statement.loads
        if tag == "for":
            node = For(statement.targets, loads, statement.test, statement.flag)
            part.extend(outer_loads(loads))
            self._open("for", node, node.body)
        elif tag == "set":
            assigned = statement.events
            if statement.flag:
                part.append(Assign(assigned, loads))
                return True
            part.extend(assigned)
            set_block = Scoped([], [], [], assigned + loads_of(statement.defaults), [])
            self._open("set", set_block, set_block.body)
        elif tag in ("macro", "call"):
            part.extend(outer_loads(loads) if tag == "call" else [("define", statement.name)])
            macro = Macro(loads, statement.targets, statement.defaults)
            self._open(tag, macro, macro.body)
        elif tag == "with":
            targets = statement.targets
            part.extend(outer_loads(loads))
            params = [("param", n) for n in targets]
            with_node = Scoped([], targets, [], params + loads_of(loads), [])
            self._open("with", with_node, with_node.body)
        elif tag == "filter":
            part.extend(outer_loads(loads))
            filter_node = Scoped([], [], [], [], loads_of(loads))
            self._open("filter", filter_node, filter_node.body)
        elif tag == "autoescape":
            scope = Scoped([], [], loads, loads_of(loads), [])
            self._open("autoescape", scope, scope.body)
        elif tag == "block":
            block = Scoped([], [], [], [], [], isolated=True)
            self._open("block", block, block.body)
        elif tag in FLAT:
            part.extend(loads_of(loads))
            part.extend(("store", n) for n in statement.stores)
        else:
            return False
        return True

    def _continue(self, top: _Open, statement: Statement) -> None:
        tag = statement.tag
        if tag.startswith("end"):
            self.stack.pop()
            return
        node = top.node
        if tag == "elif":
            test = statement.loads
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
    reader.read_all(lexer.tags())
    analysis = Analysis(reader.seen)
    analysis.frame(reader.root, sorted(analysis.first_reads(reader.root, SELF)))
    for block in analysis.blocks:
        analysis.frame(block.body, sorted(analysis.first_reads(block.body, BLOCK_SPECIAL)))
    found = analysis.undeclared - globals
    names = [name for name in reader.order if name in found]
    names.extend(sorted(found.difference(names)))
    return names, lexer.work + analysis.work


def variables(text: str, globals: frozenset[str]) -> list[str]:
    """The names a template reads from its context, in order of first appearance."""
    return scan(text, globals)[0]
