"""Normalised comparison of entity data, the rule behind `Molecule.is_dirty`.

Two values are equal when their normal forms are equal. The normal form:

- pydantic models become their JSON-mode dump (computed fields included);
- mappings have their keys sorted, and entries whose value is None, "" or missing are
  dropped, so `{"a": None}`, `{"a": ""}` and `{}` are equal (text of blanks is text);
- a string holding a JSON object or array (`'{"t": 1}'`) is parsed, so settings stored as
  text equal the same settings stored as an object;
- tuples are lists; other values are kept as they are (`1 == 1.0`, as in Python).

`exclude_fields` names fields left out of the comparison: a top-level key (`"updated_at"`)
or a dotted path into nested mappings (`"settings.seed"`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["MISSING", "canonical_json", "normalize", "normalized_equal"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""The normal form of None, "" and an absent value."""


def _split(exclude_fields: Collection[str]) -> tuple[frozenset[str], dict[str, list[str]]]:
    here: set[str] = set()
    nested: dict[str, list[str]] = {}
    for field in exclude_fields:
        head, dot, rest = field.partition(".")
        if dot and rest:
            nested.setdefault(head, []).append(rest)
        else:
            here.add(head)
    return frozenset(here), nested


def normalize(value: Any, exclude_fields: Collection[str] = ()) -> Any:
    """The normal form of `value` (see the module docstring); MISSING for None and ""."""
    kind = type(value)
    # The common JSON types first: this runs on every is_dirty after an edit.
    if kind is dict or (kind is not str and isinstance(value, Mapping)):
        return _normalize_mapping(value, exclude_fields)
    if kind is str:
        if not value:
            return MISSING
        first = value[0]
        if first in "{[" or (first.isspace() and value.lstrip()[:1] in ("{", "[")):
            try:
                parsed = json.loads(value)
            except ValueError:
                return value
            return normalize(parsed, exclude_fields)
        return value
    if kind is list or kind is tuple:
        return [normalize(item) for item in value]
    if value is None:
        return MISSING
    if isinstance(value, BaseModel):
        return normalize(value.model_dump(mode="json"), exclude_fields)
    return value


def _normalize_mapping(value: Mapping[Any, Any], exclude_fields: Collection[str]) -> Any:
    here, nested = _split(exclude_fields) if exclude_fields else (frozenset(), {})
    result: dict[str, Any] = {}
    for key in sorted(value, key=str):
        name = key if type(key) is str else str(key)
        if name in here:
            continue
        item = normalize(value[key], nested.get(name, ()) if nested else ())
        if item is not MISSING:
            result[name] = item
    return result


def normalized_equal(left: Any, right: Any, exclude_fields: Collection[str] = ()) -> bool:
    """True when `left` and `right` have the same normal form."""
    a = normalize(left, exclude_fields)
    b = normalize(right, exclude_fields)
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


def canonical_json(value: Any, exclude_fields: Collection[str] = ()) -> str:
    """The normal form as compact JSON with sorted keys (MISSING becomes null)."""
    form = normalize(value, exclude_fields)
    return json.dumps(
        None if form is MISSING else form,
        sort_keys=True,
        separators=(",", ":"),
        default=_fallback,
    )


def _fallback(value: Any) -> Any:
    if value is MISSING:
        return None
    return repr(value)
