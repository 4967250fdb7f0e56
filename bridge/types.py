"""`RunnableType`: how the bridge reads, and runs, one kind of runnable."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from molecules import Atom, AtomFamily, Store
from runnable.types import RunnableData, RunnablePort, RunnableRef

__all__ = ["Executor", "Prepare", "RefLike", "RunnableType", "SelectorFamily"]

RefLike = RunnableRef | str | Mapping[str, Any]
"""A runnable ref: a `RunnableRef`, a "kind:id" text, a bare id, or a ref's dict."""

SelectorFamily = Callable[[Any], Atom[Any]]
"""A family of atoms keyed by entity id (an `AtomFamily`, or any callable id -> atom)."""

Executor = Callable[[RunnableData, Mapping[str, Any]], Any]
"""`execute(runnable, inputs)`: returns the output, plain or awaited, or yields chunks."""

Prepare = Callable[[Store, str], Awaitable[Any]]
"""`await prepare(store, id)` loads what the kind's ports depend on before a run."""


def _callable(name: str) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_: Any, __: attrs.Attribute[Any], value: Any) -> None:
        if not callable(value):
            raise TypeError(f"RunnableType.{name} must be callable, got {value!r}")

    return check


def _optional_callable(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"RunnableType.{attribute.name} must be callable or None, got {value!r}")


def _molecule(_: Any, __: attrs.Attribute[Any], value: Any) -> None:
    for name in ("query", "data", "is_dirty", "load"):
        if not hasattr(value, name):
            raise TypeError(
                f"RunnableType.molecule must be a molecule (with query, data, is_dirty, load); "
                f"{value!r} has no {name!r}"
            )


def _families(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value or {})


@attrs.frozen(slots=True)
class RunnableType:
    """One kind of runnable: its molecule, how an entity becomes a runnable, how it runs.

    `to_runnable(entity)` gives the `RunnableData`; `get_input_ports(entity)` and
    `get_output_ports(entity)` its ports. A kind whose molecule already has reactive
    selectors for these passes them as `input_ports`, `output_ports`, `invocation_url`,
    `schemas`, `configuration` or `request` (families keyed by id); they win over the functions.
    `execute(runnable, inputs)` runs it: a plain or async function returning the output
    (or an `ExecutionResult`), or an async generator of chunks. `prepare(store, id)` is
    awaited before a run (to load a prompt an action points at, an app's OpenAPI...).
    `extra_selectors` and `extra_actions` are offered by `bridge.runnable(kind)`.
    """

    molecule: Any = attrs.field(validator=_molecule)
    to_runnable: Callable[[Any], RunnableData] = attrs.field(validator=_callable("to_runnable"))
    get_input_ports: Callable[[Any], list[RunnablePort]] = attrs.field(
        validator=_callable("get_input_ports")
    )
    get_output_ports: Callable[[Any], list[RunnablePort]] = attrs.field(
        validator=_callable("get_output_ports")
    )
    input_ports: SelectorFamily | None = attrs.field(
        default=None, kw_only=True, validator=_optional_callable
    )
    output_ports: SelectorFamily | None = attrs.field(
        default=None, kw_only=True, validator=_optional_callable
    )
    invocation_url: SelectorFamily | None = attrs.field(
        default=None, kw_only=True, validator=_optional_callable
    )
    execute: Executor | None = attrs.field(default=None, kw_only=True, validator=_optional_callable)
    extra_selectors: Mapping[str, SelectorFamily] = attrs.field(
        default=None, kw_only=True, converter=_families
    )
    extra_actions: Mapping[str, Atom[Any]] = attrs.field(
        default=None, kw_only=True, converter=_families
    )
    schemas: SelectorFamily | None = attrs.field(
        default=None, kw_only=True, validator=_optional_callable
    )
    configuration: SelectorFamily | None = attrs.field(
        default=None, kw_only=True, validator=_optional_callable
    )
    request: SelectorFamily | None = attrs.field(
        default=None, kw_only=True, validator=_optional_callable
    )
    prepare: Prepare | None = attrs.field(default=None, kw_only=True, validator=_optional_callable)
    entity_type: type | None = attrs.field(default=None, kw_only=True)


def family_selectors(molecule: Any) -> dict[str, AtomFamily[Any, Atom[Any]]]:
    """The selector families a molecule lists (an empty dict for one that lists none)."""
    found = getattr(molecule, "selectors", None)
    return dict(found) if isinstance(found, Mapping) else {}
