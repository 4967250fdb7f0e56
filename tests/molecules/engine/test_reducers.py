"""An instance's state is the fold of its events: replay rebuilds it, reducers are pure."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from molecules import Store
from molecules.engine import (
    ConversationEngine,
    EngineError,
    InstanceEvent,
    InstanceState,
    reduce_instance,
    replay,
)
from runnable.chat.completion import ChatCompletion, TokenUsage
from runnable.chat.execution import (
    TurnCancelled,
    TurnCompleted,
    TurnDelta,
    TurnFailed,
    TurnStarted,
)
from runnable.messages import ChatMessage
from runnable.types import ErrorInfo

PROMPT = {
    "id": "p",
    "messages": [{"role": "user", "content": "About {{topic}} in a {{tone}} tone"}],
    "settings": {"model": "m"},
    "variable_defaults": {"tone": "dry"},
}

texts = st.text(alphabet="abc xyz", max_size=6)
names = st.sampled_from(["topic", "tone", "extra"])
ends = st.sampled_from(["completed", "failed", "cancelled", None])

operations = st.one_of(
    st.tuples(st.just("variable"), names, st.one_of(st.none(), texts)),
    st.tuples(st.just("input"), texts),
    st.tuples(st.just("add_resource"), texts),
    st.tuples(st.just("remove_resource"), st.integers(0, 2)),
    st.tuples(st.just("keep_resource"), st.integers(0, 2)),
    st.tuples(st.just("settings"), st.one_of(st.none(), st.floats(0, 1))),
    st.tuples(st.just("toggle_show")),
    st.tuples(st.just("expand"), st.one_of(st.none(), names)),
    st.tuples(st.just("message"), texts),
    st.tuples(st.just("clear")),
    st.tuples(st.just("turn"), texts, st.lists(texts, max_size=4), ends, st.integers(0, 50)),
)


def _turn_events(
    state: InstanceState, user_input: str, chunks: list[str], end: str | None, tokens: int
) -> list[InstanceEvent]:
    turn_id = uuid.uuid4().hex
    asked = ChatMessage(role="user", content=user_input)
    events: list[InstanceEvent] = [
        TurnStarted(turn_id=turn_id, messages=[*state.messages, asked], user_input=user_input)
    ]
    events += [
        TurnDelta(turn_id=turn_id, text=chunk, elapsed_ms=float(i))
        for i, chunk in enumerate(chunks)
    ]
    text = "".join(chunks)
    if end == "completed":
        usage = TokenUsage(tokens_in=tokens, tokens_out=len(chunks))
        completion = ChatCompletion(text=text, usage=usage, cost=tokens / 1000, latency_ms=5.0)
        message = ChatMessage(role="assistant", content=text)
        events.append(TurnCompleted(turn_id=turn_id, message=message, completion=completion))
    elif end == "failed":
        events.append(TurnFailed(turn_id=turn_id, error=ErrorInfo(message="boom"), elapsed_ms=3.0))
    elif end == "cancelled":
        events.append(TurnCancelled(turn_id=turn_id, elapsed_ms=4.0))
    return events


async def _session(ops: list[tuple[Any, ...]]) -> tuple[InstanceState, InstanceState]:
    engine = ConversationEngine()
    store = Store()
    log: list[tuple[str, InstanceEvent]] = []
    engine.listen(lambda iid, event: log.append((iid, event)))
    iid = await store.set(engine.actions.start_prompt_instance, PROMPT)
    actions = engine.actions
    for op in ops:
        kind = op[0]
        try:
            if kind == "variable":
                store.set(actions.update_variable, iid, op[1], op[2])
            elif kind == "input":
                store.set(actions.set_current_input, iid, op[1])
            elif kind == "add_resource":
                store.set(actions.add_resource, iid, {"kind": "note", "content": op[1]})
            elif kind == "remove_resource":
                store.set(actions.remove_resource, iid, op[1])
            elif kind == "keep_resource":
                store.set(actions.keep_resource, iid, op[1])
            elif kind == "settings":
                store.set(actions.update_settings, iid, {"temperature": op[1]})
            elif kind == "toggle_show":
                store.set(actions.toggle_show_variables, iid)
            elif kind == "expand":
                store.set(actions.set_expanded_variable, iid, op[1])
            elif kind == "message":
                store.set(actions.add_message, iid, {"role": "user", "content": op[1]})
            elif kind == "clear":
                store.set(actions.clear_conversation, iid)
            else:
                state = store.get(engine.state(iid))
                assert state is not None
                for event in _turn_events(state, *op[1:]):
                    store.set(actions.apply_event, iid, event)
        except (EngineError, IndexError):
            pass  # refused (busy, no such resource): a refused action emits nothing
    live = store.get(engine.state(iid))
    assert live is not None
    replayed = replay(InstanceState(id=iid), [event for i, event in log if i == iid])
    return live, replayed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations, max_size=25))
def test_replaying_an_instances_events_rebuilds_its_state(ops: list[tuple[Any, ...]]) -> None:
    live, replayed = asyncio.run(_session(ops))
    assert replayed == live


def _loaded() -> InstanceState:
    return InstanceState(id="i", status="ready")


def _fold_turn(chunks: list[str]) -> InstanceState:
    state = _loaded()
    for event in _turn_events(state, "hi", chunks, "completed", 3):
        state = reduce_instance(state, event)
    return state


@given(st.text(max_size=40), st.lists(st.integers(0, 40), max_size=8))
def test_how_a_reply_was_cut_into_chunks_does_not_change_the_conversation(
    text: str, cuts: list[int]
) -> None:
    bounds = sorted({0, len(text), *(min(c, len(text)) for c in cuts)})
    chunks = [text[a:b] for a, b in itertools.pairwise(bounds)]
    assert _fold_turn(chunks).messages == _fold_turn([text]).messages
    assert _fold_turn(chunks).messages[-1].content == text


@given(st.lists(texts, min_size=1, max_size=6))
def test_reducing_never_changes_the_state_it_was_given(chunks: list[str]) -> None:
    state = _loaded()
    events = _turn_events(state, "hi", chunks, None, 0)
    states = [state]
    for event in events:
        states.append(reduce_instance(states[-1], event))
    snapshots = [attrs.asdict(s, recurse=False) for s in states]
    shown = [s.turn.text.text if s.turn else None for s in states]
    # Branch off an older state: the newer states must not see it.
    reduce_instance(states[1], TurnDelta(turn_id=events[0].turn_id, text="BRANCH"))  # type: ignore[union-attr]
    assert [attrs.asdict(s, recurse=False) for s in states] == snapshots
    assert [s.turn.text.text if s.turn else None for s in states] == shown


def test_events_of_another_turn_change_nothing() -> None:
    state = _fold_turn(["done"])
    late = TurnDelta(turn_id="not-the-current-turn", text="late")
    assert reduce_instance(state, late) is state


def test_a_completed_turn_adds_tokens_and_cost_to_the_totals() -> None:
    state = _fold_turn(["a", "b"])
    assert (state.totals.turns, state.totals.tokens_in, state.totals.tokens_out) == (1, 3, 2)
    assert state.totals.cost == 0.003 and state.status == "completed"


def test_a_failed_turn_gives_the_question_back_and_keeps_the_conversation() -> None:
    state = _loaded()
    for event in _turn_events(state, "why?", ["par"], "failed", 0):
        state = reduce_instance(state, event)
    assert (state.status, state.current_input, state.messages) == ("error", "why?", ())
    assert state.error == ErrorInfo(message="boom")


def test_a_cancelled_turn_keeps_what_was_streamed() -> None:
    state = _loaded()
    for event in _turn_events(state, "go", ["half ", "a reply"], "cancelled", 0):
        state = reduce_instance(state, event)
    assert state.status == "ready"
    assert [m.content for m in state.messages] == ["go", "half a reply"]
