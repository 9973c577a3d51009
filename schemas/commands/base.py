from __future__ import annotations

from typing import Any, ClassVar, Self

import orjson
from pydantic import ModelWrapValidatorHandler, model_validator

from schemas.base import Frozen

# PostgreSQL text and jsonb cannot hold U+0000: one in a committed event would stop the
# projector. Refused here in every field of every command, named or free-form (properties).
NUL = "\x00"


def nul_at(value: Any) -> str | None:
    """Where (a dotted path) a string of a JSON-like value, or a key, holds a NUL; None if
    nowhere. Fast for JSON-like values: orjson writes a NUL as the escape ``\\u0000`` (and a
    backslash as ``\\\\``), so a value without that byte sequence has no NUL; only one with it
    (or a value orjson cannot write) is walked."""
    try:
        if b"\\u0000" not in orjson.dumps(value):
            return None
    except TypeError:
        pass
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, str):
            if NUL in v:
                return path or "body"
        elif isinstance(v, dict):
            for k, item in v.items():
                here = f"{path}.{k}" if path else str(k)
                if isinstance(k, str) and NUL in k:
                    return here
                stack.append((here, item))
        elif isinstance(v, list | tuple):
            stack.extend((f"{path}.{i}" if path else str(i), item) for i, item in enumerate(v))
    return None


def has_nul(value: Any) -> bool:
    return nul_at(value) is not None


class CommandPayload(Frozen):
    """Base of every command body. ``TYPE`` is the stable name on the commands topic."""

    TYPE: ClassVar[str]

    @model_validator(mode="wrap")
    @classmethod
    def _no_nul(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        # Fields first (their own checks name the field), then every string anywhere.
        model = handler(data)
        where = nul_at(data)
        if where is not None:
            raise ValueError(f"{where}: text must not contain the NUL character (U+0000)")
        return model
