"""The chat completions wire format: bodies, answers and stream chunks."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from runnable.chat.protocol import StreamState, parse_answer, request_body
from runnable.errors import ProviderStreamError


class Message(BaseModel):
    role: str
    content: str
    name: str | None = None


def chunk(**fields: object) -> str:
    return json.dumps({"object": "chat.completion.chunk", **fields})


def test_request_body_accepts_pydantic_messages_and_drops_none() -> None:
    body = json.loads(
        request_body([Message(role="user", content="hi")], "m", {"top_p": None}, stream=False)
    )

    assert body == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_request_body_keeps_callers_stream_options() -> None:
    options = {"include_usage": False}
    body = json.loads(
        request_body(
            [{"role": "user", "content": "x"}], "m", {"stream_options": options}, stream=True
        )
    )

    assert body["stream"] is True
    assert body["stream_options"] == options


def test_answer_with_content_parts_is_joined() -> None:
    payload = {
        "model": "m",
        "choices": [
            {
                "message": {"role": "assistant", "content": [{"text": "a"}, {"text": "b"}]},
                "finish_reason": "stop",
            }
        ],
    }

    assert parse_answer(payload).text == "ab"


def test_answer_without_choices_is_refused() -> None:
    with pytest.raises(ValueError, match="without choices"):
        parse_answer({"object": "chat.completion"})


def test_stream_state_reads_text_finish_and_usage() -> None:
    state = StreamState()

    texts = [
        state.feed(chunk(model="m", choices=[{"index": 0, "delta": {"content": "He"}}])),
        state.feed(chunk(choices=[{"index": 1, "delta": {"content": "ignored"}}])),
        state.feed(
            chunk(choices=[{"index": 0, "delta": {"content": "y"}, "finish_reason": "length"}])
        ),
        state.feed(chunk(choices=[], usage={"prompt_tokens": 4, "completion_tokens": 2})),
        state.feed("[DONE]"),
    ]

    assert texts == ["He", None, "y", None, None]
    assert state.text == "Hey"
    assert state.finish_reason == "length"
    assert state.usage is not None and (state.usage.tokens_in, state.usage.tokens_out) == (4, 2)
    assert state.model == "m"
    assert state.finished


def test_stream_state_refuses_unreadable_chunks() -> None:
    with pytest.raises(ProviderStreamError, match="unreadable chunk"):
        StreamState().feed("{oops")
