"""`runnable-bridge serve`: the server and its playground on embedded defaults.

`open_playground(ServeOptions(...))` opens what the server needs (the database, the
model, the example app) and yields the ASGI app; `serve(options)` serves it with
uvicorn until stopped. See `bridge.serve.playground` for the defaults.
"""

from bridge.serve.model import ECHO_MODEL, ModelEndpoint
from bridge.serve.playground import (
    DEFAULT_DATABASE,
    ServeOptions,
    open_playground,
    playground_in_thread,
    serve,
)
from bridge.serve.seeds import EXAMPLE_APP_ID, seed

__all__ = [
    "DEFAULT_DATABASE",
    "ECHO_MODEL",
    "EXAMPLE_APP_ID",
    "ModelEndpoint",
    "ServeOptions",
    "open_playground",
    "playground_in_thread",
    "seed",
    "serve",
]
