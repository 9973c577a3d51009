"""JSON Schema export of every published type (envelopes, commands, events)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.envelope import CommandEnvelope, EventEnvelope, ResultEnvelope
from schemas.registry import COMMAND_TYPES, EVENT_TYPES


def all_schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {
        "envelope/CommandEnvelope": CommandEnvelope.model_json_schema(),
        "envelope/EventEnvelope": EventEnvelope.model_json_schema(),
        "envelope/ResultEnvelope": ResultEnvelope.model_json_schema(),
    }
    for name, ccls in COMMAND_TYPES.items():
        out[f"commands/{name}"] = ccls.model_json_schema()
    for name, ecls in EVENT_TYPES.items():
        schema = ecls.model_json_schema()
        schema["x-event-version"] = ecls.VERSION
        schema["x-aggregate"] = ecls.AGGREGATE
        out[f"events/{name}.v{ecls.VERSION}"] = schema
    return out


def export(directory: Path) -> list[Path]:
    written = []
    for key, schema in all_schemas().items():
        path = directory / f"{key}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
