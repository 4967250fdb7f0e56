"""Lifecycle hooks of a molecule: callbacks run as its entities load, change and go."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["MoleculeHooks"]

_Hook = Callable[..., Any] | None


@attrs.frozen(slots=True, kw_only=True)
class MoleculeHooks:
    """Callbacks a molecule calls; each is optional.

    `on_load(id, data)` after a fetch succeeds, `on_error(id, error)` after one fails,
    `on_create(id, data)`, `on_update(id, changes)`, `on_discard(id)`, `on_delete(id)`,
    `on_restore(id)`, `on_save(id, data)` after a save went through, `on_remove(id)` after
    a soft-deleted entity was removed from its source, `on_mount(id)` when a store first
    subscribes to the entity's query (directly or through data, is_dirty...) and
    `on_unmount(id)` when the last subscriber leaves. Hooks run inside the store's write,
    so they may read the store; an exception in a hook reaches the caller of that write.
    """

    on_load: _Hook = None
    on_error: _Hook = None
    on_create: _Hook = None
    on_update: _Hook = None
    on_discard: _Hook = None
    on_delete: _Hook = None
    on_restore: _Hook = None
    on_save: _Hook = None
    on_remove: _Hook = None
    on_mount: _Hook = None
    on_unmount: _Hook = None

    @classmethod
    def of(cls, hooks: MoleculeHooks | Mapping[str, Any] | None) -> MoleculeHooks:
        """`hooks` as MoleculeHooks (a dict of the same names is accepted)."""
        if hooks is None:
            return _NO_HOOKS
        if isinstance(hooks, MoleculeHooks):
            return hooks
        known = {f.name for f in attrs.fields(cls)}
        unknown = sorted(set(hooks) - known)
        if unknown:
            raise TypeError(
                f"unknown molecule hook(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**dict(hooks))

    def call(self, name: str, *args: Any) -> None:
        """Call the hook `name` with `args` if it is set."""
        hook = getattr(self, name)
        if hook is not None:
            hook(*args)


_NO_HOOKS = MoleculeHooks()
