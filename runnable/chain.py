"""Chain planning: nodes, connections and input mappings, their order, and their inputs.

Every algorithm here is iterative (no recursion per node) and linear or `n log n` in the
size of the graph, so a chain of thousands of nodes plans at any recursion limit. Each
function that takes a model also takes the equivalent plain dict.
"""

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from runnable.errors import ChainCycleError, ChainError
from runnable.mapping import (
    MISSING,
    UNSET,
    InputMapping,
    MappingSource,
    MappingStatus,
    auto_map_inputs,
    given,
    parse_mapping_path,
    read_mapping_path,
)
from runnable.types import RunnableRef

__all__ = [
    "Chain",
    "ChainCycleError",
    "Connection",
    "InputMapping",
    "MappingSource",
    "MappingStatus",
    "Node",
    "auto_map_inputs",
    "parse_mapping_path",
    "resolve_chain_inputs",
    "topological_levels",
    "topological_order",
]


_SOURCE_NAMES = ("source", "sourceNodeId", "source_id")
_TARGET_NAMES = ("target", "targetNodeId", "target_id")


class Node(BaseModel):
    """One step of a chain: its id, the runnable it runs, and a label for people."""

    model_config = ConfigDict(frozen=True)

    id: str
    ref: RunnableRef | None = None
    label: str | None = None

    def __init__(
        self,
        /,
        id: str = UNSET,
        ref: RunnableRef | str | None = UNSET,
        label: str | None = UNSET,
        **data: Any,
    ) -> None:
        super().__init__(**given(id=id, ref=ref, label=label), **data)


class Connection(BaseModel):
    """An edge from `source` to `target` carrying the target's input mappings."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(validation_alias=AliasChoices(*_SOURCE_NAMES))
    target: str = Field(validation_alias=AliasChoices(*_TARGET_NAMES))
    input_mappings: tuple[InputMapping, ...] = Field(
        default=(), validation_alias=AliasChoices("input_mappings", "inputMappings")
    )
    # Kept for compatibility with Agenta's chains; independent nodes always run concurrently.
    parallel: bool = False

    def __init__(
        self,
        /,
        source: str = UNSET,
        target: str = UNSET,
        input_mappings: Iterable[InputMapping | Mapping[str, Any]] = UNSET,
        parallel: bool = UNSET,
        **data: Any,
    ) -> None:
        fields = given(
            source=source, target=target, input_mappings=input_mappings, parallel=parallel
        )
        super().__init__(**fields, **data)


NodeLike = str | Node | Mapping[str, Any]
ConnectionLike = Connection | Mapping[str, Any] | tuple[str, str]


class Chain(BaseModel):
    """Nodes and the connections between them; every connection joins declared nodes."""

    model_config = ConfigDict(frozen=True)

    nodes: tuple[Node, ...] = ()
    connections: tuple[Connection, ...] = ()

    def __init__(
        self,
        /,
        nodes: Iterable[NodeLike] | None = None,
        connections: Iterable[ConnectionLike] | None = None,
        **data: Any,
    ) -> None:
        if nodes is not None:
            data["nodes"] = [_as_node(n) for n in _listed("nodes", nodes)]
        if connections is not None:
            data["connections"] = [_as_connection(c) for c in _listed("connections", connections)]
        super().__init__(**data)

    @field_validator("nodes", "connections", mode="before")
    @classmethod
    def _a_list(cls, value: Any, info: ValidationInfo) -> Any:
        return _listed(str(info.field_name), value, error=ValueError)

    @field_validator("nodes", mode="before")
    @classmethod
    def _ids_are_nodes(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"id": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _connections_join_declared_nodes(self) -> "Chain":
        ids = [node.id for node in self.nodes]
        known = set(ids)
        if len(known) != len(ids):
            twice = [node_id for node_id, n in Counter(ids).items() if n > 1]
            raise ChainError(f"duplicate node ids: {', '.join(twice)}")
        unknown = [e for c in self.connections for e in (c.source, c.target) if e not in known]
        if unknown:
            raise ChainError(f"connections name unknown nodes: {', '.join(dict.fromkeys(unknown))}")
        return self

    def node(self, node_id: str) -> Node:
        """The node with this id; `KeyError` names it when there is none."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def order(self, start: str | None = None) -> list[str]:
        """The node ids in topological order (see `topological_order`)."""
        return topological_order(self.nodes, self.connections, start=start)

    def levels(self) -> list[list[str]]:
        """The node ids grouped by longest distance from a source (see `topological_levels`)."""
        return topological_levels(self.nodes, self.connections)

    def incoming(self, node_id: str) -> list[Connection]:
        """Every connection into `node_id`, in declaration order."""
        return [c for c in self.connections if c.target == node_id]

    def upstream(self) -> dict[str, list[str]]:
        """For each node, the distinct ids of the nodes it reads from."""
        result: dict[str, list[str]] = {node.id: [] for node in self.nodes}
        for c in self.connections:
            if c.source not in result[c.target]:
                result[c.target].append(c.source)
        return result

    def downstream_of(self, node_id: str) -> list[str]:
        """Every node reachable from `node_id` (not itself unless on a cycle), in order."""
        return _reachable(node_id, [(c.source, c.target) for c in self.connections])

    def upstream_of(self, node_id: str) -> list[str]:
        """Every node from which `node_id` is reachable (not itself unless on a cycle)."""
        return _reachable(node_id, [(c.target, c.source) for c in self.connections])


def _listed(field: str, value: Any, error: type[Exception] = ChainError) -> Any:
    """`value`, refused when it is a string or a mapping: iterating it would invent nodes."""
    if isinstance(value, str | bytes | Mapping):
        raise error(f"{field} must be a list, not a {type(value).__name__} ({value!r:.40})")
    return value


def _as_node(value: NodeLike) -> Node:
    if isinstance(value, Node):
        return value
    if isinstance(value, str):
        return Node(value)
    return Node.model_validate(value)


def _as_connection(value: ConnectionLike) -> Connection:
    if isinstance(value, Connection):
        return value
    if isinstance(value, tuple):
        return Connection(*value)
    return Connection.model_validate(value)


def _node_id(value: NodeLike) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Node):
        return value.id
    return str(value["id"])


def _endpoint(value: Mapping[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        if name in value:
            return str(value[name])
    raise ChainError(f"connection {dict(value)!r} has no {names[0]!r}")


def _edges(connections: Iterable[ConnectionLike]) -> list[tuple[str, str]]:
    # Reads endpoints without building models: planning must stay cheap for big chains.
    edges = []
    for c in connections:
        if isinstance(c, Connection):
            edges.append((c.source, c.target))
        elif isinstance(c, tuple):
            edges.append((c[0], c[1]))
        else:
            edges.append((_endpoint(c, _SOURCE_NAMES), _endpoint(c, _TARGET_NAMES)))
    return edges


def _reachable(origin: str, edges: list[tuple[str, str]]) -> list[str]:
    adjacency: dict[str, list[str]] = {}
    for a, b in edges:
        adjacency.setdefault(a, []).append(b)
    seen: dict[str, None] = {}
    stack = list(reversed(adjacency.get(origin, [])))
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen[current] = None
        stack.extend(reversed(adjacency.get(current, [])))
    return list(seen)


class _Graph:
    """Integer-indexed adjacency of a chain, in declaration order."""

    __slots__ = ("ids", "preds", "succs")

    def __init__(self, nodes: Iterable[NodeLike], connections: Iterable[ConnectionLike]) -> None:
        index: dict[str, int] = {}
        self.ids: list[str] = []
        for node in nodes:
            node_id = _node_id(node)
            if node_id in index:
                raise ChainError(f"duplicate node id: {node_id}")
            index[node_id] = len(self.ids)
            self.ids.append(node_id)
        edges = _edges(connections)
        # Ids that appear only in a connection come after the declared ones.
        for pair in edges:
            for node_id in pair:
                if node_id not in index:
                    index[node_id] = len(self.ids)
                    self.ids.append(node_id)
        self.succs: list[list[int]] = [[] for _ in self.ids]
        self.preds: list[list[int]] = [[] for _ in self.ids]
        for a, b in edges:
            self.succs[index[a]].append(index[b])
            self.preds[index[b]].append(index[a])

    def kahn(self, first: int | None = None) -> list[int]:
        """Kahn's algorithm with the earliest-declared ready node first; raises on a cycle."""
        indegree = [len(p) for p in self.preds]
        ready = [i for i, d in enumerate(indegree) if d == 0]
        if first is not None and indegree[first] == 0:
            ready.remove(first)
            ready.append(-1)  # -1 sorts before every declared index
        heapq.heapify(ready)
        order: list[int] = []
        while ready:
            current = heapq.heappop(ready)
            current = first if current == -1 and first is not None else current
            order.append(current)
            for nxt in self.succs[current]:
                indegree[nxt] -= 1
                if indegree[nxt] == 0:
                    heapq.heappush(ready, nxt)
        if len(order) != len(self.ids):
            raise ChainCycleError(self._a_cycle(indegree))
        return order

    def _a_cycle(self, indegree: list[int]) -> list[str]:
        # Every node left has a predecessor that is also left: walking back must repeat.
        current = next(i for i, d in enumerate(indegree) if d > 0)
        position: dict[int, int] = {}
        walk: list[int] = []
        while current not in position:
            position[current] = len(walk)
            walk.append(current)
            current = next(p for p in self.preds[current] if indegree[p] > 0)
        cycle = walk[position[current] :][::-1]
        lowest = cycle.index(min(cycle))
        return [self.ids[i] for i in cycle[lowest:] + cycle[:lowest]]


def topological_order(
    nodes: Iterable[NodeLike], connections: Iterable[ConnectionLike], start: str | None = None
) -> list[str]:
    """Every node id, each after all its upstream nodes; ties go to declaration order.

    `start` goes first when nothing points into it. Ids found only in connections come
    after the declared ones. A cycle raises `ChainCycleError` naming one cycle in order.
    """
    graph = _Graph(nodes, connections)
    first = None
    if start is not None:
        if start not in graph.ids:
            raise ChainError(f"start node {start!r} is not in the chain")
        first = graph.ids.index(start)
    return [graph.ids[i] for i in graph.kahn(first)]


def topological_levels(
    nodes: Iterable[NodeLike], connections: Iterable[ConnectionLike]
) -> list[list[str]]:
    """Node ids grouped by the length of the longest path from a source, in declaration order."""
    graph = _Graph(nodes, connections)
    level = [0] * len(graph.ids)
    for current in graph.kahn():
        for nxt in graph.succs[current]:
            level[nxt] = max(level[nxt], level[current] + 1)
    groups: list[list[str]] = [[] for _ in range(max(level, default=-1) + 1)]
    for index, depth in enumerate(level):
        groups[depth].append(graph.ids[index])
    return groups


def resolve_chain_inputs(
    connections: Iterable[ConnectionLike],
    target: str,
    results: Mapping[str, Any],
    testcase: Mapping[str, Any] | None = None,
    *,
    strict: bool = False,
) -> dict[str, Any]:
    """The inputs of `target` read through EVERY connection into it (fan-in).

    Only `valid` mappings with a source path count; later connections override earlier
    ones for the same key. For big chains pass `chain.incoming(target)`: every call
    scans the connections it is given. A missing value leaves its key out, or raises
    `MappingPathError` when `strict` is true.
    """
    inputs: dict[str, Any] = {}
    for connection in map(_as_connection, connections):
        if connection.target != target:
            continue
        output = results.get(connection.source, MISSING)
        case = MISSING if testcase is None else testcase
        for mapping in connection.input_mappings:
            if mapping.status != "valid" or mapping.source_path is None:
                continue
            value = read_mapping_path(mapping.source_path, output, case, strict=strict)
            if value is MISSING:
                continue
            if mapping.key_in_object is None:
                inputs[mapping.target_key] = value
                continue
            holder = inputs.get(mapping.target_key)
            if not isinstance(holder, dict):
                holder = inputs[mapping.target_key] = {}
            holder[mapping.key_in_object] = value
    return inputs
