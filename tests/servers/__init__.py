"""Real HTTP servers for tests, run by uvicorn in a thread on 127.0.0.1.

Fixtures (tests/servers/fixtures.py, loaded by tests/conftest.py):
- `chat_server`: an OpenAI-compatible chat completions server (`.base_url` ends in /v1);
  script replies with `chat_server.state.script(reply("Hel", "lo"), fail(429, ...))`,
  read `state.requests`, `state.disconnected`. Unscripted requests get "echo: <last user
  message>" streamed word by word.
- `app_server`: an app service with good and bad routes (tests/servers/app_service.py).
- `serve_app(app) -> url`: serve any ASGI app (e.g. `runnable.http.service.create_service(fn)`)
  for one test.
"""
