"""create_molecule: query state, loading and caching, drafts, dirtiness, create/delete, save."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from molecules import (
    EntityLoadError,
    EntityNotFoundError,
    Molecule,
    QueryState,
    SaveNotSupportedError,
    Store,
    create_molecule,
)
from runnable.sources import InMemorySource
from runnable.types import RunnableRef


class Counting:
    """An async fetch over a dict that counts calls and can be held at a gate."""

    def __init__(self, entities: dict[str, dict[str, Any]]) -> None:
        self.entities = entities
        self.calls: list[str] = []
        self.gate: asyncio.Event | None = None

    async def __call__(self, key: str) -> dict[str, Any] | None:
        self.calls.append(key)
        if self.gate is not None:
            await self.gate.wait()
        found = self.entities.get(key)
        return None if found is None else {**found, "id": key}


def prompts() -> dict[str, dict[str, Any]]:
    return {"p1": {"name": "greet", "settings": {"temperature": 0.2}}}


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_every_selector_is_the_same_atom_on_every_call() -> None:
    m = create_molecule("prompt", Counting(prompts()))
    for name, family in m.selectors.items():
        assert family("p1") is family("p1"), name
        assert family(RunnableRef("prompt", "p1")) is family("p1"), name
        assert family("p1") is not family("p2"), name


def test_a_query_nobody_asked_for_is_idle() -> None:
    m = create_molecule("prompt", Counting(prompts()))
    assert Store().get(m.query("p1")) == QueryState("idle")


async def test_a_subscriber_starts_the_fetch_and_hears_each_status() -> None:
    fetch = Counting(prompts())
    m = create_molecule("prompt", fetch)
    store = Store()
    statuses: list[str] = []
    store.sub(m.query("p1"), lambda: statuses.append(store.get(m.query("p1")).status))
    assert store.get(m.query("p1")).status == "loading"  # started within `sub`
    await settle()
    assert statuses == ["loading", "success"]
    assert store.get(m.data("p1")) == {"id": "p1", **prompts()["p1"]}
    assert store.get(m.query("p1")).fetched_at is not None


async def test_a_plain_read_in_a_loop_starts_the_fetch_right_after() -> None:
    fetch = Counting(prompts())
    m = create_molecule("prompt", fetch)
    store = Store()
    assert store.get(m.query("p1")).status == "idle"
    await settle()
    assert fetch.calls == ["p1"]
    assert store.get(m.query("p1")).status == "success"


def test_subscribing_outside_a_loop_loads_a_plain_fetch_at_once() -> None:
    m = create_molecule("prompt", lambda key: {"id": key, "name": "sync"})
    store = Store()
    store.sub(m.data("p1"), lambda: None)
    assert store.get(m.data("p1")) == {"id": "p1", "name": "sync"}


def test_subscribing_outside_a_loop_leaves_an_async_fetch_idle() -> None:
    m = create_molecule("prompt", Counting(prompts()))
    store = Store()
    store.sub(m.query("p1"), lambda: None)
    assert store.get(m.query("p1")).status == "idle"


async def test_a_new_subscriber_after_the_ttl_fetches_again() -> None:
    now = [1000.0]
    fetch = Counting(prompts())
    m = create_molecule("prompt", fetch, ttl=60, clock=lambda: now[0])
    store = Store()
    unsubscribe = store.sub(m.data("p1"), lambda: None)
    await settle()
    unsubscribe()
    now[0] += 61
    store.sub(m.data("p1"), lambda: None)
    await settle()
    assert fetch.calls == ["p1", "p1"]


async def test_reading_data_alone_loads_the_entity() -> None:
    m = create_molecule("prompt", Counting(prompts()))
    store = Store()
    seen: list[Any] = []
    store.sub(m.data("p1"), lambda: seen.append(store.get(m.data("p1"))))
    await settle()
    assert seen == [{"id": "p1", **prompts()["p1"]}]


async def test_load_fetches_once_for_concurrent_and_later_callers() -> None:
    fetch = Counting(prompts())
    m = create_molecule("prompt", fetch)
    store = Store()
    first, second = await asyncio.gather(store.set(m.load, "p1"), store.set(m.load, "p1"))
    third = await store.set(m.load, "p1")
    assert first == second == third == {"id": "p1", **prompts()["p1"]}
    assert fetch.calls == ["p1"]


async def test_each_store_keeps_its_own_cache() -> None:
    fetch = Counting(prompts())
    m = create_molecule("prompt", fetch)
    await Store().set(m.load, "p1")
    await Store().set(m.load, "p1")
    assert fetch.calls == ["p1", "p1"]


async def test_ttl_refetches_once_the_cached_data_is_older_than_ttl() -> None:
    now = [1000.0]
    fetch = Counting(prompts())
    m = create_molecule("prompt", fetch, ttl=60, clock=lambda: now[0])
    store = Store()
    await store.set(m.load, "p1")
    now[0] += 59
    await store.set(m.load, "p1")
    assert fetch.calls == ["p1"]
    now[0] += 2
    await store.set(m.load, "p1")
    assert fetch.calls == ["p1", "p1"]
    assert store.get(m.query("p1")).fetched_at == 1061.0


async def test_refresh_refetches_and_shows_the_old_data_while_loading() -> None:
    fetch = Counting(prompts())
    m = create_molecule("prompt", fetch)
    store = Store()
    await store.set(m.load, "p1")
    fetch.entities["p1"] = {"name": "renamed"}
    fetch.gate = asyncio.Event()
    pending = store.set(m.refresh, "p1")
    await settle()
    state = store.get(m.query("p1"))
    assert state.status == "loading"
    assert state.data == {"id": "p1", **prompts()["p1"]}
    fetch.gate.set()
    assert await pending == {"id": "p1", "name": "renamed"}
    assert fetch.calls == ["p1", "p1"]


async def test_refresh_keeps_the_draft() -> None:
    fetch = Counting(prompts())
    m = create_molecule("prompt", fetch)
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.update, "p1", {"name": "draft name"})
    await store.set(m.refresh, "p1")
    assert store.get(m.data("p1"))["name"] == "draft name"


async def test_a_refresh_supersedes_an_older_fetch_still_in_flight() -> None:
    answers = iter([("slow", 0.05), ("fast", 0.0)])

    async def fetch(key: str) -> dict[str, Any]:
        name, delay = next(answers)
        await asyncio.sleep(delay)
        return {"id": key, "name": name}

    m = create_molecule("prompt", fetch)
    store = Store()
    first = store.set(m.load, "p1")
    second = store.set(m.refresh, "p1")
    assert await second == {"id": "p1", "name": "fast"}
    assert await first == {"id": "p1", "name": "fast"}
    await asyncio.sleep(0.06)
    assert store.get(m.data("p1")) == {"id": "p1", "name": "fast"}


async def test_a_missing_entity_is_an_error_state_not_a_listener_exception() -> None:
    m = create_molecule("prompt", Counting({}), where="the test dict")
    store = Store()
    seen: list[QueryState[Any]] = []
    store.sub(m.query("ghost"), lambda: seen.append(store.get(m.query("ghost"))))
    store.sub(m.data("ghost"), lambda: None)
    await settle()
    state = store.get(m.query("ghost"))
    assert state.status == "error"
    assert isinstance(state.error, EntityNotFoundError)
    assert state.message == "prompt 'ghost': not found in the test dict"
    assert store.get(m.data("ghost")) is None
    assert [s.status for s in seen] == ["loading", "error"]


async def test_awaiting_load_of_a_missing_entity_raises_not_found() -> None:
    m = create_molecule("prompt", Counting({}))
    with pytest.raises(EntityNotFoundError, match="'ghost'"):
        await Store().set(m.load, "ghost")


async def test_a_failing_fetch_is_an_error_state_naming_the_cause() -> None:
    async def fetch(key: str) -> dict[str, Any]:
        raise ConnectionError("database is down")

    m = create_molecule("prompt", fetch)
    store = Store()
    with pytest.raises(EntityLoadError, match="ConnectionError: database is down"):
        await store.set(m.load, "p1")
    assert store.get(m.query("p1")).message == (
        "prompt 'p1': fetch failed: ConnectionError: database is down"
    )


async def test_data_the_transform_refuses_is_an_error_state() -> None:
    def transform(raw: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(raw.get("name"), str):
            raise ValueError("name must be text")
        return raw

    m = create_molecule("prompt", Counting({"p1": {"name": 3}}), transform=transform)
    store = Store()
    with pytest.raises(EntityLoadError, match="invalid entity data: name must be text"):
        await store.set(m.load, "p1")


async def test_a_load_after_an_error_tries_again() -> None:
    fetch = Counting({})
    m = create_molecule("prompt", fetch)
    store = Store()
    with pytest.raises(EntityNotFoundError):
        await store.set(m.load, "p1")
    fetch.entities["p1"] = {"name": "late"}
    assert await store.set(m.load, "p1") == {"id": "p1", "name": "late"}


def test_a_plain_fetch_loads_at_once_without_an_event_loop() -> None:
    m = create_molecule("prompt", lambda key: {"id": key, "name": "sync"})
    store = Store()
    pending = store.set(m.load, "p1")
    assert store.get(m.data("p1")) == {"id": "p1", "name": "sync"}
    assert asyncio.run(pending) == {"id": "p1", "name": "sync"}


def test_the_result_of_a_plain_load_may_be_dropped_without_a_warning() -> None:
    m = create_molecule("prompt", lambda key: {"id": key})
    store = Store()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        store.set(m.load, "p1")
        store.set(m.update, "p1", {"name": "x"})
        gc.collect()
    assert store.get(m.data("p1")) == {"id": "p1", "name": "x"}


async def test_the_result_of_a_plain_load_can_become_a_task() -> None:
    m = create_molecule("prompt", lambda key: {"id": key, "name": "sync"})
    task = asyncio.create_task(Store().set(m.load, "p1"))
    assert await task == {"id": "p1", "name": "sync"}


def test_an_async_load_made_outside_a_loop_runs_when_awaited() -> None:
    m = create_molecule("prompt", Counting(prompts()))
    store = Store()
    assert asyncio.run(store.set(m.load, "p1"))["name"] == "greet"
    assert store.get(m.query("p1")).status == "success"


async def test_update_merges_changes_into_the_draft_and_data() -> None:
    m = create_molecule("prompt", Counting(prompts()))
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.update, "p1", {"name": "hello"})
    store.set(m.update, "p1", {"notes": "new field"})
    assert store.get(m.draft("p1")) == {"name": "hello", "notes": "new field"}
    assert store.get(m.data("p1")) == {
        "id": "p1",
        "name": "hello",
        "notes": "new field",
        "settings": {"temperature": 0.2},
    }
    assert store.get(m.server_data("p1")) == {"id": "p1", **prompts()["p1"]}
    assert store.get(m.is_dirty("p1")) is True


async def test_a_draft_that_equals_the_server_again_is_cleared() -> None:
    m = create_molecule("prompt", Counting(prompts()))
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.update, "p1", {"name": "changed"})
    store.set(m.update, "p1", {"name": "greet"})
    assert store.get(m.draft("p1")) is None
    assert store.get(m.is_dirty("p1")) is False


@pytest.mark.parametrize(
    ("server", "edit"),
    [
        ({"settings": {"a": 1, "b": 2}}, {"settings": {"b": 2, "a": 1}}),
        ({"settings": {"a": 1}}, {"settings": '{"a": 1}'}),
        ({"description": None}, {"description": ""}),
        ({}, {"description": None}),
        ({"settings": {"a": 1}}, {"settings": {"a": 1, "b": None}}),
    ],
    ids=["key-order", "json-string", "none-vs-empty", "missing-vs-none", "nested-none"],
)
async def test_equal_under_normalisation_is_not_dirty(
    server: dict[str, Any], edit: dict[str, Any]
) -> None:
    m = create_molecule("prompt", Counting({"p1": server}))
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.update, "p1", edit)
    assert store.get(m.is_dirty("p1")) is False
    assert store.get(m.draft("p1")) is None


async def test_excluded_fields_do_not_make_an_entity_dirty() -> None:
    m = create_molecule(
        "prompt", Counting(prompts()), exclude_fields=("updated_at", "settings.seed")
    )
    store = Store()
    await store.set(m.load, "p1")
    store.set(
        m.update, "p1", {"updated_at": "2024-01-01", "settings": {"temperature": 0.2, "seed": 7}}
    )
    assert store.get(m.is_dirty("p1")) is False
    store.set(m.update, "p1", {"settings": {"temperature": 0.9, "seed": 7}})
    assert store.get(m.is_dirty("p1")) is True


async def test_derived_fields_are_derived_on_both_sides_before_comparing() -> None:
    def with_slug(raw: dict[str, Any]) -> dict[str, Any]:
        return {**raw, "slug": str(raw.get("name", "")).lower().replace(" ", "-")}

    m = create_molecule("prompt", Counting({"p1": {"name": "My Prompt"}}), transform=with_slug)
    store = Store()
    await store.set(m.load, "p1")
    assert store.get(m.server_data("p1"))["slug"] == "my-prompt"
    store.set(m.update, "p1", {"slug": "stale-by-hand"})
    assert store.get(m.is_dirty("p1")) is False
    store.set(m.update, "p1", {"name": "Other Name"})
    assert store.get(m.data("p1"))["slug"] == "other-name"
    assert store.get(m.is_dirty("p1")) is True


async def test_a_custom_is_dirty_and_merge_replace_the_defaults() -> None:
    def merge(server: dict[str, Any], draft: dict[str, Any]) -> dict[str, Any]:
        return {**server, "tags": [*server.get("tags", []), *draft.get("tags", [])]}

    m = create_molecule(
        "prompt",
        Counting({"p1": {"tags": ["a"]}}),
        merge=merge,
        is_dirty=lambda server, merged: len(merged["tags"]) > 2,
    )
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.update, "p1", {"tags": ["b", "c"]})
    assert store.get(m.data("p1"))["tags"] == ["a", "b", "c"]
    assert store.get(m.is_dirty("p1")) is True
    store.set(m.update, "p1", {"tags": ["b"]})
    assert store.get(m.draft("p1")) is None  # ["a", "b"] is clean by the custom rule


async def test_is_dirty_notifies_only_when_it_flips() -> None:
    m = create_molecule("prompt", Counting(prompts()))
    store = Store()
    await store.set(m.load, "p1")
    flips: list[bool] = []
    store.sub(m.is_dirty("p1"), lambda: flips.append(store.get(m.is_dirty("p1"))))
    for name in ("a", "b", "c"):
        store.set(m.update, "p1", {"name": name})
    store.set(m.update, "p1", {"name": "greet"})
    assert flips == [True, False]


async def test_discard_drops_the_draft() -> None:
    m = create_molecule("prompt", Counting(prompts()))
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.update, "p1", {"name": "x"})
    store.set(m.discard, "p1")
    assert store.get(m.data("p1")) == {"id": "p1", **prompts()["p1"]}


async def test_create_returns_the_new_id_at_once_and_never_fetches() -> None:
    fetch = Counting({})
    m = create_molecule("prompt", fetch)
    store = Store()
    new_id = store.set(m.create, {"name": "fresh"})
    assert isinstance(new_id, str) and new_id
    assert store.get(m.is_new(new_id)) is True
    assert store.get(m.is_dirty(new_id)) is True
    assert store.get(m.data(new_id)) == {"id": new_id, "name": "fresh"}
    await store.set(m.load, new_id)
    await settle()
    assert fetch.calls == []


async def test_create_keeps_an_id_given_in_the_data() -> None:
    m = create_molecule("prompt", Counting({}))
    assert Store().set(m.create, {"id": "mine", "name": "x"}) == "mine"


def test_create_refuses_data_the_transform_refuses() -> None:
    def transform(raw: dict[str, Any]) -> dict[str, Any]:
        if "name" not in raw:
            raise ValueError("a prompt needs a name")
        return raw

    m = create_molecule("prompt", Counting({}), transform=transform)
    with pytest.raises(ValueError, match="needs a name"):
        Store().set(m.create, {"title": "no name"})


async def test_saving_a_new_entity_writes_it_and_it_stops_being_new() -> None:
    source = InMemorySource()
    m = create_molecule("prompt", source.get, save=source.save)
    store = Store()
    new_id = store.set(m.create, {"name": "fresh"})
    assert await store.set(m.save, new_id) == {"id": new_id, "name": "fresh"}
    assert await source.get(new_id) == {"id": new_id, "name": "fresh"}
    assert store.get(m.is_new(new_id)) is False
    assert store.get(m.is_dirty(new_id)) is False
    assert store.get(m.query(new_id)).status == "success"


async def test_save_writes_the_draft_through_and_clears_it() -> None:
    source = InMemorySource(prompts())
    m = create_molecule("prompt", source.get, save=source.save)
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.update, "p1", {"name": "saved name"})
    await store.set(m.save, "p1")
    assert (await source.get("p1") or {})["name"] == "saved name"
    assert store.get(m.draft("p1")) is None
    assert store.get(m.server_data("p1"))["name"] == "saved name"


async def test_edits_made_while_a_save_runs_stay_in_the_draft() -> None:
    gate = asyncio.Event()
    saved: list[dict[str, Any]] = []

    async def save(key: str, data: dict[str, Any]) -> None:
        await gate.wait()
        saved.append(data)

    m = create_molecule("prompt", Counting(prompts()), save=save)
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.update, "p1", {"name": "first"})
    pending = store.set(m.save, "p1")
    store.set(m.update, "p1", {"notes": "typed during the save"})
    gate.set()
    await pending
    assert saved[0]["name"] == "first" and "notes" not in saved[0]
    assert store.get(m.draft("p1")) == {"name": "first", "notes": "typed during the save"}
    assert store.get(m.is_dirty("p1")) is True


async def test_a_failed_save_raises_and_keeps_the_draft() -> None:
    async def save(key: str, data: dict[str, Any]) -> None:
        raise RuntimeError("disk full")

    m = create_molecule("prompt", Counting(prompts()), save=save)
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.update, "p1", {"name": "unsaved"})
    with pytest.raises(RuntimeError, match="disk full"):
        await store.set(m.save, "p1")
    assert store.get(m.draft("p1")) == {"name": "unsaved"}


async def test_save_without_a_save_function_says_so() -> None:
    m = create_molecule("prompt", Counting(prompts()))
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.update, "p1", {"name": "x"})
    with pytest.raises(SaveNotSupportedError, match="no save function"):
        store.set(m.save, "p1")


async def test_delete_and_restore_toggle_a_soft_delete() -> None:
    m = create_molecule("prompt", Counting(prompts()))
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.delete, "p1")
    assert store.get(m.is_deleted("p1")) is True
    assert store.get(m.data("p1")) is not None
    store.set(m.restore, "p1")
    assert store.get(m.is_deleted("p1")) is False


async def test_saving_a_deleted_entity_removes_it_from_the_source() -> None:
    source = InMemorySource(prompts())
    m = create_molecule("prompt", source.get, save=source.save, remove=source.delete)
    store = Store()
    await store.set(m.load, "p1")
    store.set(m.delete, "p1")
    await store.set(m.save, "p1")
    assert await source.get("p1") is None
    assert store.get(m.data("p1")) is None
    assert store.get(m.query("p1")).status == "error"


async def test_saving_a_deleted_entity_without_remove_says_so() -> None:
    m = create_molecule("prompt", Counting(prompts()), save=lambda key, data: None)
    store = Store()
    store.set(m.delete, "p1")
    with pytest.raises(SaveNotSupportedError, match="no remove function"):
        store.set(m.save, "p1")


async def test_set_server_data_fills_the_store_without_a_fetch() -> None:
    fetch = Counting({})
    m = create_molecule("prompt", fetch)
    store = Store()
    store.set(m.set_server_data, "p9", {"id": "p9", "name": "listed"})
    assert await store.set(m.load, "p9") == {"id": "p9", "name": "listed"}
    assert fetch.calls == []


async def test_is_new_marks_local_ids_from_the_start() -> None:
    fetch = Counting({})
    m = create_molecule("prompt", fetch, is_new=lambda key: key.startswith("draft-"))
    store = Store()
    assert store.get(m.is_new("draft-1")) is True
    assert store.get(m.is_new("p1")) is False
    store.get(m.query("draft-1"))
    await settle()
    assert fetch.calls == []


async def test_hooks_are_called_through_the_lifecycle() -> None:
    events: list[tuple[Any, ...]] = []

    def hook(name: str) -> Callable[..., None]:
        return lambda *args: events.append((name, *args))

    names = ["on_load", "on_error", "on_create", "on_update", "on_discard", "on_delete"]
    names += ["on_restore", "on_save", "on_mount", "on_unmount"]
    source = InMemorySource(prompts())
    m = create_molecule(
        "prompt", source.get, save=source.save, hooks={name: hook(name) for name in names}
    )
    store = Store()
    unsubscribe = store.sub(m.data("p1"), lambda: None)
    await settle()
    store.set(m.update, "p1", {"name": "x"})
    store.set(m.discard, "p1")
    store.set(m.delete, "p1")
    store.set(m.restore, "p1")
    new_id = store.set(m.create, {"name": "n"})
    await store.set(m.save, new_id)
    with pytest.raises(EntityNotFoundError):
        await store.set(m.load, "ghost")
    unsubscribe()
    assert [e[0] for e in events] == [
        "on_mount",
        "on_load",
        "on_update",
        "on_discard",
        "on_delete",
        "on_restore",
        "on_create",
        "on_save",
        "on_error",
        "on_unmount",
    ]
    assert events[1] == ("on_load", "p1", {"id": "p1", **prompts()["p1"]})
    assert events[2] == ("on_update", "p1", {"name": "x"})


def test_an_unknown_hook_name_is_refused() -> None:
    with pytest.raises(TypeError, match="unknown molecule hook"):
        create_molecule("prompt", Counting({}), hooks={"on_lunch": print})


def test_a_molecule_lists_its_selectors_and_actions() -> None:
    m: Molecule[Any] = create_molecule("prompt", Counting({}))
    assert set(m.selectors) == {
        "query",
        "server_data",
        "server_version",
        "draft",
        "data",
        "is_dirty",
        "is_new",
        "is_deleted",
    }
    assert set(m.actions) == {
        "load",
        "refresh",
        "update",
        "discard",
        "create",
        "delete",
        "restore",
        "save",
        "set_server_data",
        "server_changed",
        "refresh_loaded",
    }
