"""Interop: the library against apps served by the real Agenta SDK (pytest -m interop)."""
