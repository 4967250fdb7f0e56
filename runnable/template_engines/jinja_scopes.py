"""jinja2's scoping over a template's statements: which loaded names are variables.

The statements (`If`, `For`, `Macro`, `Scoped`, `Assign`, and `(what, name)` events)
are what `jinja_names` builds from the tags; `Analysis` follows jinja2's compiler
(`idtracking.py` and the frames `compiler.py` makes):

- A frame (the template, a `for` body, a macro, a `with`, a `filter` or set block, an
  `autoescape` body; a `{% block %}` is a frame of its own with no parent) sees every
  name its enclosing frames define, wherever they define it; inside one frame, a name
  loaded before anything defines it is a variable.
- A name assigned in an `if` branch is a variable unless it was assigned before the
  `if` (jinja2 resolves it from the context when the branch does not run).
- `loop` in a loop, `caller`, `varargs` and `kwargs` in a macro, `self` and `super`
  are defined when their first mention is a read, as jinja2's name visitor decides.

`Analysis.work` counts the steps (each event, each enclosing scope probed).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from runnable.template_engines.jinja_grammar import Event

__all__ = [
    "BLOCK_SPECIAL",
    "SELF",
    "Analysis",
    "Assign",
    "For",
    "If",
    "Item",
    "Macro",
    "Scoped",
    "loads_of",
    "outer_loads",
]


class If:
    __slots__ = ("body", "elifs", "else_", "test")

    def __init__(self, test: list[str]) -> None:
        self.test = test
        self.body: list[Item] = []
        self.elifs: list[If] = []
        self.else_: list[Item] = []


class For:
    __slots__ = ("body", "else_", "iter", "recursive", "target", "test")

    def __init__(
        self, target: list[str], iter: list[str], test: list[str] | None, recursive: bool
    ) -> None:
        self.target = target
        self.iter = iter
        self.test = test
        self.recursive = recursive
        self.body: list[Item] = []
        self.else_: list[Item] = []


class Macro:
    """A macro or a call block: parameters, their defaults, a body; a call block's call."""

    __slots__ = ("args", "body", "call", "defaults")

    def __init__(self, call: list[str], args: list[str], defaults: list[str]) -> None:
        self.call = call
        self.args = args
        self.defaults = defaults
        self.body: list[Item] = []


class Scoped:
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
        self.body: list[Item] = []


class Assign:
    __slots__ = ("target", "value")

    def __init__(self, target: list[Event], value: list[str]) -> None:
        self.target = target
        self.value = value


Item = Event | If | For | Macro | Scoped | Assign


def loads_of(names: list[str]) -> list[Event]:
    return [("load", name) for name in names]


def outer_loads(names: list[str]) -> list[Event]:
    """Loads a statement makes in the enclosing frame that its own node also lists
    (a `for`'s iterable, a call block's call, `with` values, `filter` arguments): they
    resolve names there, but jinja2's name visitor meets them in the node's field order,
    so `first_reads` skips them here (as it skips a macro's name, a `define`)."""
    return [("outer", name) for name in names]


class Analysis:
    """jinja2's scoping over the statement tree: which loads resolve from the context."""

    def __init__(self, seen: set[str]) -> None:
        self.seen = seen
        self.undeclared: set[str] = set()
        self.blocks: list[Scoped] = []
        self.work = 0

    def first_reads(self, body: Sequence[Item], names: frozenset[str]) -> set[str]:
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

    def _mentions(self, body: Sequence[Item]) -> Iterator[Event]:
        for item in body:
            if isinstance(item, tuple):
                if item[0] not in _UNMENTIONED:
                    yield item
            elif isinstance(item, Assign):
                yield from (e for e in item.target if e[0] != "nsref")
                yield from loads_of(item.value)
            elif isinstance(item, If):
                yield from loads_of(item.test)
                yield from self._mentions(item.body)
                for elif_ in item.elifs:
                    yield from loads_of(elif_.test)
                    yield from self._mentions(elif_.body)
                yield from self._mentions(item.else_)
            elif isinstance(item, For):
                yield from (("store", n) for n in item.target)
                yield from loads_of(item.iter)
                yield from self._mentions(item.body)
                yield from self._mentions(item.else_)
                yield from loads_of(item.test or [])
            elif isinstance(item, Macro):
                yield from loads_of(item.call)
                yield from (("param", n) for n in item.args)
                yield from loads_of(item.defaults)
                yield from self._mentions(item.body)
            elif not item.isolated:  # a {% block %} stops jinja2's visitor
                yield from item.before
                yield from self._mentions(item.body)
                yield from item.after

    def frame(self, body: Sequence[Item], params: list[str], ancestors: list[set[str]]) -> None:
        """Read one frame, then the frames inside it (which see all it defines)."""
        refs = set(params)
        chain = [(refs, set(params))]
        children: list[For | Macro | Scoped] = []
        self._walk(body, chain, ancestors, children)
        inner = [*ancestors, refs]
        for child in children:
            self._child(child, inner)

    def _child(self, child: For | Macro | Scoped, inner: list[set[str]]) -> None:
        if isinstance(child, For):
            extended = child.recursive or "loop" in self.first_reads(child.body, _LOOP)
            self.frame(child.body, ["loop", *child.target] if extended else child.target, inner)
            if child.else_:
                self.frame(child.else_, [], inner)
            if child.test is not None:
                self.frame(loads_of(child.test), child.target, inner)
        elif isinstance(child, Macro):
            specials = self.first_reads(child.body, _MACRO_SPECIAL) - set(child.args)
            params = child.args + sorted(specials)
            self.frame([*loads_of(child.defaults), *child.body], params, inner)
        else:
            self.frame([*loads_of(child.inner), *child.body], child.params, inner)

    def _walk(
        self,
        body: Sequence[Item],
        chain: list[tuple[set[str], set[str]]],
        ancestors: list[set[str]],
        children: list[For | Macro | Scoped],
    ) -> None:
        for item in body:
            self.work += 1
            if isinstance(item, tuple):
                self._event(item, chain, ancestors)
            elif isinstance(item, Assign):
                for name in item.value:
                    self._event(("load", name), chain, ancestors)
                for event in item.target:
                    self._event(event, chain, ancestors)
            elif isinstance(item, If):
                self._if(item, chain, ancestors, children)
            elif isinstance(item, Scoped) and item.isolated:
                self.blocks.append(item)
            else:
                if isinstance(item, Scoped):
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
        if what in ("load", "nsref", "outer"):
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
        node: If,
        chain: list[tuple[set[str], set[str]]],
        ancestors: list[set[str]],
        children: list[For | Macro | Scoped],
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


# Events that jinja2's name visitor does not meet where they stand: `nsref` (not a
# name node), `outer` (see `outer_loads`), `define` (a macro's name is no name node).
_UNMENTIONED = frozenset({"nsref", "outer", "define"})
_LOOP = frozenset({"loop"})
_MACRO_SPECIAL = frozenset({"caller", "varargs", "kwargs"})
SELF = frozenset({"self"})
BLOCK_SPECIAL = frozenset({"self", "super"})
