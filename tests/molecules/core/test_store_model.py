"""The store against a naive reference model, on random graphs and random operations."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from molecules import Atom, Getter, Store, atom, derived

# A node spec: ("sum", [inputs]) or ("if", cond, then, else); inputs are indexes of earlier
# nodes. Nodes 0..P-1 are primitives.


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, list[tuple[Any, ...]]]:
    primitives = draw(st.integers(1, 4))
    specs: list[tuple[Any, ...]] = []
    for i in range(draw(st.integers(1, 8))):
        earlier = st.integers(0, primitives + i - 1)
        if draw(st.booleans()):
            specs.append(("sum", draw(st.lists(earlier, min_size=1, max_size=3))))
        else:
            specs.append(("if", draw(earlier), draw(earlier), draw(earlier)))
    return primitives, specs


def _reference(index: int, primitives: list[int], specs: list[tuple[Any, ...]]) -> int:
    if index < len(primitives):
        return primitives[index]
    spec = specs[index - len(primitives)]
    if spec[0] == "sum":
        return sum(_reference(j, primitives, specs) for j in spec[1])
    _, cond, then, other = spec
    chosen = then if _reference(cond, primitives, specs) % 2 else other
    return _reference(chosen, primitives, specs)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.integers(0, 3), st.integers(-3, 3)),
        st.tuples(
            st.just("batch"),
            st.lists(st.tuples(st.integers(0, 3), st.integers(-3, 3)), max_size=4),
        ),
        st.tuples(st.just("write"), st.integers(-3, 3)),
        st.tuples(st.just("sub"), st.integers(0, 11)),
        st.tuples(st.just("unsub"), st.integers(0, 20)),
        st.tuples(st.just("get"), st.integers(0, 11)),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(graphs(), operations)
def test_store_matches_reference_model(
    graph: tuple[int, list[tuple[Any, ...]]], ops: list[tuple[Any, ...]]
) -> None:
    n_prims, specs = graph
    values = [0] * n_prims
    runs = Counter[int]()
    nodes: list[Atom[int]] = [atom(0) for _ in range(n_prims)]
    for k, spec in enumerate(specs):
        index = n_prims + k
        if spec[0] == "sum":

            def read(get: Getter, index: int = index, inputs: Any = spec[1]) -> int:
                runs[index] += 1
                return sum(get(nodes[j]) for j in inputs)

        else:

            def read(get: Getter, index: int = index, spec: Any = spec) -> int:
                runs[index] += 1
                _, cond, then, other = spec
                return get(nodes[then]) if get(nodes[cond]) % 2 else get(nodes[other])

        nodes.append(derived(read))

    def write_all(get: Getter, set: Any, v: int) -> None:
        for p in range(n_prims):
            set(nodes[p], v + p)

    write_all_atom = derived(write=write_all)
    store = Store()
    subs: list[tuple[int, Any, list[int], list[int]]] = []  # node, unsub, calls, last seen

    def expected(i: int) -> int:
        return _reference(i, values, specs)

    for op in ops:
        runs.clear()
        if op[0] == "set":
            p = op[1] % n_prims
            values[p] = op[2]
            store.set(nodes[p], op[2])
        elif op[0] == "batch":
            with store.batch():
                for p, v in op[1]:
                    values[p % n_prims] = v
                    store.set(nodes[p % n_prims], v)
        elif op[0] == "write":
            for p in range(n_prims):
                values[p] = op[1] + p
            store.set(write_all_atom, op[1])
        elif op[0] == "sub":
            i = op[1] % len(nodes)
            calls: list[int] = []
            unsub = store.sub(nodes[i], lambda calls=calls: calls.append(1))
            subs.append((i, unsub, calls, [expected(i)]))
        elif op[0] == "unsub" and subs:
            _, unsub, _, _ = subs.pop(op[1] % len(subs))
            unsub()
        elif op[0] == "get":
            i = op[1] % len(nodes)
            assert store.get(nodes[i]) == expected(i)
            continue

        if op[0] in ("set", "batch", "write"):
            assert all(count <= 1 for count in runs.values()), runs
        for i, _, calls, last in subs:
            now = expected(i)
            assert len(calls) == (1 if now != last[0] else 0), (i, calls, last, now)
            calls.clear()
            last[0] = now
            assert store.get(nodes[i]) == now
        for i in range(len(nodes)):
            if store.is_mounted(nodes[i]):
                assert store.get(nodes[i]) == expected(i)
