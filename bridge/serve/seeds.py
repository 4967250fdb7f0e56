"""What a new playground starts with: example prompts, an example app and evaluators.

Seeds are written on first start only (when no prompt is saved yet), so a user's edits
are never overwritten. The example app is a plain function served with
`runnable.http.service.create_service` on 127.0.0.1 at a port chosen at each start;
its app revision is saved again with the current URL on every start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runnable.sources import Source

__all__ = ["EXAMPLE_APP_ID", "EXAMPLE_EVALUATORS", "EXAMPLE_PROMPTS", "seed"]

EXAMPLE_APP_ID = "capitals-app"

EXAMPLE_PROMPTS: dict[str, dict[str, Any]] = {
    "greeter": {
        "name": "Greeter",
        "messages": [
            {"role": "system", "content": "You are a friendly assistant. Keep it short."},
            {"role": "user", "content": "Say hello to {{name}} in a {{tone}} way."},
        ],
        "variable_defaults": {"name": "Ada", "tone": "cheerful"},
    },
    "summarize": {
        "name": "Summarize",
        "messages": [
            {"role": "system", "content": "You summarise text in one sentence."},
            {"role": "user", "content": "Summarise this:\n\n{{text}}"},
        ],
    },
    "capital-question": {
        "name": "Capital question",
        "messages": [{"role": "user", "content": "What is the capital of {{country}}?"}],
    },
}
"""Example prompts: `greeter` (every input has a default), `summarize` (`text` is required)."""

EXAMPLE_EVALUATORS: dict[str, dict[str, Any]] = {
    "exact-match": {
        "name": "Exact match",
        "evaluator_key": "exact_match",
        "settings": {"correct_answer_key": "correct_answer"},
    },
    "similarity": {
        "name": "Similarity",
        "evaluator_key": "similarity",
        "settings": {"correct_answer_key": "correct_answer", "threshold": 0.8},
    },
}


async def seed(sources: Mapping[str, Source], *, app_url: str | None) -> bool:
    """Write the examples into empty sources; True when this was the first start."""
    first = not await sources["prompt"].list()
    if first:
        for prompt_id, prompt in EXAMPLE_PROMPTS.items():
            await sources["prompt"].save(prompt_id, prompt)
        for evaluator_id, evaluator in EXAMPLE_EVALUATORS.items():
            await sources["evaluator_revision"].save(evaluator_id, evaluator)
    if app_url is not None:
        app = await sources["app_revision"].get(EXAMPLE_APP_ID)
        if first or app is not None:
            await sources["app_revision"].save(
                EXAMPLE_APP_ID, {**(app or {}), "name": "Capitals app", "uri": app_url}
            )
    return first
