"""Brokers: values a prompt action takes from the caller's context, through a resolver.

An action's `broker_mappings` say which variable takes which broker's value
({"customer": "crm.current_customer"}). A `BrokerResolver` looks broker ids up for a
`ScopeContext`; the project ships `MappingBrokerResolver` (a dict, or a function of the
context) and applications plug in their own. A broker that has no value, or a resolver
that fails, never stops the action: its variables fall back to lower layers, and the
action's report says which.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from molecules.engine.context import ScopeContext
from runnable.types import ErrorInfo, error_info

logger = logging.getLogger(__name__)


class BrokerResolver(Protocol):
    """Resolves broker ids for a context; ids it cannot resolve are left out of the result."""

    async def resolve(self, broker_ids: Sequence[str], context: ScopeContext) -> Mapping[str, Any]:
        """{broker_id: value} for the brokers that have a value in this context."""
        ...


BrokerValues = Mapping[str, Any]


class MappingBrokerResolver:
    """Brokers from a dict, or from `values(context)` (a plain or async function)."""

    def __init__(
        self,
        values: BrokerValues | Callable[[ScopeContext], BrokerValues | Awaitable[BrokerValues]],
    ) -> None:
        self._values = values

    async def resolve(self, broker_ids: Sequence[str], context: ScopeContext) -> Mapping[str, Any]:
        """The known values of `broker_ids` in `context`."""
        values: Any = self._values(context) if callable(self._values) else self._values
        if inspect.isawaitable(values):
            values = await values
        return {bid: values[bid] for bid in broker_ids if bid in values}


def broker_mappings(raw: object) -> dict[str, str]:
    """{variable: broker_id} from a dict, or from a list of {"variable", "broker_id"} items."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return {str(variable): str(broker) for variable, broker in raw.items()}
    if isinstance(raw, list):
        mappings: dict[str, str] = {}
        for item in raw:
            if not isinstance(item, Mapping):
                raise ValueError(f"a broker mapping must be a mapping, got {item!r}")
            variable = item.get("variable") or item.get("variable_name") or item.get("name")
            broker = item.get("broker_id") or item.get("broker")
            if not variable or not broker:
                raise ValueError(f"a broker mapping needs a variable and a broker_id: {item!r}")
            mappings[str(variable)] = str(broker)
        return mappings
    raise ValueError(f"broker_mappings must be a mapping or a list, got {type(raw).__name__}")


@attrs.frozen(slots=True)
class BrokerResolution:
    """What brokers gave: values by variable, and the variables they could not fill."""

    values: Mapping[str, Any]
    unresolved: tuple[str, ...]
    error: ErrorInfo | None = None


async def resolve_brokers(
    resolver: BrokerResolver | None, mappings: Mapping[str, str], context: ScopeContext
) -> BrokerResolution:
    """Ask the resolver for every mapped broker; a failing resolver resolves nothing."""
    if not mappings:
        return BrokerResolution({}, ())
    if resolver is None:
        error = ErrorInfo(message="no broker resolver is configured", type="EngineConfigError")
        return BrokerResolution({}, tuple(mappings), error)
    try:
        found = await resolver.resolve(sorted(set(mappings.values())), context)
    except Exception as exc:
        logger.warning("broker resolver failed for %s: %s", context, error_info(exc).message)
        return BrokerResolution({}, tuple(mappings), error_info(exc))
    values = {
        variable: found[broker]
        for variable, broker in mappings.items()
        if found.get(broker) is not None
    }
    unresolved = tuple(variable for variable in mappings if variable not in values)
    return BrokerResolution(values, unresolved)
