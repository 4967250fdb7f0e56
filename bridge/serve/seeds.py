"""What a new playground starts with: example prompts, an example app and evaluators.

Two example prompts show tools and structured output: `unit-converter` asks the model
to call `convert_units` (a tool of `bridge.serve.tools`), `capital-facts` asks for JSON
that fits a schema.

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

CAPITAL_FACTS_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "capital_facts",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "country": {"type": "string"},
                "capital": {"type": "string"},
                "population": {"type": "integer", "minimum": 0},
            },
            "required": ["country", "capital", "population"],
            "additionalProperties": False,
        },
    },
}
"""The response format of the `capital-facts` example prompt."""

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
    "unit-converter": {
        "name": "Unit converter (tool)",
        "messages": [
            {
                "role": "system",
                "content": "You convert units. Always call the convert_units tool for the "
                "arithmetic, then give the result in one short sentence.",
            },
            {
                "role": "user",
                "content": "Convert {{value}} {{from_unit}} to {{to_unit}} with convert_units "
                "(value={{value}} from_unit={{from_unit}} to_unit={{to_unit}}).",
            },
        ],
        "variable_defaults": {"value": "10", "from_unit": "km", "to_unit": "mi"},
    },
    "capital-facts": {
        "name": "Capital facts (JSON)",
        "messages": [
            {"role": "system", "content": "You answer with facts, as JSON that fits the schema."},
            {
                "role": "user",
                "content": "The capital of {{country}} and its population (country={{country}}).",
            },
        ],
        "settings": {"response_format": CAPITAL_FACTS_FORMAT},
    },
}
"""Example prompts: `greeter` (every input has a default), `summarize` (`text` is required),
`unit-converter` (the model calls the `convert_units` tool), `capital-facts` (a
`json_schema` response format: structured output with output ports)."""

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
