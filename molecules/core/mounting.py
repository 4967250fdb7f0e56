"""Mounting: which nodes have subscribers (directly or through dependents), and the edges
from each mounted node to the mounted nodes that read it. Mixed into `Store`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from molecules.core.atom import Atom
from molecules.core.node import CLEAN, Node


class Mounting:
    """Mount and unmount nodes, keep dependency edges, run on_mount callbacks."""

    __slots__ = ()
    _epoch: int
    _mounted: dict[Atom[Any], Node]
    _on_mount: list[Node]
    _cleanups: list[Callable[[], Any]]
    _lock: threading.RLock
    set: Callable[..., Any]  # Store.set

    def _add_edge(self, dep: Node, dependent: Node) -> None:
        if dep.dependents is None:
            dep.dependents = {dependent: None}
        else:
            dep.dependents[dependent] = None
        if not dep.mounted:
            self._mount(dep)

    def _mount(self, root: Node) -> None:
        stack = [root]
        self._mark_mounted(root)
        while stack:
            n = stack.pop()
            if n.deps:
                for d in n.deps[::2]:
                    if d.dependents is None:
                        d.dependents = {n: None}
                    else:
                        d.dependents[n] = None
                    if not d.mounted:
                        self._mark_mounted(d)
                        stack.append(d)

    def _mark_mounted(self, n: Node) -> None:
        n.mounted = True
        n.atom.mounts += 1
        self._mounted[n.atom] = n
        if n.fresh >= self._epoch:
            n.fresh = CLEAN
        if n.atom.on_mount is not None:
            self._on_mount.append(n)

    def _unmount(self, root: Node) -> None:
        stack = [root]
        while stack:
            n = stack.pop()
            n.mounted = False
            n.atom.mounts -= 1
            self._mounted.pop(n.atom, None)
            if n.fresh == CLEAN and n.atom.read is not None:
                n.fresh = self._epoch
            if n.extra is not None and n.extra.cleanup is not None:
                self._cleanups.append(n.extra.cleanup)
                n.extra.cleanup = None
            upstream = n.deps[::2] if n.deps else []
            if n.extra is not None and n.extra.kept:
                # An async read in flight still holds its previous run's edges.
                upstream += n.extra.kept
                n.extra.kept = []
            if upstream:
                for d in upstream:
                    dependents = d.dependents
                    if dependents is None or n not in dependents:
                        continue
                    del dependents[n]
                    if not dependents:
                        d.dependents = None
                        if d.listeners is None and d.mounted:
                            stack.append(d)

    def _rewire(self, n: Node, old: list[Node], new: list[Node]) -> None:
        old_set = set(old)
        new_set = set(new)
        for d in new:
            if d not in old_set:
                self._add_edge(d, n)
        for d in old_set - new_set:
            dependents = d.dependents
            if dependents is not None and n in dependents:
                del dependents[n]
                if not dependents:
                    d.dependents = None
                    if d.listeners is None and d.mounted:
                        self._unmount(d)

    def _run_on_mount(self, n: Node) -> None:
        a = n.atom
        on_mount = a.on_mount
        assert on_mount is not None

        def set_self(*args: Any) -> Any:
            return self.set(a, *args)

        cleanup = on_mount(set_self)
        n.more().cleanup = cleanup if callable(cleanup) else None
