"""Where a node's inputs come from: explicit mappings, auto-mapping, fixed inputs, checks."""

from __future__ import annotations

from typing import Any

import pytest

from runnable.chain import Chain, Connection, InputMapping, Node
from runnable.runner import ChainInputError, NodeContext, NodePorts, plan_graph, run_graph
from runnable.types import ExecutionStatus, RunnablePort


class Recorder:
    """An executor that records each node's inputs and returns scripted outputs."""

    def __init__(self, outputs: dict[str, Any] | None = None) -> None:
        self.outputs = outputs or {}
        self.inputs: dict[str, dict[str, Any]] = {}

    async def __call__(self, node: Node, inputs: dict[str, Any], ctx: NodeContext) -> Any:
        self.inputs[node.id] = inputs
        return self.outputs.get(node.id, node.id)


async def test_explicit_mappings_read_every_parent_and_the_testcase() -> None:
    chain = Chain(
        ["a", "b", "c"],
        [
            Connection("a", "c", [InputMapping("first", "outputs.text")]),
            Connection(
                "b", "c", [InputMapping("second", "outputs"), InputMapping("q", "testcase.q")]
            ),
        ],
    )
    recorder = Recorder({"a": {"text": "from a"}, "b": "from b"})

    run = await run_graph(chain, recorder, testcase={"q": "why?", "other": 1}).wait()

    assert run.status is ExecutionStatus.SUCCESS
    assert recorder.inputs["c"] == {"first": "from a", "second": "from b", "q": "why?"}


async def test_inputs_without_mappings_are_auto_mapped_from_ports_and_testcase() -> None:
    ports = {
        "summarize": NodePorts(inputs=["article"], outputs=["summary", "length"]),
        "tweet": NodePorts(inputs=["summary", "tone"]),
    }
    chain = Chain(["summarize", "tweet"], [("summarize", "tweet")])
    recorder = Recorder({"summarize": {"summary": "short", "length": 5}})

    await run_graph(
        chain, recorder, ports=ports, testcase={"article": "long text", "tone": "dry"}
    ).wait()

    assert recorder.inputs["summarize"] == {"article": "long text"}
    assert recorder.inputs["tweet"] == {"summary": "short", "tone": "dry"}


async def test_a_parent_is_an_auto_mapping_source_by_its_id_and_label() -> None:
    chain = Chain([Node("n1", label="Draft"), "review"], [("n1", "review")])
    ports = {"review": NodePorts(inputs=["draft"])}
    recorder = Recorder({"n1": "the draft"})

    await run_graph(chain, recorder, ports=ports).wait()

    assert recorder.inputs["review"] == {"draft": "the draft"}


async def test_an_ambiguous_input_stops_the_run_before_any_call_naming_it() -> None:
    ports = {
        "a": NodePorts(outputs=["text"]),
        "b": NodePorts(outputs=["text"]),
        "c": NodePorts(inputs=["text"]),
    }
    chain = Chain(["a", "b", "c"], [("a", "c"), ("b", "c")])
    recorder = Recorder()

    with pytest.raises(ChainInputError) as caught:
        run_graph(chain, recorder, ports=ports)

    assert recorder.inputs == {}
    problem = caught.value.problems[0]
    assert (problem.node_id, problem.key, problem.reason) == ("c", "text", "ambiguous")
    assert problem.candidates == ("a.outputs.text", "b.outputs.text")
    assert "input 'text' of node 'c' is ambiguous" in str(caught.value)


async def test_a_missing_required_input_stops_the_run_before_any_call_naming_it() -> None:
    ports = {"a": NodePorts(inputs=[RunnablePort(key="country", required=True), "city"])}
    recorder = Recorder()

    with pytest.raises(ChainInputError) as caught:
        run_graph(Chain(["a"]), recorder, ports=ports, testcase={"city": "Paris"})

    assert recorder.inputs == {}
    assert [(p.node_id, p.key, p.reason) for p in caught.value.problems] == [
        ("a", "country", "missing")
    ]
    assert "'country'" in str(caught.value) and "'a'" in str(caught.value)


async def test_every_bad_input_of_every_node_is_named_at_once() -> None:
    ports = {"a": NodePorts(inputs=["x"]), "b": NodePorts(inputs=["y"])}

    with pytest.raises(ChainInputError) as caught:
        plan_graph(Chain(["a", "b"]), ports=ports)

    assert [(p.node_id, p.key) for p in caught.value.problems] == [("a", "x"), ("b", "y")]


async def test_an_optional_input_that_nothing_supplies_is_left_out() -> None:
    ports = {"a": NodePorts(inputs=[RunnablePort(key="tone", required=False), "text"])}
    recorder = Recorder()

    await run_graph(Chain(["a"]), recorder, ports=ports, testcase={"text": "t"}).wait()

    assert recorder.inputs["a"] == {"text": "t"}


async def test_a_mapping_saved_as_ambiguous_stops_the_run() -> None:
    mapping = InputMapping("text", status="ambiguous", candidates=("outputs.a", "outputs.b"))
    chain = Chain(["a", "b"], [Connection("a", "b", [mapping])])

    with pytest.raises(ChainInputError, match="input 'text' of node 'b' is ambiguous"):
        run_graph(chain, Recorder())


async def test_a_mapping_saved_as_unmapped_is_auto_mapped_again() -> None:
    chain = Chain(["a", "b"], [Connection("a", "b", [InputMapping("q", status="unmapped")])])
    recorder = Recorder()

    await run_graph(chain, recorder, testcase={"q": "now it exists"}).wait()

    assert recorder.inputs["b"] == {"q": "now it exists"}


async def test_fixed_inputs_win_and_supply_required_ones() -> None:
    ports = {"a": NodePorts(inputs=["text", "temperature"])}
    recorder = Recorder()

    await run_graph(
        Chain(["a"]),
        recorder,
        ports=ports,
        testcase={"text": "t", "temperature": 1.0},
        node_inputs={"a": {"temperature": 0.0, "model": "m"}},
    ).wait()

    assert recorder.inputs["a"] == {"text": "t", "temperature": 0.0, "model": "m"}


async def test_a_mapping_that_finds_nothing_at_run_time_fails_that_node() -> None:
    ports = {"a": NodePorts(outputs=["summary"]), "b": NodePorts(inputs=["summary"])}
    recorder = Recorder({"a": {"other": 1}})

    run = await run_graph(Chain(["a", "b"], [("a", "b")]), recorder, ports=ports).wait()

    result = run.results["b"]
    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None
    assert result.error.message == (
        "input 'summary' of node 'b' is missing: its mapping found no value"
    )
    assert "b" not in recorder.inputs


async def test_a_dotted_port_key_is_mapped_as_one_key() -> None:
    ports = {"a": NodePorts(outputs=["user.name"]), "b": NodePorts(inputs=["user.name"])}
    recorder = Recorder({"a": {"user.name": "Ada"}})

    await run_graph(Chain(["a", "b"], [("a", "b")]), recorder, ports=ports).wait()

    assert recorder.inputs["b"] == {"user.name": "Ada"}


async def test_ports_may_come_from_a_function_of_the_node() -> None:
    def ports(node: Node) -> NodePorts | None:
        return NodePorts(inputs=["q"]) if node.id == "a" else None

    recorder = Recorder()
    await run_graph(Chain(["a"]), recorder, ports=ports, testcase={"q": 1, "z": 2}).wait()

    assert recorder.inputs["a"] == {"q": 1}
