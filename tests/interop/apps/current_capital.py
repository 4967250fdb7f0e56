"""An app as the current Agenta SDK serves it: `/invoke`, `/inspect`, no OpenAPI document.

`capital` declares its schemas; `greet` (under `/greet`) declares none, so its inputs are
the template variables of its prompt. Under `/documented`, a second SDK app with its
OpenAPI document switched on (`#/$defs/...` refs inside) serves `capital` again. Runs
inside the SDK's own virtual environment (tests/interop/sdk.py), never imported by the
test suite itself.
"""

import agenta as ag

ag.init()
app = ag.create_app()

CAPITAL_PARAMETERS = {"greeting": "The capital of"}


CAPITAL_SCHEMAS = {
    "inputs": {
        "type": "object",
        "properties": {"country": {"type": "string"}, "style": {"type": "string"}},
        "required": ["country"],
    },
    "parameters": {"type": "object", "properties": {"greeting": {"type": "string"}}},
    "outputs": {"type": "string"},
}


@ag.route("/", app=app)
@ag.application(slug="capital", parameters=CAPITAL_PARAMETERS, schemas=CAPITAL_SCHEMAS)
async def capital(country: str, style: str | None = None, parameters: dict | None = None) -> str:
    return answer(country, style, parameters)


def answer(country: str, style: str | None, parameters: dict | None) -> str:
    if country == "Atlantis":
        raise ValueError("Atlantis is not on any map")
    greeting = (parameters or CAPITAL_PARAMETERS)["greeting"]
    return f"{greeting} {country} ({style or 'plain'})"


@ag.route("/greet", app=app)
async def greet(name: str, parameters: dict | None = None) -> dict:
    messages = ((parameters or {}).get("prompt") or {}).get("messages") or []
    template = messages[0]["content"] if messages else "Hello {{name}}"
    return {"text": template.replace("{{name}}", str(name))}


documented = ag.create_app(openapi_url="/openapi.json")


@ag.route("/", app=documented)
@ag.application(slug="documented", parameters=CAPITAL_PARAMETERS, schemas=CAPITAL_SCHEMAS)
async def documented_capital(
    country: str, style: str | None = None, parameters: dict | None = None
) -> str:
    return answer(country, style, parameters)


app.mount("/documented", documented)
