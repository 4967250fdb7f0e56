"""Malformed data from a provider or a caller is a clear error of ours, never a bare
TypeError/AttributeError/ValueError, and NaN is refused rather than turned into null."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from bridge import InvalidInputsError, create_default_bridge
from molecules import Store
from molecules.entities.prompt import prompt_molecule
from runnable.chain import Chain
from runnable.chat.protocol import StreamState, parse_answer
from runnable.errors import ChainError, ProviderStreamError
from runnable.sources import InMemorySource

MALFORMED_CHUNKS: list[tuple[str, Any]] = [
    ("choices an int", {"choices": 3}),
    ("choices a string", {"choices": "abc"}),
    ("a choice a string", {"choices": ["x"]}),
    ("delta a string", {"choices": [{"index": 0, "delta": "hello"}]}),
    ("content a list", {"choices": [{"index": 0, "delta": {"content": ["a"]}}]}),
    ("finish_reason an object", {"choices": [{"index": 0, "delta": {}, "finish_reason": {}}]}),
    ("usage text", {"choices": [], "usage": "lots"}),
    ("usage counts text", {"choices": [], "usage": {"prompt_tokens": "many"}}),
    ("usage counts negative", {"choices": [], "usage": {"completion_tokens": -1}}),
    ("model a list", {"model": ["gpt"], "choices": []}),
]


@pytest.mark.parametrize(("name", "chunk"), MALFORMED_CHUNKS, ids=[m[0] for m in MALFORMED_CHUNKS])
def test_a_malformed_stream_chunk_is_a_provider_stream_error(name: str, chunk: Any) -> None:
    with pytest.raises(ProviderStreamError, match="malformed chunk"):
        StreamState().feed(json.dumps(chunk))


def test_a_well_formed_chunk_still_streams() -> None:
    state = StreamState()
    chunk = {"model": "m", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    assert state.feed(json.dumps(chunk)) == "Hi"
    assert state.feed(json.dumps({"choices": [], "usage": {"prompt_tokens": 3}})) is None
    assert state.usage is not None and state.usage.tokens_in == 3


@pytest.mark.parametrize(
    "payload",
    [
        {"choices": 1},
        {"choices": [{"message": "text"}]},
        {"choices": [{"message": {}}], "usage": "x"},
        {"choices": [{"message": {}}], "model": 5},
    ],
)
def test_a_malformed_answer_is_a_value_error_the_provider_wraps(payload: Any) -> None:
    with pytest.raises(ValueError):
        parse_answer(payload)


async def test_nan_in_a_prompt_draft_is_refused_and_the_draft_is_unchanged() -> None:
    molecule = prompt_molecule(InMemorySource({"p1": {"name": "p", "messages": []}}))
    store = Store()
    await store.set(molecule.load, "p1")
    with pytest.raises(ValidationError, match=r"variable_defaults.x is not a finite number"):
        store.set(molecule.update, "p1", {"variable_defaults": {"x": float("nan")}})
    assert store.get(molecule.is_dirty("p1")) is False
    with pytest.raises(ValidationError, match=r"settings\.temperature is not a finite number"):
        store.set(molecule.update, "p1", {"settings": {"temperature": float("inf")}})


async def test_execute_with_inputs_that_are_not_a_mapping_names_them() -> None:
    bridge = create_default_bridge({"prompt": InMemorySource({"p1": {"messages": []}})})
    with pytest.raises(InvalidInputsError, match="inputs must be a mapping") as info:
        await bridge.execute("prompt:p1", 5, store=Store())  # type: ignore[arg-type]
    assert "inputs" in info.value.errors


@pytest.mark.parametrize("field", ["nodes", "connections"])
def test_a_chain_field_given_a_string_is_refused_not_iterated(field: str) -> None:
    with pytest.raises(ChainError, match=f"{field} must be a list"):
        Chain.model_validate({"nodes": ["a", "b"], field: "ab"})
