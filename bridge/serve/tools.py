"""The tools the playground offers its prompts and conversations: small, real functions.

- `convert_units(value, from_unit, to_unit)`: lengths, masses and temperatures. Units it
  does not know, or of two different quantities, raise `ValueError` (the model reads
  the error in the call's answer).
- `save_note(text)`: keeps a note in this server's memory; it requires a person's
  approval, so a conversation pauses until someone approves or denies the call (a run,
  where nobody can, answers the model that it needs approval).

The offline `echo` model calls a tool when the user's message names it, with the
message's `name=value` words as arguments (`runnable.testing.echo`).
"""

from __future__ import annotations

from collections.abc import Callable

from runnable.tools import ToolRegistry

__all__ = ["UNITS", "playground_tools"]

# Each unit: its quantity, and the functions to and from that quantity's base unit.
UNITS: dict[str, tuple[str, Callable[[float], float], Callable[[float], float]]] = {
    "m": ("length", lambda v: v, lambda v: v),
    "km": ("length", lambda v: v * 1000, lambda v: v / 1000),
    "cm": ("length", lambda v: v / 100, lambda v: v * 100),
    "mi": ("length", lambda v: v * 1609.344, lambda v: v / 1609.344),
    "ft": ("length", lambda v: v * 0.3048, lambda v: v / 0.3048),
    "in": ("length", lambda v: v * 0.0254, lambda v: v / 0.0254),
    "kg": ("mass", lambda v: v, lambda v: v),
    "g": ("mass", lambda v: v / 1000, lambda v: v * 1000),
    "lb": ("mass", lambda v: v * 0.45359237, lambda v: v / 0.45359237),
    "oz": ("mass", lambda v: v * 0.028349523125, lambda v: v / 0.028349523125),
    "C": ("temperature", lambda v: v, lambda v: v),
    "F": ("temperature", lambda v: (v - 32) * 5 / 9, lambda v: v * 9 / 5 + 32),
    "K": ("temperature", lambda v: v - 273.15, lambda v: v + 273.15),
}


def _unit(name: str) -> tuple[str, Callable[[float], float], Callable[[float], float]]:
    found = UNITS.get(name) or UNITS.get(name.lower()) or UNITS.get(name.upper())
    if found is None:
        raise ValueError(f"unknown unit {name!r}; the units are: {', '.join(UNITS)}")
    return found


def convert_units(value: float, from_unit: str, to_unit: str) -> dict[str, float | str]:
    """Convert a length, mass or temperature from one unit to another."""
    source, to_base, _ = _unit(from_unit)
    target, _, from_base = _unit(to_unit)
    if source != target:
        raise ValueError(f"cannot convert a {source} ({from_unit}) to a {target} ({to_unit})")
    return {"value": round(from_base(to_base(value)), 6), "unit": to_unit}


def playground_tools() -> ToolRegistry:
    """A registry of the playground's tools (see the module docstring); notes per registry."""
    tools = ToolRegistry()
    tools.register(convert_units)
    notes: list[str] = []

    @tools.register(requires_approval=True)
    def save_note(text: str) -> str:
        """Save a note on the server (a person approves each one)."""
        notes.append(text)
        return f"saved note {len(notes)}: {text}"

    return tools
