"""Test servers run through the library's own `serve_in_thread`."""

from runnable.serving import serve_in_thread

__all__ = ["serve_in_thread"]
