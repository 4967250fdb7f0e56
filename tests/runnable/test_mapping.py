"""Tests of input mappings: path parsing and auto-mapping of targets to sources."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runnable.chain import InputMapping, MappingSource, auto_map_inputs
from runnable.errors import MappingPathError
from runnable.mapping import MISSING, parse_mapping_path, read_mapping_path
from runnable.types import RunnablePort


def test_paths_split_into_keys_and_indices() -> None:
    assert parse_mapping_path("$.outputs.items[2].name") == ("outputs", "items", 2, "name")
    assert parse_mapping_path('output["a.b"][0]') == ("output", "a.b", 0)
    assert parse_mapping_path("$[1]") == (1,)


def test_a_malformed_path_names_the_position() -> None:
    with pytest.raises(MappingPathError, match="character 3"):
        parse_mapping_path("ab..c")


def test_reading_the_bare_output_word_gives_the_whole_output() -> None:
    assert read_mapping_path("outputs", {"x": 1}) == {"x": 1}
    assert read_mapping_path("testcase", {"x": 1}, testcase={"row": 1}) == {"row": 1}
    assert read_mapping_path("testcase.row", {"x": 1}) is MISSING


def test_mapping_models_round_trip_through_json() -> None:
    mapping = InputMapping("q", status="ambiguous", candidates=("output.a", "output.b"))
    assert InputMapping.model_validate_json(mapping.model_dump_json()) == mapping
    source = MappingSource("output.answer", key="answer", label="Answer")
    assert MappingSource.model_validate_json(source.model_dump_json()) == source


def test_exact_key_fit_is_valid_and_auto_mapped() -> None:
    sources = [MappingSource("outputs.text", key="Text"), MappingSource("testcase.other")]
    assert auto_map_inputs(["text"], sources) == [
        InputMapping("text", "outputs.text", is_auto_mapped=True)
    ]


def test_key_fit_outranks_label_which_outranks_path_segment() -> None:
    sources = [
        MappingSource("testcase.question"),
        MappingSource("outputs.q_label", label="Question"),
        MappingSource("outputs.by_key", key="question"),
    ]
    assert auto_map_inputs(["question"], sources)[0].source_path == "outputs.by_key"
    assert auto_map_inputs(["question"], sources[:2])[0].source_path == "outputs.q_label"
    assert auto_map_inputs(["question"], sources[:1])[0].source_path == "testcase.question"


def test_two_best_fits_are_ambiguous_with_their_paths() -> None:
    sources = ["testcase.country", "outputs.country", "outputs.city"]
    (mapping,) = auto_map_inputs(["Country"], sources)
    assert mapping.status == "ambiguous"
    assert mapping.source_path is None
    assert mapping.candidates == ("testcase.country", "outputs.country")


def test_the_same_path_twice_is_not_ambiguous() -> None:
    sources: list[Any] = [
        MappingSource("outputs.city", key="city"),
        {"path": "outputs.city", "key": "CITY"},
    ]
    assert auto_map_inputs(["city"], sources)[0].status == "valid"


def test_no_fit_is_unmapped() -> None:
    (mapping,) = auto_map_inputs(["zip"], ["outputs.city"])
    assert (mapping.status, mapping.source_path, mapping.candidates) == ("unmapped", None, ())


def test_one_mapping_per_target_in_order_from_ports_and_dicts() -> None:
    targets = ["b", RunnablePort(key="a"), {"key": "c"}]
    keys = [m.target_key for m in auto_map_inputs(targets, ["x.a", "x.b"])]
    assert keys == ["b", "a", "c"]


NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)


@given(st.lists(NAMES, unique=True, max_size=8))
def test_every_target_with_one_distinct_source_maps_to_it(names: list[str]) -> None:
    sources = [f"outputs.{name}" for name in names]
    mappings = auto_map_inputs([n.upper() for n in names], sources)
    assert [m.source_path for m in mappings] == sources
    assert all(m.status == "valid" and m.is_auto_mapped for m in mappings)
