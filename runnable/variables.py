"""Variables: values from layers, highest first, each remembering the layer it came from.

The layers, highest first (`DEFAULT_ORDER`): computed (`current_date`, `current_time`,
`current_datetime`) > user > hardcoded (a prompt action's values) > broker (context) >
scoped (project > org > user) > prompt default. A caller may pass another order.

```python
resolved = resolve_variables(
    {"computed": computed_variables(now), "user": {"topic": "tides"},
     "default": {"topic": "moons", "tone": "calm"}},
    required=["topic", "tone"],
)
resolved["topic"]  # ResolvedVariable(name="topic", value="tides", source="user")
```
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from runnable.errors import MissingVariablesError, VariablesError
from runnable.mapping import UNSET, given

__all__ = [
    "COMPUTED_VARIABLES",
    "DEFAULT_ORDER",
    "MissingVariablesError",
    "ResolvedVariable",
    "computed_variables",
    "require_variables",
    "resolve_variables",
    "variable_values",
]

DEFAULT_ORDER: tuple[str, ...] = (
    "computed",
    "user",
    "hardcoded",
    "broker",
    "scoped.project",
    "scoped.org",
    "scoped.user",
    "default",
)
COMPUTED_VARIABLES = ("current_date", "current_time", "current_datetime")

Clock = Callable[[], datetime]


class ResolvedVariable(BaseModel):
    """One variable's value and the layer that supplied it."""

    model_config = ConfigDict(frozen=True)

    name: str
    value: Any = None
    source: str = "default"

    def __init__(
        self, /, name: str = UNSET, value: Any = UNSET, source: str = UNSET, **data: Any
    ) -> None:
        super().__init__(**given(name=name, value=value, source=source), **data)


def computed_variables(now: datetime | Clock | None = None) -> dict[str, str]:
    """The computed layer at `now` (a datetime or a clock; default: the UTC clock)."""
    moment = now() if callable(now) else now if now is not None else datetime.now(UTC)
    return {
        "current_date": moment.date().isoformat(),
        "current_time": moment.strftime("%H:%M:%S"),
        "current_datetime": moment.isoformat(timespec="seconds"),
    }


def _flatten(layers: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Layers by name; a nested `{"scoped": {"project": {...}}}` becomes "scoped.project"."""
    flat: dict[str, Mapping[str, Any]] = {}
    for name, layer in layers.items():
        if layer is None:
            continue
        if not isinstance(layer, Mapping):
            raise VariablesError(
                f"variable layer {name!r} must be a mapping, not {type(layer).__name__}"
            )
        if name == "scoped" and all(isinstance(v, Mapping) for v in layer.values()):
            for scope, values in layer.items():
                flat[f"scoped.{scope}"] = values
        else:
            flat[name] = layer
    return flat


def resolve_variables(
    layers: Mapping[str, Mapping[str, Any]],
    order: Sequence[str] = DEFAULT_ORDER,
    *,
    required: Iterable[str] = (),
) -> dict[str, ResolvedVariable]:
    """Each variable's value from the highest layer that supplies it, with that layer's name.

    Only the given layers are used; a layer missing from `order` is an error (a typo
    must not silently drop values). A None value does not supply a variable. Variables
    in `required` that no layer supplies raise `MissingVariablesError` naming them all.
    """
    flat = _flatten(layers)
    unknown = [name for name in flat if name not in order]
    if unknown:
        raise VariablesError(
            f"unknown variable layers: {', '.join(unknown)}; the order is {', '.join(order)}"
        )
    resolved: dict[str, ResolvedVariable] = {}
    for source in order:
        for name, value in flat.get(source, {}).items():
            if value is not None and name not in resolved:
                resolved[name] = ResolvedVariable(name, value, source)
    require_variables(resolved, required)
    return resolved


def require_variables(resolved: Mapping[str, Any], required: Iterable[str]) -> None:
    """Raise `MissingVariablesError` naming every required variable without a value."""
    missing = [name for name in dict.fromkeys(required) if name not in resolved]
    if missing:
        raise MissingVariablesError(missing)


def variable_values(resolved: Mapping[str, ResolvedVariable]) -> dict[str, Any]:
    """Just the values of resolved variables, for rendering."""
    return {name: variable.value for name, variable in resolved.items()}
