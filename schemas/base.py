"""Base models shared by every published type."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """An immutable model that refuses unknown fields (no mass assignment)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)
