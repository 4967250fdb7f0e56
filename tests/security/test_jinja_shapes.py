"""The jinja2 scanner reads a tag by its shape (its content with the plain names taken
out) and puts each tag's own names back: held to jinja2 on texts that repeat shapes with
new names, and on blocks nested as deep as jinja2 parses (and deeper, linearly)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from runnable.template_engines import jinja, jinja_names
from runnable.template_engines.jinja_shapes import canonical, split
from tests.security.jinja_reference import reference_variables
from tests.security.test_jinja_extraction import TEMPLATES

GLOBALS = frozenset(jinja._JINJA.globals)

# The plain names the generated templates use, and what a copy may call them instead:
# fresh names, the same ones, special names (their scoping differs), a keyword (mostly
# refused by jinja2), a name past ASCII (kept literally in a shape).
_RENAMED = re.compile(r"\b(a|b|c|x|y|item|ns|odd|upper|range)\b")
NEW_NAMES = st.sampled_from(
    [
        *("a", "b", "x", "item", "a1", "b22", "z9", "_q", "endless", "data", "loop"),
        *("caller", "kwargs", "self", "range", "in", "é", "naïve", "a_é"),
    ]
)
RENAMINGS = st.dictionaries(
    st.sampled_from(["a", "b", "c", "x", "y", "item", "ns", "odd", "upper", "range"]),
    NEW_NAMES,
)


def _renamed(text: str, renaming: dict[str, str]) -> str:
    return _RENAMED.sub(lambda m: renaming.get(m.group(), m.group()), text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=TEMPLATES, renamings=st.lists(RENAMINGS, min_size=1, max_size=4))
def test_copies_of_a_template_with_other_names_read_as_jinja2_reads_them(
    template: str, renamings: list[dict[str, str]]
) -> None:
    text = template + "".join(_renamed(template, renaming) for renaming in renamings)
    expected = reference_variables(text)
    event("jinja2 accepts" if expected is not None else "jinja2 refuses")
    found = jinja_names.variables(text, GLOBALS)
    if expected is not None:
        assert found == expected


@settings(max_examples=200, deadline=None)
@given(
    unit=st.sampled_from(
        [
            "{{{{ f{n}(a{n}, b=c)|default(d{n}) ~ e[{n}] }}}}",
            "{{% for x in y{n} %}}{{{{ x.a|upper ~ loop.index ~ z{n} }}}}{{% endfor %}}",
            "{{% set s{n} = t{n} %}}{{{{ s{n} ~ s{m} }}}}",
            "{{% if a{n} is divisibleby b{m} %}}{{{{ 'x{n}' ~ c{m} }}}}{{% endif %}}",
            "{{% with w{n} = v{m} %}}{{{{ w{n} ~ w{m} }}}}{{% endwith %}}",
            "{{% macro m{n}(p{n}, q=r{m}) %}}{{{{ p{n} ~ caller() }}}}{{% endmacro %}}",
            "{{{{ {n}e5 ~ 1e{n} ~ a{n}.b{m} }}}}",
        ]
    ),
    numbers=st.lists(st.integers(0, 5), min_size=1, max_size=12),
)
def test_tags_of_one_shape_with_many_names_read_as_jinja2_reads_them(
    unit: str, numbers: list[int]
) -> None:
    text = "".join(unit.format(n=n, m=(n * 7) % 4) for n in numbers)
    expected = reference_variables(text)
    assert expected is not None
    assert jinja_names.variables(text, GLOBALS) == expected


@pytest.mark.parametrize(
    ("content", "names"),
    [
        (" f1(a, b=c)|default(d) ~ e[0] ", ["f1", "a", "b", "c", "default", "d", "e"]),
        (" if x is not none and loop.index in y ", ["x", "index", "y"]),
        (" endfor ", []),  # an end tag's name is kept
        (" 1e5 + a1 - 0x1f ", ["a1"]),  # numbers stay whole
        (" 'it is' ~ naïve ~ aé ", ["it"]),  # `is` kept; names past ASCII kept
    ],
)
def test_a_shape_takes_out_the_plain_names_only(content: str, names: list[str]) -> None:
    key, pieces, found = split(content)
    assert found == names
    assert canonical(pieces).count("_") >= len(names)
    assert split(re.sub(r"\b[a-z]\d\b", "q9", content))[0] == key or not names


@pytest.mark.parametrize(
    "text",
    ["{{ }}{{ }}", "{{ a }}{{ }}{{ a", "{{ -}}{{ }", "{{ }}{{ a }}{{ }}", "{% %}{{ }}{% if %}"],
)
def test_tags_with_no_tokens_among_others_read_nothing(text: str) -> None:
    expected = reference_variables(text)
    found = jinja_names.variables(text, GLOBALS)
    assert found == (expected if expected is not None else found)
    assert set(found) <= {"a"}


def test_contents_that_hold_the_mark_never_share_a_shape_with_plain_contents() -> None:
    marked, _, _ = split("\x00 \x00")
    plain, _, _ = split("a b")
    assert marked != plain


def test_every_word_the_reader_compares_a_name_with_is_kept_in_shapes() -> None:
    from runnable.template_engines import jinja_shapes, jinja_statements, jinja_tags

    compared = set(jinja_tags.KEYWORDS) | set(jinja_names._BODIES) | set(jinja_statements.FLAT)
    compared |= {"scoped", "required", "import", "raw"}
    kept = {word for word in compared if not split(f" {word} ")[2]}
    assert kept == compared
    assert compared <= jinja_shapes._KEPT


# --- blocks nested deeply ---------------------------------------------------------------

# Past 32 (where the scanner used to read blocks flat), and near the deepest nesting
# jinja2 parses at Python's default recursion limit (244 for these tags).
DEEP = 40
DEEPER = 200


@pytest.mark.parametrize(
    "text",
    [
        "{% if a %}" * DEEP + "{% if deep %}{{ x }}{% endif %}" + "{% endif %}" * DEEP,
        "{% for x in y %}" * DEEP
        + "{{ x ~ z }}{% if q %}{{ loop.index }}{% endif %}"
        + "{% endfor %}" * DEEP,
        "{% with w = 1 %}" * DEEP + "{{ w ~ v }}" + "{% endwith %}" * DEEP + "{{ w }}",
        "{% if a %}" * DEEP + "{% set s = 1 %}" + "{% endif %}" * DEEP + "{{ s }}",
        "{% for x in y %}" * DEEP + "{% set s = x %}{{ s }}" + "{% endfor %}" * DEEP + "{{ s }}",
        "{% if a %}" * DEEP
        + "{% for i in j %}{% set k = i %}{% endfor %}{{ k }}"
        + "{% endif %}" * DEEP,
        "{% if a %}" * DEEP
        + "{% macro m(p) %}{{ p ~ caller() }}{% endmacro %}{{ p ~ m }}"
        + "{% endif %}" * DEEP,
        "{% for x in y %}" * DEEP
        + "{% if x %}{{ x }}{% elif e %}{{ f }}{% else %}{{ g }}"
        + "{% endif %}"
        + "{% endfor %}" * DEEP
        + "{{ loop }}",
        "{% with a = b %}" * DEEP
        + "{% filter upper %}{{ a ~ c }}{% endfilter %}"
        + "{% endwith %}" * DEEP,
    ],
)
def test_blocks_nested_deeply_read_as_jinja2_reads_them(text: str) -> None:
    expected = reference_variables(text)
    assert expected is not None
    assert jinja_names.variables(text, GLOBALS) == expected


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        ("{% if a %}{% set s = 1 %}", "{% endif %}"),
        ("{% for x in y %}{% if x %}{{ loop.index }}{% endif %}", "{% endfor %}"),
        ("{% with w = v %}{% set t = w %}", "{% endwith %}"),
    ],
)
def test_blocks_nested_as_deep_as_jinja2_parses_read_as_jinja2_reads_them(
    opening: str, closing: str
) -> None:
    text = opening * DEEPER + "{{ s ~ t ~ w ~ x ~ z }}" + closing * DEEPER + "{{ s ~ x }}"
    expected = reference_variables(text)
    assert expected is not None
    assert jinja_names.variables(text, GLOBALS) == expected


@pytest.mark.parametrize("depth", [400, 5_000])
def test_nesting_deeper_than_jinja2_parses_is_read_without_recursion_error(depth: int) -> None:
    half = depth // 2
    text = "{% for x in y %}{% if x %}" * half + "{{ x ~ z }}" + "{% endif %}{% endfor %}" * half
    assert jinja_names.variables(text, GLOBALS) == ["y", "z"]


@pytest.mark.parametrize(
    "unit",
    [
        "{% for x in y %}{{ a }}",  # loops nested deep, `loop` read at the end
        "{% macro m() %}{{ a }}",  # macros nested deep, `caller` read at the end
        "{% if a %}{% set s = 1 %}",  # branches nested deep, each defining names
        "{% with w = v %}{{ w ~ q }}",
    ],
)
def test_work_on_deep_nesting_doubles_at_most_when_the_text_doubles(unit: str) -> None:
    def work(size: int) -> int:
        text = (unit * (size // len(unit) + 1))[:size] + "{{ loop ~ caller }}"
        return jinja_names.scan(text, GLOBALS)[1]

    for size in (20_000, 40_000):
        assert work(2 * size) <= 2.2 * work(size) + 50
    # A few steps a character, however deep: not one step per enclosing block.
    assert work(40_000) <= 8 * 40_000
