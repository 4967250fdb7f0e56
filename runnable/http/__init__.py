"""HTTP runnables: calling an app or evaluator over HTTP, and serving plain functions as
such an app (`create_service`, `serve_in_thread`)."""
