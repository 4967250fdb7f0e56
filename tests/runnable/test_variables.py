"""Tests of layered variable resolution with provenance and computed variables."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runnable.errors import MissingVariablesError, VariablesError
from runnable.variables import (
    DEFAULT_ORDER,
    ResolvedVariable,
    computed_variables,
    resolve_variables,
    variable_values,
)

NOW = datetime(2024, 2, 29, 13, 5, 9, tzinfo=UTC)


def test_default_order_is_the_contract() -> None:
    assert DEFAULT_ORDER == (
        "computed",
        "user",
        "hardcoded",
        "broker",
        "scoped.project",
        "scoped.org",
        "scoped.user",
        "default",
    )


def test_the_highest_layer_wins_and_names_its_source() -> None:
    layers = {
        "default": {"a": "default", "b": "default", "c": "default"},
        "user": {"a": "user"},
        "scoped.org": {"b": "org", "c": "org"},
        "scoped.project": {"c": "project"},
    }
    resolved = resolve_variables(layers)
    assert resolved["a"] == ResolvedVariable("a", "user", "user")
    assert resolved["b"] == ResolvedVariable("b", "org", "scoped.org")
    assert resolved["c"] == ResolvedVariable("c", "project", "scoped.project")


def test_computed_outranks_user() -> None:
    layers = {"user": {"current_date": "fake"}, "computed": computed_variables(NOW)}
    assert resolve_variables(layers)["current_date"].value == "2024-02-29"


def test_hardcoded_outranks_broker_which_outranks_scoped() -> None:
    layers = {
        "scoped.user": {"x": 1, "y": 1, "z": 1},
        "broker": {"x": 2, "y": 2},
        "hardcoded": {"x": 3},
    }
    resolved = resolve_variables(layers)
    assert [resolved[n].source for n in "xyz"] == ["hardcoded", "broker", "scoped.user"]


def test_nested_scoped_layers_are_accepted() -> None:
    layers: dict[str, Any] = {"scoped": {"project": {"k": "p"}, "user": {"k": "u", "j": "u"}}}
    resolved = resolve_variables(layers)
    assert (resolved["k"].source, resolved["j"].source) == ("scoped.project", "scoped.user")


def test_a_caller_may_pass_another_order() -> None:
    layers = {"user": {"k": "user"}, "default": {"k": "default"}}
    assert resolve_variables(layers, order=("default", "user"))["k"].source == "default"


def test_only_the_given_layers_are_used() -> None:
    assert resolve_variables({"default": {"k": 1}}) == {"k": ResolvedVariable("k", 1, "default")}
    assert resolve_variables({}) == {}


def test_none_does_not_supply_a_value_but_empty_text_does() -> None:
    layers: dict[str, Any] = {"user": {"a": None, "b": ""}, "default": {"a": "d", "b": "d"}}
    values = variable_values(resolve_variables(layers))
    assert values == {"a": "d", "b": ""}


def test_an_unknown_layer_is_named() -> None:
    with pytest.raises(VariablesError, match="unknown variable layers: usr"):
        resolve_variables({"usr": {"a": 1}})


def test_a_layer_that_is_not_a_mapping_is_named() -> None:
    with pytest.raises(VariablesError, match="'user' must be a mapping"):
        resolve_variables({"user": ["a"]})  # type: ignore[dict-item]


def test_missing_required_variables_are_all_named() -> None:
    with pytest.raises(MissingVariablesError, match="missing required variables: a, c") as info:
        resolve_variables({"user": {"b": 1}}, required=["a", "b", "c", "a"])
    assert info.value.missing == ["a", "c"]


def test_computed_variables_use_the_injected_clock() -> None:
    assert computed_variables(lambda: NOW) == {
        "current_date": "2024-02-29",
        "current_time": "13:05:09",
        "current_datetime": "2024-02-29T13:05:09+00:00",
    }


def test_computed_variables_keep_the_clock_time_zone() -> None:
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    assert computed_variables(paris)["current_datetime"] == "2024-02-29T14:05:09+01:00"


def test_computed_variables_default_to_now() -> None:
    before = datetime.now(UTC).date().isoformat()
    date = computed_variables()["current_date"]
    assert date >= before


def test_resolved_variables_round_trip_through_json() -> None:
    variable = ResolvedVariable("k", {"nested": [1, 2]}, "broker")
    assert ResolvedVariable.model_validate_json(variable.model_dump_json()) == variable


LAYER = st.dictionaries(st.sampled_from("abcdef"), st.integers(), max_size=4)


@given(st.dictionaries(st.sampled_from(DEFAULT_ORDER), LAYER))
def test_each_value_comes_from_the_first_layer_in_order_that_has_it(
    layers: dict[str, dict[str, int]],
) -> None:
    resolved = resolve_variables(layers)
    supplied = {name for layer in layers.values() for name in layer}
    assert set(resolved) == supplied
    for name, variable in resolved.items():
        first = next(layer for layer in DEFAULT_ORDER if name in layers.get(layer, {}))
        assert (variable.source, variable.value) == (first, layers[first][name])
