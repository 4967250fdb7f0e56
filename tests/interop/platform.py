"""A stand-in for the one Agenta platform call a 0.9x app makes in deployed mode.

`POST /api/variants/configs/fetch` with the references the caller sent (baggage
`ag.refs.*`): the app asks the platform for the config they name. The stand-in answers
from `DEPLOYED` (application slug -> parameters) and records every request body.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEPLOYED: dict[str, dict[str, Any]] = {"capital": {"greeting": "The capital of"}}


def platform_app(seen: list[dict[str, Any]]) -> Starlette:
    """The stand-in; each config request's body is appended to `seen`."""

    async def fetch_config(request: Request) -> Response:
        refs = await request.json()
        seen.append(refs)
        slug = (refs.get("application_ref") or {}).get("slug")
        if slug not in DEPLOYED:
            return JSONResponse({"detail": "no such config"}, status_code=404)
        return JSONResponse(
            {
                "params": DEPLOYED[slug],
                "application_ref": {"slug": slug, "id": None},
                "variant_ref": {"slug": "default", "version": 1},
            }
        )

    async def anything_else(request: Request) -> Response:
        return JSONResponse({"detail": "not served by the stand-in"}, status_code=404)

    return Starlette(
        routes=[
            Route("/api/variants/configs/fetch", fetch_config, methods=["POST"]),
            Route("/{path:path}", anything_else, methods=["GET", "POST", "PUT"]),
        ]
    )
