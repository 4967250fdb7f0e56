"""Tests of template variable extraction and one-pass rendering in the four formats."""

import keyword

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runnable.errors import (
    MissingTemplateVariablesError,
    RunnableError,
    TemplateError,
    UnsupportedTemplateFormatError,
)
from runnable.templates import FORMATS, check_template, extract_variables, render

# --- extraction ----------------------------------------------------------------------------


def test_curly_is_the_default_and_keeps_first_appearance_order() -> None:
    assert extract_variables("{{b}} {{ a }} {{b}} {{c}}") == ["b", "a", "c"]


def test_curly_dotted_name_is_one_literal_name() -> None:
    assert extract_variables("Hello {{user.name}}") == ["user.name"]


def test_fstring_reads_roots_and_nested_spec_fields() -> None:
    text = "{name} {user.name!r:>{width}} {{literal}} {items[0]}"
    assert extract_variables(text, "fstring") == ["name", "user", "width", "items"]


def test_jinja2_loop_and_set_variables_are_not_inputs() -> None:
    text = "{% for x in xs %}{{ x }}{{ y.z | upper }}{% endfor %}{% set q = 1 %}{{ q }}{{ r }}"
    assert extract_variables(text, "jinja2") == ["xs", "y", "r"]


def test_jinja2_order_follows_the_text_not_the_tree() -> None:
    assert extract_variables("{{ c if d else e }}{{ a is defined }}", "jinja2") == [
        "c",
        "d",
        "e",
        "a",
    ]


def test_mustache_roots_and_sections_are_inputs_but_names_inside_sections_are_not() -> None:
    text = "{{user.name}} {{#items}}{{name}}{{/items}} {{^empty}}{{b}}{{/empty}} {{{raw}}}"
    assert extract_variables(text, "mustache") == ["user", "items", "empty", "b", "raw"]


def test_the_format_name_ignores_case() -> None:
    assert extract_variables("{{ A }}", "Jinja2") == ["A"]


def test_an_unknown_format_is_named() -> None:
    with pytest.raises(UnsupportedTemplateFormatError, match="'handlebars'"):
        extract_variables("x", "handlebars")


@pytest.mark.parametrize(
    ("text", "format", "where"),
    [
        ("Hi {{name", "curly", "line 1, column 4"),
        ("a\nb { c", "fstring", "line 2, column 3"),
        ("a\nb } c", "fstring", "line 2, column 3"),
        ("a\n{{ a b }}", "jinja2", "line 2"),
        ("a\n{% for x in y %}", "jinja2", "line 2"),
        ("x\ny {{#a}}", "mustache", "line 2"),
        ("{{a}\n", "mustache", "line"),
    ],
)
def test_a_malformed_template_names_its_format_and_position(
    text: str, format: str, where: str
) -> None:
    with pytest.raises(TemplateError, match=f"{format} template at {where}") as info:
        check_template(text, format)
    assert isinstance(info.value, RunnableError | ValueError)
    assert info.value.line is not None


@pytest.mark.parametrize(
    ("text", "format"),
    [("Hi {{name", "curly"), ("{x", "fstring"), ("{{ x", "jinja2"), ("{{#x}}", "mustache")],
)
def test_rendering_a_malformed_template_fails_naming_the_format(text: str, format: str) -> None:
    with pytest.raises(TemplateError, match=f"{format} template"):
        render(text, {"x": 1, "name": "n"}, format)


def test_fstring_positional_fields_are_refused() -> None:
    with pytest.raises(TemplateError, match="positional field"):
        check_template("{} and {0}", "fstring")


def test_mustache_partials_are_refused() -> None:
    with pytest.raises(TemplateError, match="partial"):
        check_template("{{> /etc/passwd}}", "mustache")


# --- rendering -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("format", "text"),
    [
        ("curly", "A {{x}} B {{y}}"),
        ("fstring", "A {x} B {y}"),
        ("jinja2", "A {{ x }} B {{ y }}"),
        ("mustache", "A {{x}} B {{y}}"),
    ],
)
def test_values_that_look_like_templates_stay_literal(format: str, text: str) -> None:
    variables = {"x": "{{y}} {y} \\1 \\g<0>", "y": "Y"}
    assert render(text, variables, format) == "A {{y}} {y} \\1 \\g<0> B Y"


def test_curly_reads_literal_names_then_dotted_paths() -> None:
    variables = {"user.name": "literal", "user": {"name": "nested"}, "items": ["a", "b"]}
    assert render("{{user.name}} {{items.1}}", variables) == "literal b"
    assert render("{{user.name}}", {"user": {"name": "nested"}}) == "nested"


def test_curly_missing_variables_stay_as_written() -> None:
    assert render("Hi {{ name }}!", {}) == "Hi {{ name }}!"


def test_curly_and_fstring_insert_non_strings_as_json() -> None:
    variables = {"d": {"a": [1, None]}, "flag": True}
    assert render("{{d}} {{flag}}", variables) == '{"a": [1, null]} true'
    assert render("{d}", variables, "fstring") == '{"a": [1, null]}'


def test_fstring_applies_conversions_and_nested_specs() -> None:
    variables = {"user": {"name": "Ann"}, "n": 3.14159, "w": 6}
    assert render("{user.name!r:>{w}}|{n:.2f}", variables, "fstring") == " 'Ann'|3.14"


def test_fstring_refuses_private_attributes() -> None:
    with pytest.raises(TemplateError, match="private"):
        render("{x.__class__}", {"x": 1}, "fstring")


def test_fstring_missing_field_stays_as_written() -> None:
    assert render("{a!r:>3} {b}", {"b": 1}, "fstring") == "{a!r:>3} 1"


def test_jinja2_renders_loops_filters_and_keeps_trailing_newline() -> None:
    text = "{% for x in xs %}{{ x | upper }},{% endfor %}\n"
    assert render(text, {"xs": ["a", "b"]}, "jinja2") == "A,B,\n"


def test_jinja2_renders_in_a_sandbox() -> None:
    with pytest.raises(TemplateError, match="unsafe"):
        render("{{ ''.__class__.__mro__[1].__subclasses__() }}", {}, "jinja2")


def test_mustache_does_not_html_escape_and_iterates_sections() -> None:
    variables = {"a": "<b>&", "items": [{"name": "n1"}, {"name": "n2"}]}
    assert render("{{a}} [{{#items}}{{name}};{{/items}}]", variables, "mustache") == (
        "<b>& [n1;n2;]"
    )


@pytest.mark.parametrize(
    ("format", "text"),
    [
        ("curly", "{{a}} {{b}} {{c}}"),
        ("fstring", "{a} {b} {c}"),
        ("jinja2", "{{ a }} {{ b }} {{ c }}"),
        ("mustache", "{{a}} {{b}} {{c}}"),
    ],
)
def test_strict_render_names_every_missing_variable(format: str, text: str) -> None:
    with pytest.raises(MissingTemplateVariablesError, match="missing variables: a, c") as info:
        render(text, {"b": 1}, format, strict=True)
    assert info.value.missing == ["a", "c"]


# --- properties ----------------------------------------------------------------------------

RESERVED = set(keyword.kwlist) | {"true", "false", "none", "self", "loop", "caller"}
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda n: n not in RESERVED and n.lower() not in RESERVED
)
LITERALS = st.text(alphabet="abc XYZ.,:;!?\n-_'\"()<>&", max_size=12)
PLACEHOLDER = {
    "curly": "{{%s}}",
    "fstring": "{%s}",
    "jinja2": "{{ %s }}",
    "mustache": "{{%s}}",
}


@given(
    st.sampled_from(FORMATS),
    st.lists(NAMES, min_size=0, max_size=8),
    st.lists(LITERALS, min_size=9, max_size=9),
)
def test_text_built_from_random_names_extracts_exactly_those_names(
    format: str, names: list[str], literals: list[str]
) -> None:
    text = literals[-1] + "".join(
        literal + PLACEHOLDER[format] % name for literal, name in zip(literals, names, strict=False)
    )
    assert extract_variables(text, format) == list(dict.fromkeys(names))


@given(st.sampled_from(FORMATS), st.lists(NAMES, min_size=1, max_size=5, unique=True))
def test_rendering_every_name_leaves_no_placeholder(format: str, names: list[str]) -> None:
    text = " ".join(PLACEHOLDER[format] % name for name in names)
    rendered = render(text, {name: f"<{name}>" for name in names}, format)
    assert rendered == " ".join(f"<{name}>" for name in names)


def test_a_stray_curly_opener_before_a_complete_tag_is_an_error_and_the_tags_stay() -> None:
    text = "Answer as {{city}} and {{\n{{text}}"
    with pytest.raises(TemplateError, match="never closed") as raised:
        check_template(text, "curly")
    assert (raised.value.line, raised.value.column) == (1, 24)
    assert extract_variables(text, "curly") == ["city", "text"]
