"""The error family of the `runnable` package.

Every error raised on purpose by `runnable` derives from `RunnableError`, so a caller can
catch the base. Errors caused by bad input also derive from `ValueError`.

```
RunnableError
├── InvalidRefError                 a runnable ref that is not "kind:id"
├── TemplateError                   a template that cannot be parsed or rendered
│   ├── UnsupportedTemplateFormatError
│   └── MissingTemplateVariablesError   strict render without some variables
├── SchemaError                     a schema that is not a JSON schema
├── InputValidationError            inputs that do not satisfy their ports
├── OpenAPIError                    an OpenAPI document that cannot be read
├── ChainError
│   ├── ChainCycleError             a chain whose connections form a cycle
│   └── MappingPathError            an input-mapping path that is malformed or unknown
├── VariablesError                  variable layers that cannot be resolved
│   └── MissingVariablesError       required variables that no layer supplies
└── MessageError                    chat messages or resources that cannot be built
```
"""

from collections.abc import Mapping, Sequence

__all__ = [
    "ChainCycleError",
    "ChainError",
    "InputValidationError",
    "InvalidRefError",
    "MappingPathError",
    "MessageError",
    "MissingTemplateVariablesError",
    "MissingVariablesError",
    "OpenAPIError",
    "RunnableError",
    "SchemaError",
    "TemplateError",
    "UnsupportedTemplateFormatError",
    "VariablesError",
]


class RunnableError(Exception):
    """Base class of every error the `runnable` package raises on purpose."""


class InvalidRefError(RunnableError, ValueError):
    """A runnable reference that is not a kind and an id."""


class TemplateError(RunnableError, ValueError):
    """A template that cannot be parsed or rendered; names the format and the position."""

    def __init__(
        self,
        message: str,
        *,
        format: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.format = format
        self.line = line
        self.column = column
        where = ""
        if line is not None:
            where = f" at line {line}" + (f", column {column}" if column is not None else "")
        prefix = f"{format} template" if format else "template"
        super().__init__(f"{prefix}{where}: {message}")


class UnsupportedTemplateFormatError(TemplateError):
    """A template format this package does not know."""


class MissingTemplateVariablesError(TemplateError):
    """A strict render lacks values for some of the template's variables."""

    def __init__(self, missing: Sequence[str], *, format: str | None = None) -> None:
        self.missing = list(missing)
        super().__init__("missing variables: " + ", ".join(self.missing), format=format)


class SchemaError(RunnableError, ValueError):
    """A schema that is not a JSON schema (or a `$ref` that cannot be resolved)."""


class InputValidationError(RunnableError, ValueError):
    """Inputs that do not satisfy their ports; `errors` maps each bad input to its problems."""

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors = {name: list(problems) for name, problems in errors.items()}
        details = "; ".join(
            f"{name}: {', '.join(problems)}" for name, problems in self.errors.items()
        )
        super().__init__(f"invalid inputs ({', '.join(self.errors)}): {details}")


class OpenAPIError(RunnableError, ValueError):
    """An OpenAPI document that cannot be read as a runnable's interface."""


class ChainError(RunnableError):
    """A chain that cannot be planned or whose inputs cannot be resolved."""


class ChainCycleError(ChainError, ValueError):
    """The connections of a chain form a cycle; `cycle` lists its node ids in order."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = list(cycle)
        path = " -> ".join([*self.cycle, self.cycle[0]]) if self.cycle else "?"
        super().__init__(f"chain has a cycle: {path}")


class MappingPathError(ChainError, ValueError):
    """An input-mapping path that is malformed, refused, or (when strict) finds nothing."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"mapping path {path!r}: {problem}")


class VariablesError(RunnableError, ValueError):
    """Variable layers that cannot be resolved (an unknown layer, a layer that is no mapping)."""


class MissingVariablesError(VariablesError):
    """Required variables that no layer supplies; `missing` names every one of them."""

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = list(missing)
        super().__init__("missing required variables: " + ", ".join(self.missing))


class MessageError(RunnableError, ValueError):
    """Chat messages or resources that cannot be turned into a provider request."""
