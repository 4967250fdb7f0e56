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

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from molecules.core.store import Store
from molecules.source_molecule import SourceMolecule, describe_source
from runnable.sources.changes import ChangeFeed, EntityChange

__all__ = ["Stores", "follow_changes"]

Stores = Store | Callable[[], Iterable[Store]]
"""One store, or a function giving the stores of the moment (a server's sessions)."""


@asynccontextmanager
async def follow_changes(stores: Stores, *molecules: SourceMolecule[Any]) -> AsyncIterator[None]:
    """While entered, refresh what `stores` have loaded of `molecules` when their source changes.

    Every molecule's source must announce changes (`SqlSource` on PostgreSQL); the
    listeners are ready when this is entered and stop when it is left. A function of
    stores is called on each change, so stores made meanwhile are followed too.
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
                feed.listen(_refresher(stores, molecule), on_gap=_resync(stores, molecule))
            )
        yield


def _each(stores: Stores) -> Iterable[Store]:
    return (stores,) if isinstance(stores, Store) else stores()


def _resync(stores: Stores, molecule: SourceMolecule[Any]) -> Any:
    def on_gap() -> None:
        for store in _each(stores):
            store.set(molecule.refresh_loaded)

    return on_gap


def _refresher(stores: Stores, molecule: SourceMolecule[Any]) -> Any:
    def on_change(change: EntityChange) -> None:
        # A store that never loaded the entity does nothing here.
        for store in _each(stores):
            store.set(molecule.server_changed, change.id, change.version)

    return on_change
