"""Input mappings: where a node's inputs come from, found by path, matched by name.

A mapping path reads a value: its first segment picks the source (`testcase`, `output` or
`outputs`, else a key of the source output), the rest walk dicts, attributes and list
indices. `$.` is accepted as a prefix. Dunder names are refused everywhere.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from runnable.errors import MappingPathError

__all__ = [
    "MISSING",
    "InputMapping",
    "MappingSource",
    "MappingStatus",
    "auto_map_inputs",
    "parse_mapping_path",
    "read_mapping_path",
]

MappingStatus = Literal["valid", "unmapped", "ambiguous"]
PathSegment = str | int

MISSING: Any = object()
"""The value of a path that finds nothing."""
_SEGMENT = re.compile(r"(?:^|\.)([^.\[\]]+)|\[(-?\d+)\]|\[(['\"])(.*?)\3\]")


def _check_name(name: str, path: str) -> None:
    if name.startswith("__"):
        raise MappingPathError(path, f"the name {name!r} is refused (dunder names are unsafe)")


@lru_cache(maxsize=4096)
def parse_mapping_path(path: str) -> tuple[PathSegment, ...]:
    """Split a mapping path (`outputs.items[0].name`, `$.testcase.x`) into its segments.

    A leading `$` or `$.` is dropped; `[n]` is a list index, `["a.b"]` a quoted key. A
    path that is empty, malformed, or that names a dunder (`__proto__`, `__class__`)
    raises `MappingPathError`.
    """
    text = path.strip()
    if text.startswith("$"):
        text = text[2:] if text.startswith("$.") else text[1:]
    if not text:
        raise MappingPathError(path, "the path is empty")
    segments: list[PathSegment] = []
    pos = 0
    while pos < len(text):
        match = _SEGMENT.match(text, pos)
        if match is None or match.end() == pos or (pos == 0 and text.startswith(".")):
            raise MappingPathError(path, f"malformed at character {pos + 1} of {text!r}")
        name, index, _, quoted = match.groups()
        if index is not None:
            segments.append(int(index))
        else:
            key = name if name is not None else quoted
            _check_name(key, path)
            segments.append(key)
        pos = match.end()
    return tuple(segments)


UNSET: Any = object()
"""Marks a constructor argument that was not given (so pydantic applies its default)."""


def given(**arguments: Any) -> dict[str, Any]:
    """The arguments that are not `UNSET`: lets models take their fields positionally."""
    return {name: value for name, value in arguments.items() if value is not UNSET}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class MappingSource(_Frozen):
    """A value a mapping may read: its path, and the key and label it is known by."""

    path: str
    key: str | None = None
    label: str | None = None

    def __init__(
        self, /, path: str = UNSET, key: str | None = UNSET, label: str | None = UNSET, **data: Any
    ) -> None:
        super().__init__(**given(path=path, key=key, label=label), **data)

    @field_validator("path")
    @classmethod
    def _valid_path(cls, value: str) -> str:
        parse_mapping_path(value)
        return value


class InputMapping(_Frozen):
    """Where one input of a target node comes from."""

    target_key: str = Field(validation_alias=AliasChoices("target_key", "targetKey"))
    source_path: str | None = Field(
        default=None, validation_alias=AliasChoices("source_path", "sourcePath")
    )
    status: MappingStatus = "valid"
    is_auto_mapped: bool = Field(
        default=False, validation_alias=AliasChoices("is_auto_mapped", "isAutoMapped")
    )
    key_in_object: str | None = Field(
        default=None, validation_alias=AliasChoices("key_in_object", "keyInObject")
    )
    candidates: tuple[str, ...] = ()

    def __init__(
        self,
        /,
        target_key: str = UNSET,
        source_path: str | None = UNSET,
        status: MappingStatus = UNSET,
        is_auto_mapped: bool = UNSET,
        key_in_object: str | None = UNSET,
        candidates: Iterable[str] = UNSET,
        **data: Any,
    ) -> None:
        fields = given(
            target_key=target_key,
            source_path=source_path,
            status=status,
            is_auto_mapped=is_auto_mapped,
            key_in_object=key_in_object,
            candidates=candidates,
        )
        super().__init__(**fields, **data)

    @model_validator(mode="after")
    def _safe_names(self) -> "InputMapping":
        for name in (self.target_key, self.key_in_object):
            if name is not None:
                _check_name(name, name)
        if self.source_path is not None:
            parse_mapping_path(self.source_path)
        return self


def _source_of(value: MappingSource | Mapping[str, Any] | str) -> MappingSource:
    if isinstance(value, MappingSource):
        return value
    if isinstance(value, str):
        return MappingSource(value)
    return MappingSource.model_validate(value)


def _target_key(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return str(value["key"])
    return str(value.key)


def auto_map_inputs(
    target_keys: Iterable[Any], sources: Iterable[MappingSource | Mapping[str, Any] | str]
) -> list[InputMapping]:
    """One mapping per target, in order: `valid`, `ambiguous` or `unmapped`.

    A source fits a target when its key (best), its label, or the last segment of its
    path (weakest) equals the target ignoring case; only the best kind of fit counts.
    Targets may be keys, ports (anything with `.key`) or dicts with a "key".
    """
    # rank 0: key, 1: label, 2: last path segment
    fits: list[dict[str, list[str]]] = [{}, {}, {}]
    for source in map(_source_of, sources):
        last = str(parse_mapping_path(source.path)[-1])
        for rank, name in enumerate((source.key, source.label, last)):
            if name is not None:
                fits[rank].setdefault(name.casefold(), []).append(source.path)
    mappings = []
    for key in map(_target_key, target_keys):
        folded = key.casefold()
        paths: list[str] = []
        for by_name in fits:
            paths = list(dict.fromkeys(by_name.get(folded, ())))
            if paths:
                break
        if len(paths) == 1:
            mappings.append(InputMapping(key, paths[0], is_auto_mapped=True))
        elif paths:
            mappings.append(InputMapping(key, status="ambiguous", candidates=tuple(paths)))
        else:
            mappings.append(InputMapping(key, status="unmapped"))
    return mappings


def _step(value: Any, segment: PathSegment) -> Any:
    if isinstance(value, Mapping):
        return value.get(segment, MISSING)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        try:
            return value[int(segment)]
        except (ValueError, IndexError):
            return MISSING
    if isinstance(segment, str) and not segment.startswith("_"):
        found = getattr(value, segment, MISSING)
        # Methods are behaviour, not data: a path never calls or returns them.
        return MISSING if callable(found) else found
    return MISSING


def _has_key(value: Any, key: str) -> bool:
    if isinstance(value, Mapping):
        return key in value
    return hasattr(value, key)


def read_mapping_path(
    path: str, output: Any, testcase: Any = MISSING, *, strict: bool = False
) -> Any:
    """The value at `path` in a source `output` or the `testcase` row, else `MISSING`."""
    segments = parse_mapping_path(path)
    head = segments[0]
    if head == "testcase":
        value, rest = testcase, segments[1:]
    elif head in ("output", "outputs"):
        value, rest = output, segments[1:]
        if rest == ("output",) and output is not MISSING and not _has_key(output, "output"):
            # A non-object output is ONE port named `output` (see output_ports_from_schema):
            # `outputs.output` of a plain string or list is that whole output.
            rest = ()
    else:
        value, rest = output, segments
    for walked, segment in enumerate(rest):
        if value is MISSING:
            break
        value = _step(value, segment)
        if value is MISSING and strict:
            where = ".".join(map(str, segments[: len(segments) - len(rest) + walked + 1]))
            raise MappingPathError(path, f"nothing at {where!r}")
    if value is MISSING and strict:
        raise MappingPathError(path, "its source has no value")
    return value
