"""Shared, coalescing feeds of state: one store subscription per watched atom, any clients.

A watch is state, not a log: a client wants the newest value, never every step on the
way. So a `StateFeed` subscribes to its atom once (whatever the number of watchers),
turns each new value into JSON text once, keeps only the latest and bumps its version.
Once per loop tick with news (changes in one tick coalesce), it pushes to each of its
`Watch`es in turn: a watch sends the feed's latest SSE bytes (encoded once for every
client) if they are newer than what it last sent, straight into the client's `send`
(`bridge.server.eventstream.PushedStream`). A client that is behind (its send waits on
flow control) is skipped, and gets the newest value once its send is done: it never
gets an older one after a newer, holds no queue, and never delays the feed or the other
clients.

Token streams are a log and never coalesce: they live in `bridge.server.hub`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import attrs
from reactivex.abc import DisposableBase
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler
from sse_starlette import ServerSentEvent

from bridge.server.eventstream import PushedStream
from bridge.server.json import error_text, json_text
from molecules import Atom, Loadable, Store, loadable

__all__ = ["SELECTOR_ERROR", "FeedRegistry", "StateFeed", "Watch"]

SELECTOR_ERROR = "selector_error"


@attrs.frozen(slots=True)
class FeedValue:
    """What a feed last saw: a value's JSON text, or an error (`error=True`)."""

    text: str
    error: bool = False


def encode_event(data: str, event: str, event_id: str) -> bytes:
    """One SSE event as the bytes sent on the wire (what sse-starlette would send)."""
    return ServerSentEvent(data, event=event, id=event_id).encode()


class StateFeed:
    """The latest value of one atom in one store, shared by every client watching it."""

    def __init__(self, store: Store, atom: Atom[Any], loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self.atom = atom
        self.version = 0
        self.latest: FeedValue | None = None
        # The latest value as SSE bytes, per selector name it was asked under: encoded
        # once per change for all the clients, not once per client.
        self._encoded: dict[str, bytes] = {}
        self.clients = 0
        self._watches: dict[Watch, None] = {}  # in the order they joined
        self._flushing = False
        self._loop = loop
        self._subscription: DisposableBase | None = None

    def start(self) -> None:
        """Subscribe to the atom (its current value arrives first)."""
        # Listeners run on whichever thread wrote to the store; the scheduler brings each
        # value onto this loop, in order, once per feed (not once per client).
        scheduler = AsyncIOThreadSafeScheduler(self._loop)
        observable = self.store.observe(loadable(self.atom), scheduler=scheduler)
        self._subscription = observable.subscribe(on_next=self._arrived, on_error=self._failed)

    def stop(self) -> None:
        """Unsubscribe (the atom unmounts once nothing else holds it)."""
        if self._subscription is not None:
            self._subscription.dispose()
            self._subscription = None

    def _arrived(self, state: Loadable[Any]) -> None:
        if state.state == "loading":
            return
        if state.state == "has_error":
            assert state.error is not None
            self._publish(FeedValue(error_text(state.error), error=True))
            return
        self._publish(FeedValue(json_text(state.data)))

    def _failed(self, exc: Exception) -> None:
        self._publish(FeedValue(error_text(exc), error=True))

    def _publish(self, value: FeedValue) -> None:
        if value == self.latest:
            return
        self.latest = value
        self.version += 1
        self._encoded.clear()
        if not self._flushing:
            self._flushing = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flushing = False
        for watch in tuple(self._watches):
            watch.push()

    def encoded(self, name: str) -> bytes:
        """The latest value as the SSE event `name` (or `selector_error`), with its id."""
        found = self._encoded.get(name)
        if found is None:
            value = self.latest
            assert value is not None
            if value.error:
                detail = json_text({"selector": name, "detail": value.text})
                found = encode_event(detail, SELECTOR_ERROR, str(self.version))
            else:
                found = encode_event(value.text, name, str(self.version))
            self._encoded[name] = found
        return found

    def join(self, watch: Watch) -> None:
        """Push to `watch` on every new value."""
        self._watches[watch] = None

    def leave(self, watch: Watch) -> None:
        """Stop pushing to `watch`."""
        self._watches.pop(watch, None)


class FeedRegistry:
    """The live feeds of a server, by store and atom; a feed ends with its last client."""

    def __init__(self) -> None:
        self._feeds: dict[tuple[int, Atom[Any]], StateFeed] = {}

    def __len__(self) -> int:
        return len(self._feeds)

    def acquire(self, store: Store, atom: Atom[Any]) -> StateFeed:
        """The feed of `atom` in `store`, started on first use; `release` it when done."""
        key = (id(store), atom)
        feed = self._feeds.get(key)
        if feed is None:
            feed = StateFeed(store, atom, asyncio.get_running_loop())
            self._feeds[key] = feed
            feed.start()
        feed.clients += 1
        return feed

    def release(self, feed: StateFeed) -> None:
        """One client less; the last one stops the feed."""
        feed.clients -= 1
        if feed.clients <= 0:
            self._feeds.pop((id(feed.store), feed.atom), None)
            feed.stop()


class Watch(PushedStream):
    """One client's watch of some atoms in one store (see the module docstring).

    It sends one event per atom with its current value, then the newest value on each
    change. Events are named after their selector (`selector_error` with `{"selector",
    "detail"}` for a read that failed); a selector's events carry increasing ids (its
    feed's version).
    """

    __slots__ = ("_atoms", "_feeds", "_registry", "_sent", "_store")

    def __init__(self, registry: FeedRegistry, store: Store, atoms: Mapping[str, Atom[Any]]):
        super().__init__()
        self._registry = registry
        self._store = store
        self._atoms = atoms
        self._feeds: dict[str, StateFeed] = {}
        self._sent: dict[str, int] = {}

    def open(self) -> None:
        """Join the feeds (started if new) and send the values they already have."""
        for name, atom in self._atoms.items():
            feed = self._registry.acquire(self._store, atom)
            self._feeds[name] = feed
            self._sent[name] = 0
            feed.join(self)
        self.push()

    def close(self) -> None:
        """Leave the feeds (the last client of a feed stops it)."""
        feeds, self._feeds = self._feeds, {}
        for feed in feeds.values():
            feed.leave(self)
            self._registry.release(feed)

    def next_chunk(self) -> bytes | None:
        """The first selector's value newer than the one sent, as SSE bytes."""
        for name, feed in self._feeds.items():
            if feed.version != self._sent[name] and feed.latest is not None:
                self._sent[name] = feed.version
                return feed.encoded(name)
        return None
