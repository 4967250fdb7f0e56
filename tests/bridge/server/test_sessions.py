"""Sessions: each session edits its own draft; a save is seen by every session."""

from __future__ import annotations

import httpx

from tests.bridge.server.conftest import TIMEOUT, session_client

GREETER = "/runnables/prompt:greeter"


def _user_text(snapshot: dict[str, object]) -> str:
    entity = snapshot["entity"]
    assert isinstance(entity, dict)
    text: str = entity["messages"][1]["content"]
    return text


async def test_two_sessions_editing_one_prompt_do_not_see_each_others_draft(
    playground: str,
) -> None:
    async with (
        session_client(playground, "alice") as alice,
        session_client(playground, "bob") as bob,
    ):
        original = (await alice.get(GREETER)).json()
        messages = original["entity"]["messages"]
        edited = [messages[0], {**messages[1], "content": "Alice says hi to {{name}}"}]
        patched = await alice.patch(GREETER, json={"messages": edited})
        assert patched.json()["is_dirty"] is True
        seen_by_bob = (await bob.get(GREETER)).json()
        assert seen_by_bob["is_dirty"] is False
        assert _user_text(seen_by_bob) == _user_text(original)
        assert _user_text((await alice.get(GREETER)).json()) == "Alice says hi to {{name}}"
        await alice.post(GREETER + "/discard")


async def test_a_save_in_one_session_is_seen_by_every_session(playground: str) -> None:
    async with (
        session_client(playground, "carol") as carol,
        session_client(playground, "dave") as dave,
        httpx.AsyncClient(base_url=playground, timeout=TIMEOUT) as default,
    ):
        path = "/runnables/prompt:capital-question"
        before = (await dave.get(path)).json()
        await default.get(path)
        messages = [{"role": "user", "content": "Name the capital city of {{country}}."}]
        await carol.patch(path, json={"messages": messages})
        saved = await carol.post(path + "/save")
        assert saved.status_code == 200 and saved.json()["is_dirty"] is False
        for other in (dave, default):
            after = (await other.get(path)).json()
            assert after["entity"]["messages"][0]["content"] == messages[0]["content"]
            assert after["is_dirty"] is False
        assert before["entity"]["messages"][0]["content"] != messages[0]["content"]
        listed = (await dave.get("/runnables", params={"kind": "prompt"})).json()["items"]
        found = next(item for item in listed if item["id"] == "capital-question")
        assert found["configuration"]["messages"][0]["content"] == messages[0]["content"]


async def test_a_draft_survives_a_save_made_by_another_session(playground: str) -> None:
    async with (
        session_client(playground, "erin") as erin,
        session_client(playground, "frank") as frank,
    ):
        await erin.patch(GREETER, json={"name": "Erin's greeter"})
        await frank.patch(GREETER, json={"variable_defaults": {"name": "Frank", "tone": "dry"}})
        await frank.post(GREETER + "/save")
        mine = (await erin.get(GREETER)).json()
        assert mine["entity"]["name"] == "Erin's greeter"
        assert mine["entity"]["variable_defaults"] == {"name": "Frank", "tone": "dry"}
        assert mine["is_dirty"] is True
        await erin.post(GREETER + "/discard")


async def test_the_page_gives_a_new_browser_a_session_cookie_that_later_requests_carry(
    playground: str,
) -> None:
    async with httpx.AsyncClient(base_url=playground, timeout=TIMEOUT) as browser:
        page = await browser.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "rb_session" in page.cookies
        info = (await browser.get("/info")).json()
        assert info["session"] == page.cookies["rb_session"]
        again = await browser.get("/")
        assert "set-cookie" not in again.headers


async def test_a_malformed_session_id_is_a_400(playground: str) -> None:
    async with session_client(playground, "not a valid id!") as bad:
        answer = await bad.get(GREETER)
    assert answer.status_code == 400
    assert "session" in answer.json()["detail"]
