"""Upcasting: pure ``dict -> dict`` steps that lift an old event payload one version up.

Steps are keyed by ``(type, from_version)``. ``upcast`` applies them in a chain until the
payload reaches the class's current VERSION. Old stored events are never rewritten; they
are upcast every time they are read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
Step = Callable[[Payload], Payload]

UPCASTERS: dict[tuple[str, int], Step] = {}


def upcaster(type_name: str, from_version: int) -> Callable[[Step], Step]:
    """Register a step lifting ``type_name`` from ``from_version`` to ``from_version + 1``."""

    def register(step: Step) -> Step:
        key = (type_name, from_version)
        if key in UPCASTERS:
            raise ValueError(f"duplicate upcaster for {key}")
        UPCASTERS[key] = step
        return step

    return register


class MissingUpcaster(LookupError):
    pass


def upcast(type_name: str, version: int, target: int, payload: Payload) -> Payload:
    while version < target:
        try:
            step = UPCASTERS[(type_name, version)]
        except KeyError:
            raise MissingUpcaster(f"no upcaster for {type_name} v{version}") from None
        payload = step(payload)
        version += 1
    if version > target:
        raise MissingUpcaster(f"{type_name} v{version} is newer than this build (v{target})")
    return payload
