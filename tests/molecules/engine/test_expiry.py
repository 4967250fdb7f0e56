"""`instance_ttl`: instances left alone (idle, unwatched, unchanged) are removed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from molecules import Store
from molecules.engine import ConversationEngine, EngineConfigError
from runnable.testing.openai_chat import reply
from runnable.tracking import RunStatus, RunStore
from tests.servers.fixtures import ChatServer

MakeEngine = Callable[..., ConversationEngine]


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def start(store: Store, engine: ConversationEngine, prompt: str = "plain") -> str:
    iid: str = await store.set(engine.actions.start_prompt_instance, prompt)
    return iid


async def test_an_idle_unwatched_instance_is_removed_after_the_ttl(
    make_engine: MakeEngine, store: Store
) -> None:
    clock = Clock()
    engine = make_engine(instance_ttl=60, monotonic=clock)
    iid = await start(store, engine)
    clock.now += 59
    assert store.set(engine.actions.remove_expired_instances) == ()
    clock.now += 1
    assert store.set(engine.actions.remove_expired_instances) == (iid,)
    assert store.get(engine.selectors.state(iid)) is None
    assert store.get(engine.selectors.instance_ids) == ()


async def test_a_change_restarts_the_ttl(make_engine: MakeEngine, store: Store) -> None:
    clock = Clock()
    engine = make_engine(instance_ttl=60, monotonic=clock)
    iid = await start(store, engine)
    clock.now += 50
    store.set(engine.actions.set_current_input, iid, "still here")
    clock.now += 50
    assert store.set(engine.actions.remove_expired_instances) == ()
    clock.now += 10
    assert store.set(engine.actions.remove_expired_instances) == (iid,)


async def test_a_watched_instance_stays_until_its_last_subscriber_leaves(
    make_engine: MakeEngine, store: Store
) -> None:
    clock = Clock()
    engine = make_engine(instance_ttl=60, monotonic=clock)
    iid = await start(store, engine)
    unsubscribe = store.sub(engine.selectors.display_messages(iid), lambda: None)
    clock.now += 600
    assert store.set(engine.actions.remove_expired_instances) == ()
    unsubscribe()
    assert store.set(engine.actions.remove_expired_instances) == (iid,)


async def test_an_executing_instance_is_never_removed(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    clock = Clock()
    chat_server.state.script(reply("slow ", "answer", chunk_delay=0.3))
    engine = make_engine(instance_ttl=60, monotonic=clock)
    iid = await start(store, engine)
    turn = store.set(engine.actions.execute_message, iid, "Go")
    clock.now += 600
    assert store.set(engine.actions.remove_expired_instances) == ()
    assert (await turn).status == "success"


async def test_removing_an_expired_instance_ends_its_run(
    make_engine: MakeEngine, store: Store, run_store: RunStore, chat_server: ChatServer
) -> None:
    clock = Clock()
    engine = make_engine(instance_ttl=60, monotonic=clock, run_store=run_store)
    iid = await start(store, engine)
    await store.set(engine.actions.execute_message, iid, "Hi")
    clock.now += 61
    assert store.set(engine.actions.remove_expired_instances) == (iid,)
    await engine.drain()
    [run] = await run_store.list_runs()
    assert run.status is RunStatus.SUCCESS


async def test_the_store_reaper_removes_instances_by_itself(make_engine: MakeEngine) -> None:
    store = Store()
    engine = make_engine(instance_ttl=0.05)
    iid = await start(store, engine)
    async with asyncio.timeout(5):
        while store.get(engine.selectors.state(iid)) is not None:
            await asyncio.sleep(0.01)
    assert store.get(engine.selectors.instance_ids) == ()


async def test_without_a_ttl_nothing_is_removed(make_engine: MakeEngine, store: Store) -> None:
    clock = Clock()
    engine = make_engine(monotonic=clock)
    iid = await start(store, engine)
    clock.now += 10**9
    assert store.set(engine.actions.remove_expired_instances) == ()
    assert store.get(engine.selectors.status(iid)) == "ready"


@pytest.mark.parametrize("ttl", [0, -5])
def test_a_ttl_that_is_not_positive_is_refused(make_engine: MakeEngine, ttl: float) -> None:
    with pytest.raises(EngineConfigError, match="instance_ttl"):
        make_engine(instance_ttl=ttl)
