"""Template variable extraction on adversarial text: linear time, side by side with the
patterns and tokenizer it replaced.

    python benchmarks/templates.py           # 100 KB texts, best of 5, a markdown report
    python benchmarks/templates.py --quick   # 10 KB texts, best of 2 (a smoke run)

Each text is built to hurt a scanner: an unclosed `{{` followed by spaces (the old
`curly` pattern backtracked cubically on it), runs of opening braces, tags, strings and
brackets that never close, and ordinary tags, blocks and expressions packed end to end.
Every format extracts every whole text. A second table gives the same kinds of text
where no tag repeats (each names a new variable), which the jinja2 scanner's reuse of
what it made of a tag cannot shorten; a third, jinja2 blocks nested deep (past where the
scanner reads them flat), each tag naming a new variable. The old curly pattern,
chevron-blue's tokenizer and jinja2's own parser (the jinja2 extraction before
`jinja_names`) run on the same kind of text at sizes they can finish, to show what the
linear scanners removed.
Timing is CPU time of this process (the machine is shared), best of the repetitions,
with the garbage collector off.
"""

from __future__ import annotations

import argparse
import gc
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chevron_blue.tokenizer import tokenize  # type: ignore[import-untyped]
from jinja2 import meta

from runnable.template_engines import jinja
from runnable.templates import FORMATS, check_template, extract_variables

TARGET_MS = 50.0
OLD_CURLY = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def adversarial(size: int) -> dict[str, str]:
    """Texts of `size` characters built to make a scanner backtrack or rescan."""

    def fill(unit: str, head: str = "") -> str:
        return (head + unit * (size // len(unit) + 1))[:size]

    return {
        "unclosed {{ then spaces": fill(" ", "{{"),
        "{{ a  repeated, never closed": fill("{{ a "),
        "opening braces only": fill("{"),
        "{{ a } repeated (half-closed)": fill("{{ a }"),
        "{{#a}} sections, never closed": fill("{{#a}}"),
        "{% if %} blocks, never closed": fill("{% if a %}"),
        "ordinary tags end to end": fill("{{ a }} "),
        "strings that never close": fill("{{ '\\'"),
        "brackets that never close": fill("{{ (["),
        "blocks and filters, closed": fill(
            "{% for x in y %}{% if x %}{{ x.a|upper }}{% endif %}{% endfor %}"
        ),
        "calls, filters, items": fill("{{ f(a, b=c)|default(d) ~ e[0] }} "),
    }


def numbered(size: int) -> dict[str, str]:
    """Texts of `size` characters where no tag repeats (each names a new variable): what
    a reader that keeps what it made of a tag cannot reuse."""

    def fill(unit: str) -> str:
        pieces, total = [], 0
        while total < size:
            pieces.append(unit.format(n=len(pieces)))
            total += len(pieces[-1])
        return "".join(pieces)[:size]

    return {
        "{{ aN } half-closed, each name new": fill("{{{{ a{n} }}"),
        "{{ aN  never closed, each name new": fill("{{{{ a{n} "),
        "{{ aN }} ordinary, each name new": fill("{{{{ a{n} }}}} "),
        "{% if aN %} never closed, each new": fill("{{% if a{n} %}}"),
        "calls, filters, items, each new": fill("{{{{ f{n}(a, b=c)|default(d) ~ e[0] }}}} "),
        "blocks and filters, each new": fill(
            "{{% for x in y{n} %}}{{% if x %}}{{{{ x.a|upper }}}}{{% endif %}}{{% endfor %}}"
        ),
    }


def nested(size: int) -> dict[str, str]:
    """Texts of `size` characters whose blocks nest deep (past 256, where the jinja2
    scanner reads them flat), each tag naming a new variable: what costs a scanner that
    probes or merges every enclosing scope."""

    def fill(head: str, unit: str, tail: str = "") -> str:
        pieces, total = [head], len(head) + len(tail)
        while total < size:
            pieces.append(unit.format(n=len(pieces)))
            total += len(pieces[-1])
        return "".join(pieces)[: size - len(tail)] + tail

    return {
        "256 loops deep, then new names": fill("{% for x in y %}" * 256, "{{{{ a{n} }}}}"),
        "256 ifs deep, then new sets": fill("{% if a %}" * 256, "{{% set s{n} = 1 %}}"),
        "if, set: nested, each new": fill("", "{{% if a{n} %}}{{% set s{n} = 1 %}}"),
        "for, set: nested, each new": fill("", "{{% for x in a{n} %}}{{% set s{n} = x %}}"),
        "with: nested, each new": fill("", "{{% with w{n} = 1 %}}{{{{ w{n} ~ q{n} }}}}"),
        "256 loops deep, names, loop at end": fill(
            "{% for x in y %}" * 256, "{{{{ a{n} }}}}", "{{ loop }}"
        ),
        "256 macros deep, names, caller at end": fill(
            "{% macro m() %}" * 256, "{{{{ a{n} }}}}", "{{ caller }}"
        ),
    }


def best_ms(work: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` runs of `work`, in milliseconds."""
    gc.disable()
    try:
        best = float("inf")
        for _ in range(repeat):
            started = time.process_time()
            work()
            best = min(best, time.process_time() - started)
        return best * 1000
    finally:
        gc.enable()


def jinja2_parser_variables(text: str) -> set[str]:
    """The jinja2 extraction before the scanner: jinja2's lexer, parser and compiler."""
    return meta.find_undeclared_variables(jinja._JINJA.parse(text))


def checked(text: str) -> None:
    """`check_template` as a first read does it (it caches what it compiled)."""
    jinja._compiled_or_error.cache_clear()
    check_template(text, "jinja2")


def extraction_table(texts: dict[str, str], repeat: int) -> tuple[list[str], dict[str, float]]:
    """Markdown rows: each text x each format; and the slowest time of each format."""
    rows = ["| text | " + " | ".join(FORMATS) + " |", "|---|" + "---:|" * len(FORMATS)]
    slowest = dict.fromkeys(FORMATS, 0.0)
    for name, text in texts.items():
        cells = []
        for format in FORMATS:
            ms = best_ms(lambda t=text, f=format: extract_variables(t, f), repeat)
            slowest[format] = max(slowest[format], ms)
            cells.append(f"{ms:.2f}")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows, slowest


def curly_growth(sizes: list[int]) -> list[str]:
    """Markdown rows: the old curly pattern against the new one on an unclosed `{{`."""
    rows = ["| size | old curly pattern | curly now | ratio |", "|---:|---:|---:|---:|"]
    for size in sizes:
        text = "{{" + " " * (size - 2)
        old = best_ms(lambda t=text: list(OLD_CURLY.finditer(t)), 1)  # cubic: one run
        new = best_ms(lambda t=text: extract_variables(t, "curly"), 5)
        rows.append(f"| {size:,} | {old:.2f} | {new:.3f} | {old / max(new, 1e-6):,.0f}x |")
    return rows


def mustache_growth(sizes: list[int], repeat: int) -> list[str]:
    """Markdown rows: chevron-blue's tokenizer against the linear one on packed tags."""
    rows = [
        "| size | chevron-blue tokenizer | mustache now | ratio |",
        "|---:|---:|---:|---:|",
    ]
    for size in sizes:
        text = ("{{ a }} " * (size // 8 + 1))[:size]
        chevron = best_ms(lambda t=text: list(tokenize(t)), repeat)
        now = best_ms(lambda t=text: extract_variables(t, "mustache"), repeat)
        rows.append(f"| {size:,} | {chevron:.2f} | {now:.2f} | {chevron / max(now, 1e-6):.1f}x |")
    return rows


def jinja2_growth(sizes: list[int], repeat: int) -> list[str]:
    """Markdown rows: jinja2's parser (the old extraction) against the scanner, and what
    `check_template` (jinja2's parse and compile, still needed for errors) costs."""
    rows = [
        "| text | size | jinja2 parser + meta | scanner | ratio | check_template |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    units = {
        "ordinary tags": "{{ a }} ",
        "blocks and filters": adversarial(64)["blocks and filters, closed"],
    }
    for name, unit in units.items():
        for size in sizes:
            text = (unit * (size // len(unit) + 1))[:size]
            text = text[: text.rfind("}") + 1]  # whole tags: jinja2 must accept it
            if name == "blocks and filters":
                text = text[: text.rfind("{% endfor %}") + len("{% endfor %}")]
            old = best_ms(lambda t=text: jinja2_parser_variables(t), 1 if size > 20_000 else repeat)
            new = best_ms(lambda t=text: extract_variables(t, "jinja2"), repeat)
            check = best_ms(lambda t=text: checked(t), 1) if size <= 20_000 else float("nan")
            check_cell = f"{check:.1f}" if check == check else "refused (max_jinja2_chars)"
            rows.append(
                f"| {name} | {size:,} | {old:.1f} | {new:.2f} | {old / max(new, 1e-6):.1f}x "
                f"| {check_cell} |"
            )
    return rows


def print_verdicts(slowest: dict[str, float]) -> None:
    """Each format's slowest time against the target."""
    for format, ms in slowest.items():
        verdict = "under" if ms < TARGET_MS else "OVER"
        print(f"\n{format}: slowest {ms:.2f} ms ({verdict} the {TARGET_MS:.0f} ms target)", end="")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 KB texts, best of 2")
    args = parser.parse_args(argv)
    size, repeat = (10_000, 2) if args.quick else (100_000, 5)
    curly_sizes = [200, 400] if args.quick else [200, 400, 800, 1_600]
    mustache_sizes = [10_000, 20_000] if args.quick else [25_000, 100_000, 400_000, 1_000_000]
    jinja2_sizes = [2_000, 5_000] if args.quick else [5_000, 20_000, 100_000]
    print(f"# Template extraction on adversarial text ({size:,} characters)\n")
    version = f"Python {platform.python_version()} on {platform.machine()}"
    print(f"{version}; ms of CPU, best of {repeat}.\n")
    rows, slowest = extraction_table(adversarial(size), repeat)
    print("\n".join(rows))
    print_verdicts(slowest)
    print("\n\n## The same kinds of text, no tag repeated (each names a new variable)\n")
    rows, slowest = extraction_table(numbered(size), repeat)
    print("\n".join(rows))
    print_verdicts(slowest)
    print("\n\n## Blocks nested deep, each tag naming a new variable\n")
    rows, slowest = extraction_table(nested(size), repeat)
    print("\n".join(rows))
    print_verdicts(slowest)
    print("\n\n## The old curly pattern (cubic) against the new one\n")
    print("\n".join(curly_growth(curly_sizes)))
    print("\n## chevron-blue's tokenizer (quadratic) against the linear one\n")
    print("\n".join(mustache_growth(mustache_sizes, 1 if not args.quick else repeat)))
    print("\n## jinja2's parser (the old jinja2 extraction) against the scanner\n")
    print("\n".join(jinja2_growth(jinja2_sizes, repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
