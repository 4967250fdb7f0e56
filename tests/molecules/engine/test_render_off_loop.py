"""A turn renders its prompt's templates in its task, in a worker thread, never in the
synchronous write that queues it: a slow render leaves the event loop free, and a render
that fails ends that turn (recorded) without breaking the instance."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from molecules import Store
from molecules.engine import ConversationEngine, InstanceNotReadyError
from runnable.errors import TemplateLimitError
from runnable.testing.openai_chat import reply
from runnable.tracking import RunStatus, RunStore
from tests.servers.fixtures import ChatServer

MakeEngine = Callable[..., ConversationEngine]

# Up to n * 300 loop iterations: n=300 is slow but within the limits (100 000 iterations),
# n=400 hits max_loop_iterations.
LOOPS = "{% for i in range(n) %}{% for j in range(300) %}{{ i * j }}{% endfor %}{% endfor %}"


def prompt(content: str) -> dict[str, Any]:
    return {
        "name": "Loops",
        "messages": [{"role": "user", "content": content}],
        "settings": {"model": "gpt-4o-mini"},
        "template_format": "jinja2",
    }


class Ticker:
    """Counts the event loop's turns while it runs."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(0)

    async def stop(self) -> None:
        self._task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self._task


class Probe:
    """A variable that notes the ticker's count each time a template renders it."""

    def __init__(self, ticker: Ticker) -> None:
        self.ticker = ticker
        self.seen: list[int] = []

    def __str__(self) -> str:
        self.seen.append(self.ticker.ticks)
        return "probe"


async def start(store: Store, engine: ConversationEngine, spec: Any, **options: Any) -> str:
    iid: str = await store.set(engine.actions.start_prompt_instance, spec, options)
    return iid


async def start_slow(store: Store, engine: ConversationEngine) -> tuple[str, Ticker, Probe]:
    """An instance whose template renders slowly, with a probe of the loop's ticks."""
    ticker = Ticker()
    probe = Probe(ticker)
    variables = {"n": 300, "probe": probe}
    iid = await start(
        store, engine, prompt("{{ probe }}" + LOOPS + "{{ probe }}"), variables=variables
    )
    return iid, ticker, probe


async def test_a_slow_render_leaves_the_event_loop_running(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    engine = make_engine()
    iid, ticker, probe = await start_slow(store, engine)
    try:
        turn = store.set(engine.actions.execute_message, iid, "go")
        # Queued, not rendered: the write returned before the template was rendered.
        assert probe.seen == []
        assert store.get(engine.selectors.status(iid)) == "executing"
        result = await turn
    finally:
        await ticker.stop()

    assert result.status == "success"
    first, last = probe.seen
    # The loop went on turning between the render's first tag and its last.
    assert last > first
    [sent] = chat_server.state.requests
    content = sent.body["messages"][0]["content"]
    assert content.startswith("probe0000") and content.endswith("probe\n\ngo")


async def test_a_render_that_hits_a_limit_fails_its_turn_and_the_next_turn_runs(
    make_engine: MakeEngine, store: Store, run_store: RunStore, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("Fine."))
    engine = make_engine(run_store=run_store)
    iid = await start(store, engine, prompt(LOOPS), variables={"n": 400})

    failed = await store.set(engine.actions.execute_message, iid, "first")

    assert failed.status == "error" and failed.error is not None
    assert failed.error.type == "TemplateLimitError"
    assert "max_loop_iterations" in failed.error.message
    assert chat_server.state.requests == []
    assert store.get(engine.selectors.status(iid)) == "error"
    assert store.get(engine.selectors.current_input(iid)) == "first"  # given back to retry
    [run] = await run_store.list_runs()
    [task] = await run_store.list_tasks(run.id)
    assert task.status is RunStatus.ERROR
    assert task.error is not None and "max_loop_iterations" in task.error

    store.set(engine.actions.update_variable, iid, "n", 2)
    result = await store.set(engine.actions.execute_message, iid)

    assert result.status == "success" and result.output == "Fine."
    [sent] = chat_server.state.requests
    assert sent.body["messages"][-1]["content"].endswith("\n\nfirst")
    tasks = await run_store.list_tasks(run.id)
    assert [t.status for t in tasks] == [RunStatus.ERROR, RunStatus.SUCCESS]


async def test_a_missing_variable_is_still_refused_in_the_write(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    engine = make_engine()
    iid = await start(store, engine, prompt(LOOPS))

    with pytest.raises(InstanceNotReadyError, match="n"):
        store.set(engine.actions.execute_message, iid, "go")

    assert store.get(engine.selectors.status(iid)) == "ready"
    assert chat_server.state.requests == []


async def test_nothing_to_send_is_still_refused_in_the_write(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, {"name": "Empty", "messages": []})

    with pytest.raises(InstanceNotReadyError, match="nothing to send"):
        store.set(engine.actions.execute_message, iid)

    assert store.get(engine.selectors.status(iid)) == "ready"


async def test_a_turn_cancelled_while_it_renders_ends_cancelled_and_the_next_runs(
    make_engine: MakeEngine, store: Store, chat_server: ChatServer
) -> None:
    chat_server.state.script(reply("After."))
    engine = make_engine()
    iid = await start(store, engine, prompt(LOOPS), variables={"n": 300})
    turn = store.set(engine.actions.execute_message, iid, "first")
    await asyncio.sleep(0)  # the task starts, and waits on its render

    stopping = store.set(engine.actions.cancel, iid)

    assert stopping is turn
    cancelled = await turn
    assert cancelled.status == "cancelled"
    assert chat_server.state.requests == []
    assert store.get(engine.selectors.status(iid)) == "ready"
    store.set(engine.actions.update_variable, iid, "n", 1)
    result = await store.set(engine.actions.execute_message, iid)
    assert result.status == "success" and result.output == "After."


async def test_start_execution_renders_in_its_task_leaving_the_event_loop_running(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid, ticker, probe = await start_slow(store, engine)
    store.set(engine.actions.set_current_input, iid, "go")
    try:
        starting = store.set(engine.actions.start_execution, iid, "task-1")
        # Queued, not rendered: the write returned before the template was rendered.
        assert probe.seen == []
        assert store.get(engine.selectors.status(iid)) == "executing"
        assert store.get(engine.selectors.current_input(iid)) == ""
        turn_id = await starting
    finally:
        await ticker.stop()

    first, last = probe.seen
    assert last > first  # the loop went on turning while the request rendered
    turn = store.get(engine.selectors.turn(iid))
    assert turn is not None and turn.turn_id == turn_id and turn.task_id == "task-1"
    content = turn.messages[0].content
    assert isinstance(content, str)
    assert content.startswith("probe0000") and content.endswith("probe\n\ngo")


async def test_start_execution_whose_render_hits_a_limit_fails_its_turn_and_raises(
    make_engine: MakeEngine, store: Store, run_store: RunStore
) -> None:
    engine = make_engine(run_store=run_store)
    iid = await start(store, engine, prompt(LOOPS), variables={"n": 400})
    store.set(engine.actions.set_current_input, iid, "first")

    with pytest.raises(TemplateLimitError, match="max_loop_iterations"):
        await store.set(engine.actions.start_execution, iid, "task-f")
    await engine.drain()

    assert store.get(engine.selectors.status(iid)) == "error"
    error = store.get(engine.selectors.error(iid))
    assert error is not None and error.type == "TemplateLimitError"
    assert store.get(engine.selectors.current_input(iid)) == "first"  # given back to retry
    task = await run_store.get_task("task-f")
    assert task is not None and task.status is RunStatus.ERROR
    store.set(engine.actions.update_variable, iid, "n", 1)
    assert await store.set(engine.actions.start_execution, iid)  # the next one starts


async def test_a_turn_cancelled_while_start_execution_renders_is_not_started_after(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, prompt(LOOPS), variables={"n": 300})
    starting = store.set(engine.actions.start_execution, iid)
    await asyncio.sleep(0)  # the task starts, and waits on its render

    store.set(engine.actions.cancel, iid)

    with pytest.raises(InstanceNotReadyError, match="ended before it started"):
        await starting
    assert store.get(engine.selectors.status(iid)) == "ready"
    assert store.get(engine.selectors.turn(iid)) is None


async def test_resolved_messages_names_a_template_that_hits_a_limit(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, prompt(LOOPS), variables={"n": 400})

    assert store.get(engine.selectors.resolved_messages(iid)) == ()
    error = store.get(engine.selectors.resolved_messages_error(iid))
    assert error is not None and error.type == "TemplateLimitError"
    assert "max_loop_iterations" in error.message

    store.set(engine.actions.update_variable, iid, "n", 1)
    assert store.get(engine.selectors.resolved_messages_error(iid)) is None
    [message] = store.get(engine.selectors.resolved_messages(iid))
    assert message.content == "0" * 300


async def test_resolved_messages_names_a_template_that_fails_to_render(
    make_engine: MakeEngine, store: Store
) -> None:
    engine = make_engine()
    iid = await start(store, engine, prompt("{{ n + 'a' }}"), variables={"n": 1})

    assert store.get(engine.selectors.resolved_messages(iid)) == ()
    assert store.get(engine.selectors.system_message(iid)) is None
    error = store.get(engine.selectors.resolved_messages_error(iid))
    assert error is not None and error.type == "TemplateError"
    assert "unsupported operand" in error.message
