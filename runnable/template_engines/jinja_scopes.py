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

`Analysis.work` counts the steps (each statement and event, each name an `if` defines).
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


_Steps = Iterator["_Steps"]
"""Reading a body or an `if` by steps: each step is a nested reading to run first."""


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


class _Frame:
    """The names one frame defines: all seen from where the reading is (`visible`),
    and by the `if` branches being read (`branches`, the frame's own level first)."""

    __slots__ = ("branches", "visible")

    def __init__(self, params: list[str]) -> None:
        self.visible = set(params)
        self.branches = [set(params)]


_Task = tuple[Sequence[Item], list[str]] | set[str]
"""A frame to read (its body and parameters), or the names a frame read before
defines, which leave the enclosing scope once the frames inside it are read."""


class Analysis:
    """jinja2's scoping over the statement tree: which loads resolve from the context.

    Without recursion and in linear work whatever the depth: frames are read from a
    stack, `if` branches by steps (`_walk`); a frame's names are one set (and those of
    the branches being read, so a branch's names leave when it ends), the enclosing
    frames' one count of names (`_outer`). A name is kept only where it can change an
    answer: a load that makes a variable or finds its name defined adds nothing, and an
    `if` decides at its end what its branches' names are, so nothing is merged upward.
    """

    def __init__(self, seen: set[str]) -> None:
        self.seen = seen
        self.undeclared: set[str] = set()
        self.blocks: list[Scoped] = []
        self.work = 0
        self._outer: dict[str, int] = {}  # name: how many enclosing frames define it
        self._kept_firsts: dict[object, dict[str, str]] = {}  # statement: `_firsts` of it

    def first_reads(self, body: Sequence[Item], names: frozenset[str]) -> set[str]:
        """Those of `names` whose first mention in `body` (jinja2's field order) is a read."""
        if not names & self.seen:
            return set()
        firsts = self._firsts(body)
        return {name for name in names if firsts.get(name) == "load"}

    def _firsts(self, body: Sequence[Item]) -> dict[str, str]:
        """How each special name is first mentioned in `body` (jinja2's field order).

        What a statement mentions first is kept by statement, so the loops and macros
        nested in one another each read their own body once: linear work at any depth
        (depth first with a stack, not recursion)."""
        wanted = len(_SPECIAL & self.seen)
        kept = self._kept_firsts
        found: dict[str, str] = {}
        stack: list[tuple[Iterator[Item], dict[str, str], object]] = [(iter(body), found, None)]
        while stack:
            items, firsts, owner = stack[-1]
            inside = False
            for item in items:
                if not isinstance(item, tuple):
                    inner = kept.get(item)
                    if inner is None:  # a statement not read yet: read it first
                        stack.append((iter(_mentioned(item)), {}, item))
                        inside = True
                        break
                    for name, what in inner.items():
                        firsts.setdefault(name, what)
                    continue
                self.work += 1
                what, name = item
                if name in _SPECIAL and what not in _UNMENTIONED and name not in firsts:
                    firsts[name] = what
                    if len(firsts) == wanted:
                        break  # every special name met: the rest changes nothing
            if inside:
                continue
            stack.pop()
            if owner is not None:
                kept[owner] = firsts
                for name, what in firsts.items():
                    stack[-1][1].setdefault(name, what)
        return found

    def frame(self, body: Sequence[Item], params: list[str]) -> None:
        """Read a frame with no enclosing one, then the frames inside it (which see all
        it defines, wherever it defines it)."""
        # Depth first, the next task last: a frame's names enter the enclosing scope
        # while the frames inside it are read, and leave after (the set task).
        pending: list[_Task] = [(body, params)]
        outer = self._outer
        while pending:
            task = pending.pop()
            if isinstance(task, set):
                for name in task:
                    outer[name] -= 1
                    if not outer[name]:
                        del outer[name]
                continue
            frame = _Frame(task[1])
            children: list[For | Macro | Scoped] = []
            self._walk(task[0], frame, children)
            if children:
                defined = frame.branches[0]
                for name in defined:
                    outer[name] = outer.get(name, 0) + 1
                pending.append(defined)
                for child in reversed(children):
                    pending.extend(reversed(self._frames_of(child)))

    def _frames_of(self, child: For | Macro | Scoped) -> list[_Task]:
        if isinstance(child, For):
            extended = child.recursive or "loop" in self.first_reads(child.body, _LOOP)
            params = ["loop", *child.target] if extended else child.target
            frames: list[_Task] = [(child.body, params)]
            if child.else_:
                frames.append((child.else_, []))
            if child.test is not None:
                frames.append((loads_of(child.test), child.target))
            return frames
        if isinstance(child, Macro):
            specials = self.first_reads(child.body, _MACRO_SPECIAL) - set(child.args)
            params = child.args + sorted(specials)
            return [([*loads_of(child.defaults), *child.body], params)]
        return [([*loads_of(child.inner), *child.body], child.params)]

    def _walk(
        self, body: Sequence[Item], frame: _Frame, children: list[For | Macro | Scoped]
    ) -> None:
        """Read a frame's body; an `if` inside it is read by steps (`_if`, `_body`) run
        from here, one at a time, so `if`s nested at any depth need no recursion."""
        at = self._items(body, 0, frame, children)
        if at < 0:
            return
        steps: list[_Steps] = [self._body(body, at, frame, children)]
        while steps:
            inner = next(steps[-1], None)
            if inner is None:
                steps.pop()
            else:
                steps.append(inner)

    def _body(
        self, body: Sequence[Item], at: int, frame: _Frame, children: list[For | Macro | Scoped]
    ) -> _Steps:
        """The steps of reading a body from its `if` at `at`: each `if` is one."""
        while at >= 0:
            yield self._if(body[at], frame, children)  # type: ignore[arg-type]
            at = self._items(body, at + 1, frame, children)

    def _items(
        self,
        body: Sequence[Item],
        start: int,
        frame: _Frame,
        children: list[For | Macro | Scoped],
    ) -> int:
        """Read a body's items from `start` up to its next `if`: where that is, or -1."""
        event = self._event
        for index in range(start, len(body)):
            item = body[index]
            self.work += 1
            if isinstance(item, tuple):
                event(item, frame)
            elif isinstance(item, Assign):
                for name in item.value:
                    event(("load", name), frame)
                for target in item.target:
                    event(target, frame)
            elif isinstance(item, If):
                return index
            elif isinstance(item, Scoped) and item.isolated:
                self.blocks.append(item)
            else:
                if isinstance(item, Scoped):
                    for outer in item.outer:
                        event(outer, frame)
                children.append(item)
        return -1

    def _event(self, event: Event, frame: _Frame) -> None:
        what, name = event
        if name in self.undeclared or name in frame.visible:
            return  # a variable already, or defined: nothing here changes that
        if what in ("load", "nsref", "outer"):
            if name not in self._outer:
                self.undeclared.add(name)
        else:
            frame.visible.add(name)
            frame.branches[-1].add(name)

    def _if(self, node: If, frame: _Frame, children: list[For | Macro | Scoped]) -> _Steps:
        """jinja2 reads each branch from a copy, then merges: a name defined in a branch
        but not before the `if` (nor by an enclosing frame) resolves from the context.
        (Steps: see `_walk`.)"""
        for name in node.test:
            self._event(("load", name), frame)
        defined: list[set[str]] = []
        for branch in (node.body, None, node.else_):
            if not (branch or (branch is None and node.elifs)):
                continue  # an empty branch defines nothing
            frame.branches.append(set())
            if branch is None:
                for elif_ in node.elifs:
                    yield self._if(elif_, frame, children)
            else:
                at = self._items(branch, 0, frame, children)
                if at >= 0:
                    yield self._body(branch, at, frame, children)
            names = frame.branches.pop()
            frame.visible -= names
            defined.append(names)
        for names in defined:
            self.work += len(names)
            self.undeclared.update(names.difference(self._outer))


def _mentioned(item: If | For | Macro | Scoped | Assign) -> list[Item]:
    """What jinja2's name visitor meets in a statement, in its order: events, and the
    statements inside it (their own in turn)."""
    if isinstance(item, Assign):
        return [*(e for e in item.target if e[0] != "nsref"), *loads_of(item.value)]
    if isinstance(item, If):
        mentioned: list[Item] = [*loads_of(item.test), *item.body]
        for elif_ in item.elifs:
            mentioned.extend(loads_of(elif_.test))
            mentioned.extend(elif_.body)
        mentioned.extend(item.else_)
        return mentioned
    if isinstance(item, For):
        return [
            *(("store", n) for n in item.target),
            *loads_of(item.iter),
            *item.body,
            *item.else_,
            *loads_of(item.test or []),
        ]
    if isinstance(item, Macro):
        params = [("param", n) for n in item.args]
        return [*loads_of(item.call), *params, *loads_of(item.defaults), *item.body]
    if item.isolated:  # a {% block %} stops jinja2's visitor
        return []
    return [*item.before, *item.body, *item.after]


# Events that jinja2's name visitor does not meet where they stand: `nsref` (not a
# name node), `outer` (see `outer_loads`), `define` (a macro's name is no name node).
_UNMENTIONED = frozenset({"nsref", "outer", "define"})
_LOOP = frozenset({"loop"})
_SPECIAL = frozenset({"loop", "caller", "varargs", "kwargs", "self", "super"})
_MACRO_SPECIAL = frozenset({"caller", "varargs", "kwargs"})
SELF = frozenset({"self"})
BLOCK_SPECIAL = frozenset({"self", "super"})
