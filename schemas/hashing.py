"""The hash chain: canonical bytes of an event, and how each hash is derived.

``canonical(envelope)`` is orjson with sorted keys over the JSON form of the envelope with
its ``hash`` field removed. Anyone holding the log can recompute every hash with nothing but
sha256 and a JSON library; see ``registry verify``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson


def canonical_bytes(body: dict[str, Any]) -> bytes:
    """Canonical encoding of an event body (the envelope's JSON form without ``hash``)."""
    return orjson.dumps({k: v for k, v in body.items() if k != "hash"}, option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: str, body: dict[str, Any]) -> str:
    h = hashlib.sha256(prev_hash.encode("ascii"))
    h.update(canonical_bytes(body))
    return h.hexdigest()
