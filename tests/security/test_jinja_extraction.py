"""The jinja2 scanner against jinja2 itself: on every template jinja2 accepts it finds
the same variables in the same order; on any text it never raises and its work grows
linearly with the length of the text (counted in steps, not timed)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from runnable.errors import TemplateError
from runnable.template_engines import jinja, jinja_names
from runnable.templates import check_template, extract_variables
from tests.security.jinja_reference import reference_variables

GLOBALS = frozenset(jinja._JINJA.globals)

# Few names, so scopes collide: loop variables shadow inputs, sets come before and after
# reads, the special names (loop, caller, self...) and keyword-like names appear anywhere.
NAMES = st.sampled_from(
    [
        *("a", "b", "c", "x", "y", "item", "ns", "loop", "caller", "kwargs", "varargs"),
        *("self", "super", "range", "if", "in", "is", "not", "and", "else", "odd", "upper"),
    ]
)
TARGETS = st.sampled_from(["a", "b", "x", "y", "item", "loop", "caller"])
FILTERS = st.sampled_from(["upper", "default", "join", "length", "replace", "string"])
TESTS = st.sampled_from(["odd", "defined", "divisibleby", "sameas", "none", "in", "string"])
SPACE = st.sampled_from(["", " ", "  ", "\n"])


def _join(*parts: str) -> str:
    return "".join(parts)


def _expressions() -> st.SearchStrategy[str]:
    atoms = st.one_of(
        NAMES,
        st.sampled_from(["1", "2.5", "'s'", '"}}"', "'{{ q }}'", "true", "none", "[]", "{}"]),
    )

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        arguments = st.lists(
            st.one_of(inner, st.builds(lambda k, v: f"{k}={v}", TARGETS, inner)),
            max_size=3,
        ).map(lambda items: "(" + ", ".join(items) + ")")
        return st.one_of(
            st.builds(lambda e, n: f"{e}.{n}", inner, NAMES),
            st.builds(lambda e, i: f"{e}[{i}]", inner, inner),
            st.builds(lambda e, i, j: f"{e}[{i}:{j}]", inner, inner, inner),
            st.builds(lambda e, a: f"{e}{a}", inner, arguments),
            st.builds(lambda e, a: f"{e}(*{a}, **{a})", inner, inner),
            st.builds(lambda e, f: f"{e}|{f}", inner, FILTERS),
            st.builds(lambda e, f, a: f"{e}|{f}{a}", inner, FILTERS, arguments),
            st.builds(lambda e, t: f"{e} is {t}", inner, TESTS),
            st.builds(lambda e, t: f"{e} is not {t}", inner, TESTS),
            st.builds(lambda e, t, n: f"{e} is {t} {n}", inner, TESTS, NAMES),
            st.builds(lambda e, t, a: f"{e} is {t}{a}", inner, TESTS, arguments),
            st.builds(lambda op, e: f"{op}{e}", st.sampled_from(["-", "not ", "+"]), inner),
            st.builds(
                lambda a, op, b: f"{a} {op} {b}",
                inner,
                st.sampled_from(["+", "-", "*", "**", "~", "==", "<", "in", "not in", "and", "or"]),
                inner,
            ),
            st.builds(lambda a, b, c: f"{a} if {b} else {c}", inner, inner, inner),
            st.builds(lambda a, b: f"{a} if {b}", inner, inner),
            st.builds(lambda e: f"({e})", inner),
            st.builds(lambda a, b: f"({a}, {b})", inner, inner),
            st.builds(lambda a, b: f"[{a}, {b}]", inner, inner),
            st.builds(lambda k, v: f"{{{k}: {v}}}", inner, inner),
        )

    return st.recursive(atoms, grow, max_leaves=6)


EXPRESSIONS = _expressions()
TARGET_LISTS = st.one_of(
    TARGETS, st.builds(lambda a, b: f"{a}, {b}", TARGETS, TARGETS), st.just("ns.attr")
)
OPEN = st.sampled_from(["{%", "{%-", "{%+"])
CLOSE = st.sampled_from(["%}", "-%}", "+%}"])


def _tag(body: str) -> st.SearchStrategy[str]:
    return st.builds(lambda o, c: f"{o} {body} {c}", OPEN, CLOSE)


def _statements() -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.sampled_from(["text ", "\n", "{# {{ hidden }} #}", "{% raw %}{{ raw }}{% endraw %}"]),
        st.builds(lambda e, s: f"{{{{{s}{e}{s}}}}}", EXPRESSIONS, SPACE),
        st.builds(lambda t, e: f"{{% set {t} = {e} %}}", TARGET_LISTS, EXPRESSIONS),
        st.builds(lambda a, b: f"{{% print {a}, {b} %}}", EXPRESSIONS, EXPRESSIONS),
    )

    def grow(body: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        bodies = st.lists(body, max_size=3).map("".join)
        return st.one_of(
            st.builds(
                lambda t, e, b, elifs, els: (
                    f"{{% if {t} %}}{b}"
                    + "".join(f"{{% elif {c} %}}{d}" for c, d in elifs)
                    + (f"{{% else %}}{els}" if els is not None else "")
                    + "{% endif %}"
                ),
                EXPRESSIONS,
                EXPRESSIONS,
                bodies,
                st.lists(st.tuples(EXPRESSIONS, bodies), max_size=2),
                st.none() | bodies,
            ),
            st.builds(
                lambda t, it, test, rec, b, els: (
                    f"{{% for {t} in {it}{test}{rec} %}}{b}"
                    + (f"{{% else %}}{els}" if els is not None else "")
                    + "{% endfor %}"
                ),
                TARGET_LISTS,
                EXPRESSIONS,
                st.just("") | EXPRESSIONS.map(lambda e: f" if {e}"),
                st.sampled_from(["", " recursive"]),
                bodies,
                st.none() | bodies,
            ),
            st.builds(
                lambda t, e, b: f"{{% set {t} %}}{b}{{% endset %}}", TARGETS, EXPRESSIONS, bodies
            ),
            st.builds(lambda t, b: f"{{% set {t} | upper %}}{b}{{% endset %}}", TARGETS, bodies),
            st.builds(
                lambda pairs, b: (
                    "{% with "
                    + ", ".join(f"{t} = {e}" for t, e in pairs)
                    + f" %}}{b}{{% endwith %}}"
                ),
                st.lists(st.tuples(TARGETS, EXPRESSIONS), min_size=1, max_size=2),
                bodies,
            ),
            st.builds(
                lambda n, params, b: f"{{% macro {n}({params}) %}}{b}{{% endmacro %}}",
                TARGETS,
                st.lists(
                    st.one_of(TARGETS, st.builds(lambda t, e: f"{t}={e}", TARGETS, EXPRESSIONS)),
                    max_size=2,
                ).map(", ".join),
                bodies,
            ),
            st.builds(
                lambda params, call, b: f"{{% call{params} {call}() %}}{b}{{% endcall %}}",
                st.sampled_from(["", "(a)", "(x, y=b)"]),
                NAMES,
                bodies,
            ),
            st.builds(lambda b: f"{{% filter upper %}}{b}{{% endfilter %}}", bodies),
            st.builds(
                lambda e, b: f"{{% autoescape {e} %}}{b}{{% endautoescape %}}", EXPRESSIONS, bodies
            ),
            st.builds(
                lambda n, b: f"{{% block {n} %}}{b}{{% endblock %}}",
                st.sampled_from(["one", "two", "three"]),
                bodies,
            ),
        )

    return st.recursive(leaves, grow, max_leaves=8)


TEMPLATES = st.lists(_statements(), min_size=1, max_size=4).map("".join)


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEMPLATES)
def test_the_scanner_finds_what_jinja2_finds_on_every_template_jinja2_accepts(text: str) -> None:
    expected = reference_variables(text)
    event("jinja2 accepts" if expected is not None else "jinja2 refuses")
    found = jinja_names.variables(text, GLOBALS)
    if expected is not None:
        assert found == expected


# --- any text: never raises, linear work ------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        *("{", "}", "{{", "}}", "{%", "%}", "{#", "#}", "{{-", "-}}", "{%-", "-%}", "'", '"'),
        *("\\", "(", ")", "[", "]", ".", "|", ",", "=", ":", " ", "\n", "a", "b", "x", "1"),
        *("if ", "elif ", "else", "endif", "for ", " in ", "endfor", "set ", "endset", "raw"),
        *("endraw", "is ", "not ", "loop", "caller", "macro ", "m()", "endmacro", "with "),
        *("endwith", "block ", "endblock", "call ", "endcall", "filter ", "upper", "endfilter"),
    ]
)


@settings(max_examples=400, deadline=None)
@given(text=st.lists(FRAGMENTS, max_size=300).map("".join))
def test_on_any_text_the_scanner_never_raises_and_its_work_is_linear(text: str) -> None:
    names, work = jinja_names.scan(text, GLOBALS)
    assert all(isinstance(name, str) and name for name in names)
    # Each step reads a token, a statement or an event, each a bounded number of times
    # whatever the nesting: a linear bound whatever the text holds.
    assert work <= 8 * (len(text) + 1)
    assert extract_variables(text, "jinja2") == names


ADVERSARIAL_UNITS = [
    "{{ a ",  # tags that never close
    "{",  # opening braces only
    "{{ a }",  # half-closed
    "{% if a %}",  # blocks that never close
    "{{ a }} ",  # ordinary tags end to end
    "{{ '\\'",  # strings that never close
    "{# ",  # comments that never close
    "{% raw %}",  # raw blocks that never close
    "{{ ((((",  # brackets that never close
    "{% for x in y %}{% if x %}{% set z = x %}",  # scopes in scopes
    "{% macro m(a) %}{{ caller() }}{% call m(b) %}",
]


@pytest.mark.parametrize("unit", ADVERSARIAL_UNITS)
def test_work_doubles_at_most_when_an_adversarial_text_doubles(unit: str) -> None:
    def work(size: int) -> int:
        return jinja_names.scan((unit * (size // len(unit) + 1))[:size], GLOBALS)[1]

    for size in (10_000, 20_000, 40_000):
        assert work(2 * size) <= 2.2 * work(size) + 50


@pytest.mark.parametrize(
    "text",
    [
        "{{ x|nofilter }}",  # the compiler refuses it: jinja2's meta raised
        "{% block a %}{% endblock %}{% block a %}{% endblock %}",
        "{{ a" + ".b" * 3000 + " }}",  # RecursionError in jinja2's compiler
        "{{ x" + "|upper" * 3000 + " }}",
        "{% for loop in x %}{% endfor %}",
    ],
)
def test_jinja2_extraction_and_checking_raise_nothing_but_template_errors(text: str) -> None:
    assert isinstance(extract_variables(text, "jinja2"), list)
    with pytest.raises(TemplateError):
        check_template(text, "jinja2")


def test_a_100_kb_jinja2_template_is_read_whole_for_its_variables() -> None:
    text = "{{ a }} " * 12_000 + "{{ last }}"
    assert extract_variables(text, "jinja2") == ["a", "last"]


@pytest.mark.parametrize(
    "text",
    [
        # jinja2's name visitor meets a for's target before its iterable, a with's targets
        # before its values, and never a macro's name: `caller` is read first or not.
        "{% macro a() %}{% for caller in caller %}{% endfor %}{% endmacro %}",
        "{% macro m() %}{% with caller = caller %}{% endwith %}{% endmacro %}",
        "{% macro o() %}{% macro caller() %}{% endmacro %}{{ caller() }}{% endmacro %}",
        "{% macro m() %}{% for x in caller %}{% endfor %}{% endmacro %}",
        "{% macro m() %}{% call caller() %}{% endcall %}{% endmacro %}",
    ],
)
def test_a_macros_caller_is_what_jinja2_makes_of_it(text: str) -> None:
    assert jinja_names.variables(text, GLOBALS) == reference_variables(text)


def test_repeated_tags_are_read_as_once_and_a_tag_between_them_is_not_lost() -> None:
    text = "{{ a }" * 50 + "{{ b }" + "{{ a }" * 50 + "{% for a in c %}{{ a }}{% endfor %}"
    assert extract_variables(text, "jinja2") == ["a", "b", "c"]
    closed = "{{ f(x) }} " * 40 + "{% set x = 1 %}" + "{{ f(x) }} " * 40 + "{{ y }}"
    assert extract_variables(closed, "jinja2") == reference_variables(closed) == ["f", "x", "y"]
