"""The demo's two runnable services, plain functions served with `runnable.service`."""

from __future__ import annotations

import asyncio
import difflib
from typing import Any

from runnable.service import create_service

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
    score = difflib.SequenceMatcher(None, output.lower(), correct_answer.lower()).ratio()
    return {"score": round(score, 3), "success": score >= 0.8}


def app_service() -> Any:
    """The app: one function served at the root (/run, /test, /openapi.json)."""
    return create_service(capital, title="Capitals app")


def evaluator_service() -> Any:
    """The evaluator service: `similarity` served under /similarity."""
    return create_service({"similarity": similarity}, title="Demo evaluators")
