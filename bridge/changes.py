"""Keeping a bridge's store coherent across processes: follow every kind's change feed.

```python
async with follow_bridge_changes(bridge, store):
    ...  # serve: a save through another worker refreshes what this store has loaded
```

Kinds whose molecule reads a source that announces changes (`SqlSource` on PostgreSQL)
are followed; the others (in-memory, SQLite, HTTP) are left as they are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from molecules import follow_changes
from molecules.changes import Stores
from molecules.source_molecule import SourceMolecule
from runnable.sources import ChangeFeed

if TYPE_CHECKING:
    from bridge.bridge import RunnableBridge

__all__ = ["follow_bridge_changes", "followed_kinds"]


def followed_kinds(bridge: RunnableBridge) -> dict[str, SourceMolecule[Any]]:
    """The kinds of `bridge` whose source announces changes, with their molecule."""
    found = {}
    for kind in bridge.kinds:
        molecule = bridge.type(kind).molecule
        source = getattr(molecule, "source", None)
        if (
            isinstance(molecule, SourceMolecule)
            and isinstance(source, ChangeFeed)
            and source.announces_changes
        ):
            found[kind] = molecule
    return found


@asynccontextmanager
async def follow_bridge_changes(bridge: RunnableBridge, stores: Stores) -> AsyncIterator[list[str]]:
    """While entered, refresh what `stores` loaded when another process saves it; yields kinds.

    `stores`: one store, or a function giving the stores of the moment (a server's
    sessions). Yields the names of the kinds followed (empty when no source announces
    changes).
    """
    kinds = followed_kinds(bridge)
    async with follow_changes(stores, *kinds.values()):
        yield list(kinds)
