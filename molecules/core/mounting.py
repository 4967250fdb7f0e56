"""Mounting: which nodes of a store are mounted, and the edges the push follows.

A node with a listener is mounted, and so is everything it reads; each mounted node
keeps its mounted dependents (`Node.dependents`), which is what a write walks to mark
them stale. These are the structural half of propagation (internals.py is the rest):
they run under the store's lock and know nothing of values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from molecules.core.atom import Atom
from molecules.core.node import CLEAN, Extra, Node


class Mounts:
    """The mounted nodes of one store, and what mounting leaves for the flush to run."""

    __slots__ = ("cleanups", "mounted", "on_mount")

    def __init__(self) -> None:
        self.mounted: dict[Atom[Any], Node] = {}
        self.on_mount: list[Node] = []  # newly mounted nodes whose on_mount is to run
        self.cleanups: list[Callable[[], Any]] = []  # of unmounted nodes, to run

    def add_edge(self, dep: Node, dependent: Node, epoch: int) -> None:
        """Record that mounted `dependent` reads `dep`, mounting `dep` if it is not yet."""
        if dep.dependents is None:
            dep.dependents = {dependent: None}
        else:
            dep.dependents[dependent] = None
        if not dep.mounted:
            self.mount(dep, epoch)

    def mount(self, root: Node, epoch: int) -> None:
        """Mount `root` and, through its recorded dependencies, everything it reads."""
        stack = [root]
        self._mark_mounted(root, epoch)
        while stack:
            n = stack.pop()
            if n.deps:
                for d in n.deps[::2]:
                    if d.dependents is None:
                        d.dependents = {n: None}
                    else:
                        d.dependents[n] = None
                    if not d.mounted:
                        self._mark_mounted(d, epoch)
                        stack.append(d)

    def _mark_mounted(self, n: Node, epoch: int) -> None:
        n.mounted = True
        n.atom.mounts += 1
        self.mounted[n.atom] = n
        if n.fresh >= epoch:  # verified now: it stays clean until a write marks it
            n.fresh = CLEAN
        if n.atom.on_mount is not None:
            self.on_mount.append(n)

    def unmount(self, root: Node, epoch: int) -> None:
        """Unmount `root` and whatever upstream no other mounted node reads."""
        stack = [root]
        while stack:
            n = stack.pop()
            n.mounted = False
            n.atom.mounts -= 1
            self.mounted.pop(n.atom, None)
            if n.fresh == CLEAN and n.read is not None:
                n.fresh = epoch  # from now on verified lazily
            upstream = n.deps[::2] if n.deps else []
            extra = n.extra
            if extra is not None:
                if extra.cleanup is not None:
                    self.cleanups.append(extra.cleanup)
                    extra.cleanup = None
                if extra.kept:
                    # An async read in flight still holds its previous run's edges.
                    upstream += extra.kept
                    extra.kept = []
            for d in upstream:
                dependents = d.dependents
                if dependents is None or n not in dependents:
                    continue
                del dependents[n]
                if not dependents:
                    d.dependents = None
                    if d.listeners is None and d.mounted:
                        stack.append(d)

    def rewire(self, n: Node, old: list[Node], new: list[Node], epoch: int) -> None:
        """Mounted `n` now reads `new` instead of `old`: add and drop edges to match."""
        old_set = set(old)
        new_set = set(new)
        for d in new:
            if d not in old_set:
                self.add_edge(d, n, epoch)
        for d in old_set - new_set:
            dependents = d.dependents
            if dependents is not None and n in dependents:
                del dependents[n]
                if not dependents:
                    d.dependents = None
                    if d.listeners is None and d.mounted:
                        self.unmount(d, epoch)

    def run_on_mount(self, n: Node, set: Callable[..., Any]) -> None:
        """Call the atom's `on_mount(set_self)`, keeping the cleanup it returns."""
        a = n.atom
        on_mount = a.on_mount
        assert on_mount is not None

        def set_self(*args: Any) -> Any:
            return set(a, *args)

        cleanup = on_mount(set_self)
        n.more().cleanup = cleanup if callable(cleanup) else None

    def retrack(self, n: Node, old_deps: list[Any] | None, epoch: int) -> None:
        """Mounted `n` read `n.deps` this run and `old_deps` the last: move its edges."""
        if n.mode == 2:
            if old_deps:
                # The new run reads after `await`s: the old edges stay until it settles.
                extra = n.more()
                extra.kept = list(dict.fromkeys([*extra.kept, *old_deps[::2]]))
        else:
            deps = n.deps
            assert deps is not None
            self.rewire(n, old_deps[::2] if old_deps else [], deps[::2], epoch)

    def drop_kept(self, n: Node, extra: Extra, epoch: int) -> None:
        """An async run settled: drop the earlier run's edges that this one did not read."""
        kept, extra.kept = extra.kept, []
        if n.mounted:
            self.rewire(n, kept, n.deps[::2] if n.deps else [], epoch)
