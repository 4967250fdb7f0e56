"""Shared, coalescing feeds of state: one store subscription per watched atom, any clients.

A watch is state, not a log: a client wants the newest value, never every step on the
way. So a `StateFeed` subscribes to its atom once (whatever the number of watchers),
turns each new value into JSON text once, keeps only the latest and bumps its version;
each client remembers the version it last sent and, when woken, sends the latest if it
is newer. A slow client therefore skips values (it never gets an older one after a
newer), holds one slot per selector (a bounded queue), and never delays the feed or
the other clients: the feed only sets each waiting client's wake-up event.

Token streams are a log and never coalesce: they live in `bridge.server.hub`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import attrs
from reactivex.abc import DisposableBase
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler
from sse_starlette import ServerSentEvent

from bridge.server.json import error_text, json_text
from molecules import Atom, Loadable, Store, loadable

__all__ = ["SELECTOR_ERROR", "FeedRegistry", "StateFeed", "watch_feeds"]

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
        self._waiters: set[asyncio.Event] = set()
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
        for waiter in self._waiters:
            waiter.set()

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

    def join(self, waiter: asyncio.Event) -> None:
        """Wake `waiter` on every new value."""
        self._waiters.add(waiter)

    def leave(self, waiter: asyncio.Event) -> None:
        """Stop waking `waiter`."""
        self._waiters.discard(waiter)


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


async def watch_feeds(
    registry: FeedRegistry,
    store: Store,
    atoms: Mapping[str, Atom[Any]],
) -> AsyncGenerator[bytes, None]:
    """One event per selector with its current value, then its newest value on each change.

    Events are named after their selector (`selector_error` with `{"selector", "detail"}`
    for a read that failed); a selector's events carry increasing ids (its feed's
    version). They come as encoded SSE bytes, shared by every client of a feed.
    """
    wake = asyncio.Event()
    feeds = {name: registry.acquire(store, atom) for name, atom in atoms.items()}
    sent = dict.fromkeys(feeds, 0)
    for feed in feeds.values():
        feed.join(wake)
    try:
        while True:
            wake.clear()
            for name, feed in feeds.items():
                value = feed.latest
                if feed.version == sent[name] or value is None:
                    continue
                sent[name] = feed.version
                yield feed.encoded(name)
            if all(feed.version == sent[name] for name, feed in feeds.items()):
                await wake.wait()
    finally:
        for feed in feeds.values():
            feed.leave(wake)
            registry.release(feed)
