"""An app as the Agenta SDK 0.9x serves it: `/test`, `/run`, `/openapi.json`.

Runs inside the SDK's own virtual environment (tests/interop/sdk.py), never imported by
the test suite itself.
"""

import agenta as ag
from pydantic import BaseModel

ag.init()


class CapitalConfig(BaseModel):
    greeting: str = "The capital of"


class ShoutConfig(BaseModel):
    marks: str = "!"


@ag.route("/", config_schema=CapitalConfig)
@ag.instrument()
def capital(country: str, style: str = "plain") -> str:
    config = ag.ConfigManager.get_from_route(schema=CapitalConfig)
    if country == "Atlantis":
        raise ValueError("Atlantis is not on any map")
    return f"{config.greeting} {country} ({style})"


@ag.route("/shout", config_schema=ShoutConfig)
@ag.instrument()
def shout(text: str) -> str:
    config = ag.ConfigManager.get_from_route(schema=ShoutConfig)
    return text.upper() + config.marks


app = ag.app
