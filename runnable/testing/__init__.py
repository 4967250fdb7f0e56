"""Real stand-ins for tests, benchmarks and offline use.

`ChatCompletionsApp` is an OpenAI-compatible chat completions server (a plain ASGI app)
that speaks the protocol faithfully: SSE chunks, usage, error bodies, `Retry-After`.
Script its replies with `ChatServerState.script(reply(...), fail(...))`; unscripted
requests get the offline `echo` model's answer (`runnable.testing.echo`: "echo: <last
user message>" streamed word by word, tool calls for the tools a message names, JSON
that fits a `json_schema` response format). Serve it with `runnable.http.serving.serve_in_thread`.
"""

from runnable.testing.openai_chat import (
    ChatCompletionsApp,
    ChatServerState,
    RecordedRequest,
    Reply,
    ScriptedToolCall,
    fail,
    reply,
    tool_call,
    tool_calls_reply,
)

__all__ = [
    "ChatCompletionsApp",
    "ChatServerState",
    "RecordedRequest",
    "Reply",
    "ScriptedToolCall",
    "fail",
    "reply",
    "tool_call",
    "tool_calls_reply",
]
