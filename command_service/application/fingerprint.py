"""The fingerprint of a command: what makes a retry the same command."""

from __future__ import annotations

import hashlib

import orjson

from schemas.envelope import CommandEnvelope


def fingerprint(env: CommandEnvelope) -> str:
    body = {"type": env.type, "actor": env.actor.model_dump(mode="json"), "payload": env.payload}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
