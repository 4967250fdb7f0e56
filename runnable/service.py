"""`runnable.service`, the public path of `runnable.http.service` (kept for DESIGN.md)."""

from runnable.http.service import create_service, openapi_document

__all__ = ["create_service", "openapi_document"]
