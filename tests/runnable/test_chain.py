"""Tests of chain planning: models, topological order and levels, fan-in input resolution."""

import itertools
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from runnable.chain import (
    Chain,
    ChainCycleError,
    Connection,
    InputMapping,
    Node,
    resolve_chain_inputs,
    topological_levels,
    topological_order,
)
from runnable.errors import ChainError, MappingPathError, RunnableError
from runnable.mapping import MappingSource
from runnable.types import RunnableData, RunnablePort, RunnableRef
from runnable.variables import ResolvedVariable

# --- models -------------------------------------------------------------------------------


def test_models_take_positional_arguments_as_in_the_contract() -> None:
    node = Node("n1", "prompt:p1", "First")
    assert node.ref == RunnableRef("prompt", "p1")
    conn = Connection("a", "b", [InputMapping("x", "output.y")])
    assert conn.input_mappings[0].source_path == "output.y"
    assert conn.parallel is False


def test_chain_round_trips_through_json() -> None:
    chain = Chain(
        [Node("a", RunnableRef("prompt", "p")), "b"],
        [Connection("a", "b", [InputMapping("q", "outputs.answer", key_in_object="k")])],
    )
    assert Chain.model_validate_json(chain.model_dump_json()) == chain


def test_chain_accepts_plain_dicts_and_agenta_camel_case() -> None:
    chain = Chain.model_validate(
        {
            "nodes": [{"id": "a"}, "b"],
            "connections": [
                {
                    "sourceNodeId": "a",
                    "targetNodeId": "b",
                    "inputMappings": [{"targetKey": "q", "sourcePath": "output"}],
                }
            ],
        }
    )
    assert chain.connections[0].input_mappings[0] == InputMapping("q", "output")


def test_chain_refuses_connections_to_undeclared_nodes_naming_them() -> None:
    with pytest.raises(ChainError, match="unknown nodes: ghost"):
        Chain(["a"], [Connection("a", "ghost")])


def test_chain_refuses_duplicate_node_ids() -> None:
    with pytest.raises(ChainError, match="duplicate node ids: a"):
        Chain(["a", "b", "a"], [])


def test_chain_reports_upstream_downstream_and_incoming() -> None:
    chain = Chain(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")])
    assert chain.upstream() == {"a": [], "b": ["a"], "c": ["b", "a"], "d": ["c"]}
    assert chain.downstream_of("b") == ["c", "d"]
    assert chain.upstream_of("c") == ["b", "a"]
    assert [c.source for c in chain.incoming("c")] == ["b", "a"]
    assert chain.order() == ["a", "b", "c", "d"]
    assert chain.levels() == [["a"], ["b"], ["c"], ["d"]]


def test_chain_node_lookup_names_a_missing_id() -> None:
    with pytest.raises(KeyError, match="zz"):
        Chain(["a"]).node("zz")


# --- topological order --------------------------------------------------------------------


def test_ready_nodes_go_in_declaration_order_not_fifo() -> None:
    # The DESIGN.md example: a->d and b->c give a, b, c, d.
    assert topological_order(["a", "b", "c", "d"], [("a", "d"), ("b", "c")]) == [
        "a",
        "b",
        "c",
        "d",
    ]


def test_start_goes_first_when_nothing_points_into_it() -> None:
    assert topological_order(["a", "b", "c"], [("a", "b")], start="c") == ["c", "a", "b"]


def test_start_with_an_upstream_node_keeps_the_normal_order() -> None:
    assert topological_order(["a", "b"], [("a", "b")], start="b") == ["a", "b"]


def test_unknown_start_is_an_error_naming_it() -> None:
    with pytest.raises(ChainError, match="'zz'"):
        topological_order(["a"], [], start="zz")


def test_ids_only_in_connections_come_after_declared_ones() -> None:
    assert topological_order(["b"], [("x", "y")]) == ["b", "x", "y"]


def test_order_accepts_nodes_connections_and_dicts() -> None:
    nodes: list[Any] = [Node("a"), {"id": "b"}, "c"]
    connections: list[Any] = [Connection("b", "a"), {"source": "c", "target": "b"}]
    assert topological_order(nodes, connections) == ["c", "b", "a"]


def test_connection_dict_without_target_is_named() -> None:
    with pytest.raises(ChainError, match="'target'"):
        topological_order(["a"], [{"source": "a"}])


def test_self_loop_is_a_cycle_of_one() -> None:
    with pytest.raises(ChainCycleError) as info:
        topological_order(["a", "b"], [("a", "b"), ("b", "b")])
    assert info.value.cycle == ["b"]


def test_cycle_error_names_the_cycle_in_order() -> None:
    with pytest.raises(ChainCycleError, match="b -> c -> d -> b") as info:
        topological_order(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "d"), ("d", "b")])
    assert info.value.cycle == ["b", "c", "d"]
    assert isinstance(info.value, RunnableError)


def test_levels_hold_nodes_by_longest_path_in_declaration_order() -> None:
    nodes = ["d", "c", "b", "a"]
    edges = [("a", "b"), ("b", "c"), ("a", "c"), ("a", "d")]
    assert topological_levels(nodes, edges) == [["a"], ["d", "b"], ["c"]]


def test_levels_of_nothing_are_empty() -> None:
    assert topological_levels([], []) == []


def test_levels_raise_on_a_cycle() -> None:
    with pytest.raises(ChainCycleError):
        topological_levels(["a", "b"], [("a", "b"), ("b", "a")])


def test_a_long_chain_plans_without_recursion() -> None:
    n = sys.getrecursionlimit() * 5
    ids = [str(i) for i in range(n)]
    edges = list(itertools.pairwise(ids))
    assert topological_order(ids[::-1], edges) == ids
    assert len(topological_levels(ids, edges)) == n
    assert Chain(ids[:50], edges[:49]).downstream_of("0") == ids[1:50]


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]]]:
    n = draw(st.integers(0, 25))
    ids = [f"n{i}" for i in range(n)]
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=60)) if pairs else []
    declared = draw(st.permutations(ids))
    return list(declared), [(ids[i], ids[j]) for i, j in chosen]


@given(dags())
def test_order_respects_every_edge_and_holds_every_node(
    dag: tuple[list[str], list[tuple[str, str]]],
) -> None:
    nodes, edges = dag
    order = topological_order(nodes, edges)
    assert sorted(order) == sorted(nodes)
    position = {node: i for i, node in enumerate(order)}
    assert all(position[a] < position[b] for a, b in edges)


@given(dags())
def test_levels_partition_the_nodes_and_every_edge_climbs(
    dag: tuple[list[str], list[tuple[str, str]]],
) -> None:
    nodes, edges = dag
    levels = topological_levels(nodes, edges)
    flat = [node for level in levels for node in level]
    assert sorted(flat) == sorted(nodes)
    assert all(levels)
    depth = {node: k for k, level in enumerate(levels) for node in level}
    assert all(depth[a] < depth[b] for a, b in edges)
    # Longest path: every node past level 0 has a parent exactly one level below.
    for node, k in depth.items():
        if k:
            assert any(depth[a] == k - 1 for a, b in edges if b == node)
    rank = {node: i for i, node in enumerate(nodes)}
    assert all(level == sorted(level, key=rank.__getitem__) for level in levels)


@given(dags(), st.data())
def test_a_graph_with_a_cycle_raises_naming_a_real_cycle(
    dag: tuple[list[str], list[tuple[str, str]]], data: st.DataObject
) -> None:
    nodes, edges = dag
    if not nodes:
        nodes = ["solo"]
    # Close a cycle: a back edge from a node to one of its ancestors (or itself).
    order = topological_order(nodes, edges)
    j = data.draw(st.integers(0, len(order) - 1))
    i = data.draw(st.integers(0, j))
    path = [order[i]]
    back = [(order[j], order[i])]
    if i != j:
        edges = [*edges, *zip(order[i:j], order[i + 1 : j + 1], strict=False)]
        path = order[i : j + 1]
    cyclic = edges + back
    with pytest.raises(ChainCycleError) as info:
        topological_order(nodes, cyclic)
    cycle = info.value.cycle
    assert cycle and len(set(cycle)) == len(cycle)
    edge_set = set(cyclic)
    assert all((a, b) in edge_set for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True))
    assert all(node in str(info.value) for node in cycle)
    assert path  # the planted cycle exists, whichever cycle the error names


# --- resolve_chain_inputs -----------------------------------------------------------------


def test_every_incoming_connection_contributes_fan_in() -> None:
    connections = [
        Connection("a", "c", [InputMapping("x", "output.value")]),
        Connection("b", "c", [InputMapping("y", "outputs.value")]),
        Connection("a", "other", [InputMapping("z", "output")]),
    ]
    results = {"a": {"value": 1}, "b": {"value": 2}}
    assert resolve_chain_inputs(connections, "c", results) == {"x": 1, "y": 2}


def test_paths_read_testcase_output_words_dollar_prefix_and_indices() -> None:
    mappings = [
        InputMapping("whole", "output"),
        InputMapping("row", "testcase.country"),
        InputMapping("dollar", "$.outputs.items[1].name"),
        InputMapping("dotted_index", "items.0.name"),
        InputMapping("plain", "score"),
    ]
    output = {"items": [{"name": "first"}, {"name": "second"}], "score": 0.5}
    inputs = resolve_chain_inputs(
        [Connection("a", "t", mappings)], "t", {"a": output}, testcase={"country": "FR"}
    )
    assert inputs == {
        "whole": output,
        "row": "FR",
        "dollar": "second",
        "dotted_index": "first",
        "plain": 0.5,
    }


def test_paths_walk_attributes_of_models() -> None:
    results = {"a": Node("inner", label="L")}
    mapping = InputMapping("label", "output.label")
    assert resolve_chain_inputs([Connection("a", "t", [mapping])], "t", results) == {"label": "L"}


def test_missing_values_leave_their_key_out() -> None:
    mappings = [
        InputMapping("gone", "output.nope"),
        InputMapping("far", "output.items[9]"),
        InputMapping("row", "testcase.x"),
        InputMapping("method", "output.keys"),
    ]
    results = {"a": {"items": [1]}}
    assert resolve_chain_inputs([Connection("a", "t", mappings)], "t", results) == {}


def test_strict_resolution_names_the_missing_path() -> None:
    conn = Connection("a", "t", [InputMapping("x", "output.items[3].name")])
    with pytest.raises(MappingPathError, match=r"output\.items\.3"):
        resolve_chain_inputs([conn], "t", {"a": {"items": []}}, strict=True)


def test_only_valid_mappings_with_a_path_are_used() -> None:
    mappings = [
        InputMapping("a", status="unmapped"),
        InputMapping("b", status="ambiguous", candidates=("output.x", "output.y")),
        InputMapping("c", "output.x"),
    ]
    assert resolve_chain_inputs([Connection("s", "t", mappings)], "t", {"s": {"x": 1}}) == {"c": 1}


def test_key_in_object_nests_values_under_the_target_key() -> None:
    mappings = [
        InputMapping("payload", "output.a", key_in_object="first"),
        InputMapping("payload", "output.b", key_in_object="second"),
    ]
    inputs = resolve_chain_inputs([Connection("s", "t", mappings)], "t", {"s": {"a": 1, "b": 2}})
    assert inputs == {"payload": {"first": 1, "second": 2}}


def test_resolution_accepts_plain_dict_connections() -> None:
    conn = {
        "source": "s",
        "target": "t",
        "input_mappings": [{"target_key": "k", "source_path": "output"}],
    }
    assert resolve_chain_inputs([conn], "t", {"s": "text"}) == {"k": "text"}


@pytest.mark.parametrize(
    "path", ["output.__class__", "__proto__", "output['__proto__']", "testcase.__dict__"]
)
def test_dunder_paths_are_refused(path: str) -> None:
    with pytest.raises(ValidationError, match="refused"):
        InputMapping("x", path)


@pytest.mark.parametrize("key", ["__proto__", "__init__"])
def test_dunder_target_keys_are_refused(key: str) -> None:
    with pytest.raises(ValidationError, match="refused"):
        InputMapping(key, "output")
    with pytest.raises(ValidationError, match="refused"):
        InputMapping("x", "output", key_in_object=key)


@pytest.mark.parametrize("path", ["", "$", "a..b", "a.", ".a", "a[x]", "a[0", "a[0]b"])
def test_malformed_paths_are_refused_naming_the_path(path: str) -> None:
    with pytest.raises(ValidationError, match="mapping path"):
        InputMapping("x", path)


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (Chain, {"nodes": ["a", "b"], "connections": [{"source": "a", "target": "b"}]}),
        (Node, {"id": "a"}),
        (Connection, {"source": "a", "target": "b"}),
        (InputMapping, {"target_key": "x", "source_path": "a.output"}),
        (MappingSource, {"path": "a.output"}),
        (RunnableData, {"id": "p1", "kind": "prompt"}),
        (RunnablePort, {"key": "x"}),
        (ResolvedVariable, {"name": "x", "value": 1, "source": "user"}),
    ],
)
def test_a_payload_with_a_self_key_is_data_not_a_clash_with_the_models_own_self(
    model: type[Any], fields: dict[str, Any]
) -> None:
    # Request bodies reach these constructors as **data: a key named "self" was a TypeError
    # (500 from the server) where any other unknown key is ignored.
    made = model(**{**fields, "self": "anything"})
    assert made == model(**fields)
