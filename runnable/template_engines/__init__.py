"""The template engines behind `runnable.templates`, one module each, and their limits.

`limits` holds `TemplateLimits` and the per-render budget every engine spends from;
`curly`, `fstring`, `jinja` and `mustache` each offer `variables` (lenient: never raises
on half-typed text), `check` (raises `TemplateError` naming what is wrong) and `render`.
jinja2's variables come from `jinja_names` (over `jinja_lexer`, `jinja_patterns`,
`jinja_tokens`, `jinja_shapes`, `jinja_tags`, `jinja_grammar`, `jinja_statements` and
`jinja_scopes`), a linear scanner held to jinja2's own answer by the property tests.
"""
