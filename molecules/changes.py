"""Following a source's change feed: a store's loaded entities refresh on writes elsewhere.

```python
async with follow_changes(store, prompts):   # prompts: a SourceMolecule over SqlSource
    ...  # a save in another process refreshes prompts the store has loaded
```

Only entities the store has loaded are fetched again, drafts are kept (a draft that no
longer changes anything is dropped), `is_dirty` follows, and subscribers hear the new
data. A store that already holds the announced version (its own save) fetches nothing.
When the feed comes back after losing its connection, every entity the store has loaded
is fetched again (announcements made meanwhile were lost).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from molecules.core.store import Store
from molecules.source_molecule import SourceMolecule, describe_source
from runnable.sources.changes import ChangeFeed, EntityChange

__all__ = ["follow_changes"]


@asynccontextmanager
async def follow_changes(store: Store, *molecules: SourceMolecule[Any]) -> AsyncIterator[None]:
    """While entered, refresh what `store` has loaded of `molecules` when their source changes.

    Every molecule's source must announce changes (`SqlSource` on PostgreSQL); the
    listeners are ready when this is entered and stop when it is left.
    """
    for molecule in molecules:
        source = molecule.source
        if not isinstance(source, ChangeFeed) or not source.announces_changes:
            raise TypeError(
                f"molecule {molecule.name!r}: {describe_source(source)} announces no changes "
                "(a change feed needs SqlSource on PostgreSQL)"
            )
    async with AsyncExitStack() as stack:
        for molecule in molecules:
            feed = molecule.source
            assert isinstance(feed, ChangeFeed)
            await stack.enter_async_context(
                feed.listen(_refresher(store, molecule), on_gap=_resync(store, molecule))
            )
        yield


def _resync(store: Store, molecule: SourceMolecule[Any]) -> Any:
    def on_gap() -> None:
        store.set(molecule.refresh_loaded)

    return on_gap


def _refresher(store: Store, molecule: SourceMolecule[Any]) -> Any:
    def on_change(change: EntityChange) -> None:
        store.set(molecule.server_changed, change.id, change.version)

    return on_change
