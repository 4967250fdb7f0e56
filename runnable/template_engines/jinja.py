"""The `jinja2` format, in jinja2's sandbox with resource limits.

On top of the sandbox (no private attributes, no unsafe calls): no `include`, `import`,
`from` or `extends` (a prompt never loads another template); block and bracket nesting
bounded before jinja2's recursive parser sees the text; every `for` loop and recursive
`loop()` call counted; repeated strings and lists, concatenations, powers, printf and
`str.format` widths and every call's result measured; the output streamed and measured.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sized
from functools import lru_cache
from string import Formatter
from typing import Any

from jinja2 import TemplateError as JinjaTemplateError
from jinja2 import TemplateSyntaxError, nodes
from jinja2.lexer import TokenStream
from jinja2.parser import Parser
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

from runnable.errors import TemplateError, TemplateLimitError
from runnable.template_engines import jinja_names
from runnable.template_engines.limits import (
    RenderBudget,
    TemplateLimits,
    check_format_spec,
    current_budget,
    enter_budget,
    leave_budget,
)

__all__ = ["check", "render", "variables"]

_ITERATE = "__runnable_iterate__"
_MEASURE = "__runnable_measure__"
_BLOCK_TAGS = frozenset({"if", "for", "macro", "call", "filter", "with", "block", "autoescape"})
_LOADING = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_WIDTH_FILTERS = frozenset({"center", "indent", "wordwrap", "truncate"})
_PRINTF = re.compile(r"%[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")


def _check_printf(text: str, limits: TemplateLimits) -> None:
    for width, precision in _PRINTF.findall(text):
        check_format_spec(f"{width} {precision}", limits, format="jinja2")


def _check_str_format(text: str, limits: TemplateLimits) -> None:
    try:
        fields = list(Formatter().parse(text))
    except ValueError:
        return  # str.format itself will refuse it
    for _, _, spec, _ in fields:
        check_format_spec(spec or "", limits, format="jinja2")


def _repeat_size(left: Any, right: Any) -> int | None:
    if isinstance(left, str | list | tuple) and isinstance(right, int):
        return len(left) * max(right, 0)
    if isinstance(right, str | list | tuple) and isinstance(left, int):
        return len(right) * max(left, 0)
    return None


class _LimitedEnvironment(SandboxedEnvironment):
    """The sandbox with every growing operation measured against the current budget."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = current_budget()
        budget.tick()
        if operator == "*" and (size := _repeat_size(left, right)) is not None:
            budget.check_size(size, "a repeated value")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            bits = abs(left).bit_length() * right if abs(left) > 1 else 0
            if bits > budget.limits.max_power_bits:
                raise TemplateLimitError(
                    "max_power_bits",
                    f"{left} ** {right} has about {bits} bits "
                    f"(at most {budget.limits.max_power_bits})",
                    format="jinja2",
                )
        elif operator == "%" and isinstance(left, str):
            _check_printf(left, budget.limits)
        return budget.measure(self.binop_table[operator](left, right), "a computed value")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Call from sandboxed code, with the arguments and result measured."""
        budget = current_budget()
        budget.tick()
        if isinstance(__obj, LoopContext) and args:  # a recursive loop's next level
            args = (budget.iterate(args[0]), *args[1:])
        _check_method_call(__obj, args, budget)
        result = super().call(__context, __obj, *args, **kwargs)
        return budget.measure(result, "a call's result")


def _check_method_call(obj: Any, args: tuple[Any, ...], budget: RenderBudget) -> None:
    inner = getattr(obj, "__wrapped__", obj)
    owner = getattr(inner, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(inner, "__name__", "")
    if name in ("format", "format_map"):
        _check_str_format(owner, budget.limits)
    elif name in _PADDING_METHODS:
        for arg in args:
            if isinstance(arg, int):
                budget.check_size(arg if name != "expandtabs" else arg * len(owner))
    elif name == "join" and args and isinstance(args[0], Sized):
        budget.check_size(len(owner) * len(args[0]), "a joined string")
    elif name == "replace" and len(args) >= 2 and isinstance(args[1], str):
        found = owner.count(args[0]) if args[0] else len(owner) + 1
        budget.check_size(len(owner) + found * len(args[1]), "a replaced string")


def _limited_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def limited(*args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.tick()
        values = [*args, *kwargs.values()]
        if name in _WIDTH_FILTERS:
            for value in values:
                if isinstance(value, int) and not isinstance(value, bool):
                    budget.check_size(value, f"the width given to |{name}")
        elif name == "format" and values and isinstance(values[-len(args)], str):
            _check_printf(str(values[-len(args)]), budget.limits)
        elif name in ("join", "replace"):
            strings = [v for v in values if isinstance(v, str)]
            sized = [v for v in values if isinstance(v, Sized)]
            longest = max((len(v) for v in sized), default=0)
            budget.check_size(longest * max((len(s) for s in strings), default=1), f"|{name}")
        return budget.measure(function(*args, **kwargs), f"the result of |{name}")

    return limited


def _environment() -> _LimitedEnvironment:
    env = _LimitedEnvironment(keep_trailing_newline=True, autoescape=False)
    env.filters = {name: _limited_filter(name, f) for name, f in env.filters.items()}
    env.globals.pop("lipsum", None)  # makes text out of nothing
    env.globals[_ITERATE] = lambda items: current_budget().iterate(items)
    env.globals[_MEASURE] = lambda value: current_budget().measure(value, "a concatenation")
    return env


_JINJA = _environment()
_GLOBALS = frozenset(_JINJA.globals)


class _Bounded(NodeTransformer):
    """Loops iterate through the budget; concatenations (`~`) are measured."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Call(
            nodes.Name(_ITERATE, "load", lineno=node.lineno),
            [node.iter],
            [],
            None,
            None,
            lineno=node.lineno,
        )
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        name = nodes.Name(_MEASURE, "load", lineno=node.lineno)
        return nodes.Call(name, [node], [], None, None, lineno=node.lineno)


# --- reading the text --------------------------------------------------------------------


def _syntax_error(exc: TemplateSyntaxError) -> TemplateError:
    return TemplateError(exc.message or str(exc), format="jinja2", line=exc.lineno)


def _tokens(text: str) -> tuple[list[tuple[int, str, str]], TemplateSyntaxError | None]:
    """The lexer's tokens up to the first error, and that error."""
    found: list[tuple[int, str, str]] = []
    try:
        for token in _JINJA.lex(text):
            found.append(token)
    except TemplateSyntaxError as exc:
        return found, exc
    return found, None


def _nesting_error(
    tokens: list[tuple[int, str, str]], limits: TemplateLimits
) -> TemplateLimitError | None:
    """The first place the blocks or brackets nest past the limits, if any."""
    blocks = brackets = 0
    at_tag = False
    for line, kind, value in tokens:
        if kind == "whitespace":
            continue
        if kind == "name" and at_tag:
            if value in _BLOCK_TAGS:
                blocks += 1
            elif value.startswith("end") and value != "endset":
                blocks -= 1
        elif kind == "operator" and value in "([{":
            brackets += 1
        elif kind == "operator" and value in ")]}":
            brackets -= 1
        elif kind in ("variable_end", "block_end"):
            brackets = 0
        at_tag = kind == "block_begin"
        if blocks > limits.max_nesting:
            return TemplateLimitError(
                "max_nesting",
                f"blocks nest deeper than {limits.max_nesting}",
                format="jinja2",
                line=line,
            )
        if brackets > limits.max_expression_depth:
            return TemplateLimitError(
                "max_expression_depth",
                f"brackets nest deeper than {limits.max_expression_depth}",
                format="jinja2",
                line=line,
            )
    return None


def _parse(text: str, limits: TemplateLimits) -> nodes.Template:
    """The tree of a template that passed every check."""
    tokens, lex_error = _tokens(text)
    if lex_error is not None:
        raise _syntax_error(lex_error)
    too_deep = _nesting_error(tokens, limits)
    if too_deep is not None:
        raise too_deep
    parser = Parser(_JINJA, text)
    # The text is lexed once: the parser reads the tokens already taken.
    parser.stream = TokenStream(_JINJA.lexer.wrap(iter(tokens)), None, None)
    try:
        tree = parser.parse()
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from exc
    except RecursionError:
        raise TemplateLimitError("max_nesting", "nests too deeply", format="jinja2") from None
    for node in tree.find_all(_LOADING):
        kind = type(node).__name__.lower().replace("fromimport", "from ... import")
        raise TemplateError(
            f"{{% {kind} %}} is not supported: a prompt cannot load other templates",
            format="jinja2",
            line=node.lineno,
        )
    tree.set_environment(_JINJA)
    return tree


def _too_long(text: str, limits: TemplateLimits) -> TemplateLimitError | None:
    if len(text) <= limits.max_jinja2_chars:
        return None
    # jinja2's lexer, parser and compiler cost microseconds a character: past this, the
    # template is refused at once, so no request can buy seconds of parsing.
    return TemplateLimitError(
        "max_jinja2_chars",
        f"the template is {len(text)} characters (at most {limits.max_jinja2_chars})",
        format="jinja2",
    )


def check(text: str, limits: TemplateLimits) -> None:
    """Raise `TemplateError` for a syntax error, a nesting past the limits, an include, an
    unknown filter or test: whatever jinja2's parser or compiler refuses."""
    _compiled(text, limits)


def variables(text: str, limits: TemplateLimits) -> list[str]:
    """The undeclared names in text order, read by the linear scanner (`jinja_names`),
    which gives what jinja2 gives on any template it accepts, and never raises."""
    return jinja_names.variables(text, _GLOBALS)


# --- rendering ---------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _compiled_or_error(text: str, limits: TemplateLimits) -> tuple[Any, TemplateError | None]:
    """The compiled template, or what is wrong with it (kept: a bad template is cached too)."""
    try:
        too_long = _too_long(text, limits)
        if too_long is not None:
            raise too_long
        tree = _Bounded().visit(_parse(text, limits))
        tree.set_environment(_JINJA)
        return _JINJA.from_string(tree), None
    except TemplateError as exc:
        return None, exc
    except TemplateSyntaxError as exc:  # also the compiler's: unknown filter or test...
        return None, _syntax_error(exc)
    except AssertionError as exc:  # the compiler's own bookkeeping refusing a tree
        return None, TemplateError(f"cannot compile: {exc}", format="jinja2")
    except (RecursionError, SyntaxError, MemoryError) as exc:  # Python's own nesting limits
        error = TemplateLimitError(
            "max_nesting", f"too deeply nested to compile ({type(exc).__name__})", format="jinja2"
        )
        return None, error


def _compiled(text: str, limits: TemplateLimits) -> Any:
    template, error = _compiled_or_error(text, limits)
    if error is not None:
        raise error.with_traceback(None)  # a cached error: no traceback piles up on it
    return template


def _chunks(template: Any, variables: Mapping[str, Any]) -> Iterator[str]:
    chunks: Iterator[str] = template.generate(dict(variables))
    return chunks


def render(text: str, variables: Mapping[str, Any], budget: RenderBudget) -> str:
    """The template rendered in the sandbox, within `budget`."""
    template = _compiled(text, budget.limits)
    token = enter_budget(budget)
    parts: list[str] = []
    size = 0
    try:
        for chunk in _chunks(template, variables):
            size += len(chunk)
            budget.check_size(size)
            parts.append(chunk)
    except TemplateError:
        raise
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from exc
    except JinjaTemplateError as exc:  # includes the sandbox's SecurityError
        raise TemplateError(f"{type(exc).__name__}: {exc}", format="jinja2") from exc
    except RecursionError:
        raise TemplateLimitError(
            "max_nesting", "calls recurse too deeply", format="jinja2"
        ) from None
    except (ArithmeticError, LookupError, TypeError, ValueError, MemoryError) as exc:
        raise TemplateError(f"{type(exc).__name__}: {exc}", format="jinja2") from exc
    finally:
        leave_budget(token)
    return "".join(parts)
