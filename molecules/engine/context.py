"""ScopeContext: who is asking (user, org, project), for scoped variables and brokers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ScopeContext(BaseModel):
    """The user, organisation and project a prompt runs for; each may be None.

    Frozen and hashable: it keys the scoped-variable cache, so two contexts share cached
    values only when all three ids are equal.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str | None = None
    org_id: str | None = None
    project_id: str | None = None

    @classmethod
    def of(cls, value: ScopeContext | dict[str, Any] | None) -> ScopeContext:
        """`value` as a context (None: the empty context)."""
        if value is None:
            return cls()
        return value if isinstance(value, ScopeContext) else cls.model_validate(value)

    def scope_id(self, scope: str) -> str | None:
        """The id of one scope: "user", "org" or "project"."""
        value: str | None = getattr(self, f"{scope}_id")
        return value
