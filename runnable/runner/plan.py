"""Planning a run before any call: the graph as indices, and where each node's inputs come from.

A node's inputs come, in this order of precedence (later wins):

1. pass-through, when the node has no input mappings and no known input ports: the
   testcase row, then each parent's output (a mapping is merged, anything else is put
   under the parent's id);
2. otherwise its mappings: the explicit ones on its incoming connections and in
   `input_mappings` (node-level mappings, for paths into the testcase), then, for every
   input they leave out, a mapping found by `auto_map_inputs` among the testcase
   columns, the parents' output ports and each parent's whole output (known by the
   parent's id and label);
3. the node's fixed inputs (`node_inputs`), which always win.

An ambiguous input, or a required input that nothing supplies, stops the run here,
before any call: `ChainInputError` names every such node and input.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import attrs

from runnable.chain import (
    Chain,
    Connection,
    InputMapping,
    MappingSource,
    Node,
    auto_map_inputs,
    resolve_chain_inputs,
)
from runnable.errors import ChainError, MappingPathError
from runnable.runner.errors import ChainInputError, InputProblem, RerunError
from runnable.types import RunnablePort

__all__ = ["GraphPlan", "NodePlan", "NodePorts", "PortsLike", "plan_graph"]


def _as_port(value: RunnablePort | Mapping[str, Any] | str) -> RunnablePort:
    if isinstance(value, RunnablePort):
        return value
    if isinstance(value, str):
        # A bare key names an input the node cannot do without.
        return RunnablePort(key=value, required=True)
    return RunnablePort.model_validate(value)


def _as_ports(values: Iterable[RunnablePort | Mapping[str, Any] | str]) -> tuple[RunnablePort, ...]:
    return tuple(_as_port(v) for v in values)


@attrs.frozen(slots=True)
class NodePorts:
    """The input and output ports of a node's runnable (bare keys are required inputs)."""

    inputs: tuple[RunnablePort, ...] = attrs.field(default=(), converter=_as_ports)
    outputs: tuple[RunnablePort, ...] = attrs.field(default=(), converter=_as_ports)


PortsLike = (
    Mapping[str, "NodePorts | Mapping[str, Any]"] | Callable[[Node], "NodePorts | None"] | None
)


@attrs.frozen(slots=True)
class NodePlan:
    """One node of a plan: its neighbours (as indices) and how its inputs are gathered.

    `connections` is None for pass-through; otherwise resolving them (fan-in, see
    `resolve_chain_inputs`) gives the inputs. `required` are checked after resolution.
    """

    index: int
    node: Node
    parents: tuple[int, ...]
    children: tuple[int, ...]
    connections: tuple[Connection, ...] | None
    required: tuple[str, ...] = ()
    fixed: Mapping[str, Any] | None = None
    parent_ids: tuple[str, ...] = ()

    def gather(
        self, outputs: Mapping[str, Any], testcase: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """This node's inputs from its parents' `outputs` (by node id) and the testcase.

        A required input that its mapping finds no value for raises `ChainInputError`.
        """
        if self.connections is None:
            inputs = dict(testcase) if testcase else {}
            for parent_id in self.parent_ids:
                output = outputs[parent_id]
                if isinstance(output, Mapping):
                    inputs.update(output)
                else:
                    inputs[parent_id] = output
        else:
            inputs = resolve_chain_inputs(self.connections, self.node.id, outputs, testcase)
            missing = [key for key in self.required if key not in inputs]
            if missing:
                detail = "its mapping found no value"
                raise ChainInputError(
                    [InputProblem(self.node.id, key, "missing", detail=detail) for key in missing]
                )
        if self.fixed:
            inputs.update(self.fixed)
        return inputs


@attrs.frozen(slots=True)
class GraphPlan:
    """A chain made ready to run: nodes in topological order, indices, input plans."""

    chain: Chain
    nodes: tuple[NodePlan, ...]
    index: Mapping[str, int]
    testcase_keys: frozenset[str]

    @property
    def ids(self) -> list[str]:
        """Node ids in the plan's (topological) order."""
        return [p.node.id for p in self.nodes]

    def descendants(self, roots: Collection[int]) -> set[int]:
        """Every node reachable from `roots`, the roots included."""
        seen = set(roots)
        stack = list(roots)
        while stack:
            for child in self.nodes[stack.pop()].children:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    def ancestors(self, roots: Collection[int]) -> set[int]:
        """Every node from which one of `roots` is reachable, the roots excluded."""
        seen: set[int] = set()
        stack = list(roots)
        while stack:
            for parent in self.nodes[stack.pop()].parents:
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen - set(roots)

    def indices(self, ids: Iterable[str]) -> list[int]:
        """The indices of these node ids; `RerunError` names an id the chain lacks."""
        found = []
        for node_id in ids:
            if node_id not in self.index:
                raise RerunError(f"node {node_id!r} is not in the chain")
            found.append(self.index[node_id])
        return found


def _ports_of(ports: PortsLike, node: Node) -> NodePorts | None:
    if ports is None:
        return None
    found = ports(node) if callable(ports) else ports.get(node.id)
    if found is None or isinstance(found, NodePorts):
        return found
    return NodePorts(**found)


def _segment(key: str) -> str | None:
    """`key` as one path segment (quoted when it holds path syntax), None if it cannot be."""
    if key and not any(c in key for c in ".[]\"'") and not key.startswith("$"):
        return "." + key
    for quote in ('"', "'"):
        if quote not in key:
            return f"[{quote}{key}{quote}]"
    return None


@attrs.frozen(slots=True)
class _Source:
    parent: Node | None  # None: the testcase
    path: str  # the real path, read from the parent's output (or the testcase)


def _auto_sources(
    testcase_keys: Iterable[str],
    parents: Sequence[tuple[Node, NodePorts | None]],
) -> tuple[list[MappingSource], dict[str, _Source]]:
    """Sources under synthetic paths (one prefix per parent), and what each stands for.

    Synthetic prefixes keep `outputs.x` of two parents apart, so two parents offering
    the same key make an input ambiguous instead of silently merging.
    """
    sources: list[MappingSource] = []
    meaning: dict[str, _Source] = {}

    def add(synthetic: str, source: _Source, key: str | None, label: str | None) -> None:
        try:
            sources.append(MappingSource(synthetic, key=key, label=label))
        except MappingPathError:
            return  # a key no path can name (a dunder) is simply not offered
        meaning[synthetic] = source

    for key in sorted(testcase_keys):
        seg = _segment(key)
        if seg is not None:
            add("testcase" + seg, _Source(None, "testcase" + seg), key, None)
    for number, (parent, parent_ports) in enumerate(parents):
        prefix = f"_src{number}"
        add(prefix, _Source(parent, "outputs"), parent.id, parent.label)
        for port in parent_ports.outputs if parent_ports else ():
            seg = _segment(port.key)
            if seg is not None:
                add(prefix + seg, _Source(parent, "outputs" + seg), port.key, port.name)
    return sources, meaning


def _describe(source: _Source) -> str:
    if source.parent is None:
        return source.path
    return f"{source.parent.id}.{source.path}"


def _plan_inputs(
    node: Node,
    incoming: list[Connection],
    parents: list[tuple[Node, NodePorts | None]],
    ports: NodePorts | None,
    testcase_keys: frozenset[str],
    fixed: Mapping[str, Any] | None,
    problems: list[InputProblem],
) -> tuple[tuple[Connection, ...] | None, tuple[str, ...]]:
    explicit = [m for c in incoming for m in c.input_mappings]
    if ports is None and not explicit:
        return None, ()
    given = set(fixed or ())
    covered: set[str] = set()
    wanted: dict[str, bool] = {}  # key -> required
    for mapping in explicit:
        if mapping.status == "ambiguous":
            problems.append(
                InputProblem(node.id, mapping.target_key, "ambiguous", mapping.candidates)
            )
            covered.add(mapping.target_key)
        elif mapping.status == "valid" and mapping.source_path is not None:
            covered.add(mapping.target_key)
        else:
            # The mapping names an input it could not fill: the node expects that input.
            wanted.setdefault(mapping.target_key, True)
    for port in ports.inputs if ports else ():
        wanted[port.key] = port.required
    required = tuple(k for k, req in wanted.items() if req and k not in given)
    open_keys = [k for k in wanted if k not in covered and k not in given]
    connections = list(incoming)
    if open_keys:
        sources, meaning = _auto_sources(testcase_keys, parents)
        by_parent: dict[str | None, list[InputMapping]] = {}
        for mapping in auto_map_inputs(open_keys, sources):
            key = mapping.target_key
            if mapping.status == "ambiguous":
                shown = tuple(_describe(meaning[p]) for p in mapping.candidates)
                problems.append(InputProblem(node.id, key, "ambiguous", shown))
            elif mapping.status == "unmapped" or mapping.source_path is None:
                if wanted[key]:
                    problems.append(
                        InputProblem(
                            node.id,
                            key,
                            "missing",
                            detail="no mapping, testcase column or upstream output supplies it",
                        )
                    )
            else:
                source = meaning[mapping.source_path]
                parent_id = source.parent.id if source.parent else None
                by_parent.setdefault(parent_id, []).append(
                    InputMapping(key, source.path, is_auto_mapped=True)
                )
        for parent_id, mappings in by_parent.items():
            # A testcase mapping reads no output: any source id will do, "" matches none.
            connections.append(Connection(parent_id or "", node.id, mappings))
    return tuple(connections), required


def plan_graph(
    chain: Chain | Mapping[str, Any],
    *,
    ports: PortsLike = None,
    testcase_keys: Iterable[str] = (),
    node_inputs: Mapping[str, Mapping[str, Any]] | None = None,
    input_mappings: Mapping[str, Iterable[InputMapping | Mapping[str, Any]]] | None = None,
) -> GraphPlan:
    """Order the chain (`ChainCycleError` on a cycle) and plan every node's inputs.

    `ports` maps node ids (or a function of the node) to `NodePorts`; without ports a
    node's inputs are passed through (see the module docstring). Raises
    `ChainInputError` naming every ambiguous or missing required input.
    """
    if not isinstance(chain, Chain):
        chain = Chain.model_validate(chain)
    order = chain.order()
    index = {node_id: i for i, node_id in enumerate(order)}
    by_id = {node.id: node for node in chain.nodes}
    nodes = [by_id[node_id] for node_id in order]
    node_ports = [_ports_of(ports, node) for node in nodes]
    incoming: list[list[Connection]] = [[] for _ in nodes]
    parents: list[list[int]] = [[] for _ in nodes]
    children: list[list[int]] = [[] for _ in nodes]
    for connection in chain.connections:
        source, target = index[connection.source], index[connection.target]
        incoming[target].append(connection)
        if source not in parents[target]:
            parents[target].append(source)
            children[source].append(target)
    for node_id, mappings in (input_mappings or {}).items():
        if node_id not in index:
            raise ChainError(f"input_mappings name a node the chain lacks: {node_id!r}")
        # A node-level mapping reads the testcase; "" is the id of no node (no output).
        incoming[index[node_id]].append(Connection("", node_id, mappings))
    keys = frozenset(testcase_keys)
    fixed_inputs = node_inputs or {}
    problems: list[InputProblem] = []
    plans = []
    for i, node in enumerate(nodes):
        fixed = fixed_inputs.get(node.id)
        connections, required = _plan_inputs(
            node,
            incoming[i],
            [(nodes[p], node_ports[p]) for p in parents[i]],
            node_ports[i],
            keys,
            fixed,
            problems,
        )
        plans.append(
            NodePlan(
                i,
                node,
                tuple(parents[i]),
                tuple(children[i]),
                connections,
                required,
                dict(fixed) if fixed else None,
                tuple(nodes[p].id for p in parents[i]),
            )
        )
    if problems:
        raise ChainInputError(problems)
    return GraphPlan(chain, tuple(plans), index, keys)
