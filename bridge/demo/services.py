"""The demo's two runnable services, plain functions served with `runnable.http.service`."""

from __future__ import annotations

import asyncio
from typing import Any

from runnable.evaluators.builtins import run_builtin_evaluator
from runnable.http.service import create_service

# A small, deliberately imperfect "model": a few answers are wrong or vague, so the
# evaluators have something to say.
_CAPITALS = {
    "france": "Paris",
    "germany": "Berlin",
    "italy": "Rome",
    "spain": "Madrid",
    "japan": "Tokyo",
    "canada": "Ottawa",
    "australia": "Sydney",
    "brazil": "Brasilia",
    "kenya": "Nairobi",
    "egypt": "Cairo",
    "india": "New Delhi",
    "switzerland": "Zurich",
}


async def capital(country: str) -> str:
    """Answer with the capital of `country` (the demo's app)."""
    await asyncio.sleep(0.05)  # a model takes a moment; the progress bar shows it
    return _CAPITALS.get(country.strip().lower(), "I do not know")


def similarity(output: str, correct_answer: str) -> dict[str, Any]:
    """Score how close `output` is to `correct_answer` (0 to 1; success from 0.8)."""
    inputs = {"output": output, "correct_answer": correct_answer}
    result = run_builtin_evaluator("similarity", inputs, {"threshold": 0.8})
    return {"score": round(float(result["score"]), 3), "success": bool(result["success"])}


def app_service() -> Any:
    """The app: one function served at the root (/run, /test, /openapi.json)."""
    return create_service(capital, title="Capitals app")


def evaluator_service() -> Any:
    """The evaluator service: `similarity` served under /similarity."""
    return create_service({"similarity": similarity}, title="Demo evaluators")
