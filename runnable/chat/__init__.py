"""Chat models: the OpenAI-compatible provider, its wire protocol, completions, prices,
the request a prompt turn sends, and prompt execution as a stream of turn events."""
