"""Every ```python block of the docs pages runs, in a scratch directory, and its asserts hold.

Blocks meant as illustration only use ```py or ```text and are not run. A block followed
by "It prints:" and a ```text block must print exactly that text.
"""

import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXAMPLES = [
    pytest.param(page, code, printed, id=f"{page.stem}-{i}")
    for page in sorted(DOCS.glob("*.md"))
    for i, (code, printed) in enumerate(
        re.findall(
            r"```python\n(.*?)```(?:\s*It prints:\s*```text\n(.*?)```)?",
            page.read_text("utf-8"),
            re.S,
        )
    )
]


def test_every_layer_page_has_runnable_examples() -> None:
    pages = {param.values[0].stem for param in EXAMPLES}  # type: ignore[attr-defined]
    assert {"core", "runnable", "tracking", "molecules", "bridge", "chains"} <= pages


@pytest.mark.parametrize(("page", "code", "printed"), EXAMPLES)
def test_doc_example_runs(
    page: Path, code: str, printed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, str(page), "exec"), {"__name__": "doc_example"})
    if printed:
        assert output.getvalue() == printed
