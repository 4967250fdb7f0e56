"""The normalised comparison behind is_dirty: properties and the rules one by one."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from molecules import canonical_json, normalize, normalized_equal

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.text(max_size=8),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=4),
    ),
    max_leaves=12,
)
# Dots are left out of keys: in exclude_fields a dot walks into a nested mapping.
keys = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=5)
documents = st.dictionaries(keys, json_values, max_size=5)


@given(json_values)
def test_normalising_twice_changes_nothing(value: Any) -> None:
    once = normalize(value)
    assert normalize(once) == once


@given(documents, documents)
def test_equality_is_symmetric(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert normalized_equal(a, b) == normalized_equal(b, a)


@given(documents)
def test_key_order_does_not_matter(doc: dict[str, Any]) -> None:
    reversed_doc = dict(reversed(list(doc.items())))
    assert normalized_equal(doc, reversed_doc)
    assert canonical_json(doc) == canonical_json(reversed_doc)


@given(documents, keys)
def test_none_empty_text_and_missing_are_equal(doc: dict[str, Any], key: str) -> None:
    without = {k: v for k, v in doc.items() if k != key}
    assert normalized_equal({**without, key: None}, without)
    assert normalized_equal({**without, key: ""}, {**without, key: None})


@given(st.dictionaries(keys, json_values, min_size=1, max_size=4))
def test_a_json_text_equals_the_object_it_holds(settings: dict[str, Any]) -> None:
    assert normalized_equal({"settings": json.dumps(settings)}, {"settings": settings})


@given(documents, keys, json_values)
def test_an_excluded_field_never_counts(doc: dict[str, Any], key: str, value: Any) -> None:
    assert normalized_equal({**doc, key: value}, {**doc, key: "other"}, exclude_fields=[key])


def test_a_nested_path_can_be_excluded() -> None:
    a = {"settings": {"seed": 1, "temperature": 0.5}}
    b = {"settings": {"seed": 2, "temperature": 0.5}}
    assert normalized_equal(a, b, exclude_fields=["settings.seed"])
    assert not normalized_equal(a, b)


def test_text_that_only_looks_like_json_stays_text() -> None:
    assert normalize("{not json") == "{not json"
    assert normalize("42") == "42"  # only objects and arrays are parsed


def test_models_compare_by_their_json_dump() -> None:
    class Settings(BaseModel):
        model: str = "gpt"
        temperature: float | None = None

    assert normalized_equal(Settings(), {"model": "gpt"})
    assert not normalized_equal(Settings(temperature=0.1), {"model": "gpt"})


def test_different_values_are_not_equal() -> None:
    assert not normalized_equal({"a": 1}, {"a": 2})
    assert not normalized_equal({"a": [1, 2]}, {"a": [2, 1]})
    assert not normalized_equal({"a": 0}, {"a": None})
    assert not normalized_equal({"a": False}, {})
