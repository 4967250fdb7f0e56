"""Watches: shared feeds that coalesce state, so a slow client never holds anyone back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from httpx_sse import aconnect_sse

from tests.bridge.server.conftest import session_client

GREETER = "/runnables/prompt:greeter"
PADDING = "x" * 100_000  # big values fill the socket buffers of a client that stops reading


async def test_a_watch_sends_each_selector_then_its_changes_with_ids(playground: str) -> None:
    async with session_client(playground, "watch-ids") as http:
        async with aconnect_sse(http, "GET", GREETER + "/watch?selectors=is_dirty") as source:
            events = source.aiter_sse()
            first = await anext(events)
            assert (first.event, first.data) == ("is_dirty", "false")
            await http.patch(GREETER, json={"name": "changed"})
            second = await anext(events)
            assert (second.event, second.data) == ("is_dirty", "true")
            assert int(second.id) > int(first.id)
        await http.post(GREETER + "/discard")


async def test_a_slow_watcher_gets_the_newest_value_never_an_older_one_after_a_newer(
    playground: str,
) -> None:
    writes = 150
    async with (
        session_client(playground, "watch-slow") as http,
        session_client(playground, "watch-slow") as fast_http,
    ):
        path = GREETER + "/watch?selectors=entity"
        async with (
            aconnect_sse(http, "GET", path) as slow,
            aconnect_sse(fast_http, "GET", path) as fast,
        ):
            slow_events = slow.aiter_sse()
            await anext(slow_events)  # the current value; then this client stops reading
            fast_seen: list[int] = []
            last = f"v{writes - 1}"
            fast_got_last = asyncio.Event()

            async def read_fast() -> None:
                async for event in fast.aiter_sse():
                    name = json.loads(event.data).get("name") or ""
                    if name.startswith("v"):
                        fast_seen.append(int(name[1:]))
                    if name == last:
                        fast_got_last.set()
                        return

            reader = asyncio.create_task(read_fast())
            for i in range(writes):
                answer = await http.patch(GREETER, json={"name": f"v{i}", "notes": PADDING})
                assert answer.status_code == 200
            started = time.monotonic()
            await asyncio.wait_for(fast_got_last.wait(), 10)
            fast_wait = time.monotonic() - started
            slow_seen: list[int] = []
            async for event in slow_events:
                slow_seen.append(int(json.loads(event.data)["name"][1:]))
                if slow_seen[-1] == writes - 1:
                    break
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        await http.post(GREETER + "/discard")
    # The fast client was not held back by the one that stopped reading.
    assert fast_wait < 5
    assert fast_seen == sorted(fast_seen)
    assert slow_seen == sorted(set(slow_seen))
    assert slow_seen[-1] == writes - 1
    # The slow client skipped values instead of queueing every one of them.
    assert len(slow_seen) < writes


async def test_watching_an_unknown_selector_is_a_400_naming_the_known_ones(
    playground: str,
) -> None:
    async with session_client(playground, "watch-bad") as http:
        answer = await http.get(GREETER + "/watch?selectors=nope")
    assert answer.status_code == 400
    assert "nope" in answer.json()["detail"] and "is_dirty" in answer.json()["detail"]
