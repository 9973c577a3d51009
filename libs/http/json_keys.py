"""JSON objects that repeat a key are refused: which of the two values counts depends on the
parser (most keep the last, some the first), so a proxy, an auditor's tool and the registry
could each read a different command out of the same bytes.

``repeated_key`` is cheap on the common body: every key in JSON text is a string followed
by a colon, so a body where the pattern ``"`` + blanks + ``:`` occurs exactly as often as
the parsed value has keys cannot repeat one (the pattern can also occur inside a string,
never less often than there are keys). Only otherwise is the body parsed again, with the
standard library's parser, which reports every object's keys in order.
"""

from __future__ import annotations

import json
import re
from typing import Any

_KEY_END = re.compile(rb'"[ \t\r\n]*:')


def _count_keys(value: Any) -> int:
    count = 0
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            count += len(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return count


def repeated_key(body: bytes, parsed: Any) -> str | None:
    """The first key an object of ``body`` repeats, or None. ``parsed`` is ``body``
    already decoded (by any parser that keeps one value per key)."""
    if len(_KEY_END.findall(body)) == _count_keys(parsed):
        return None
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen and not found:
                found.append(key)
            seen.add(key)
        return dict(items)

    try:
        json.loads(body, object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return None  # not JSON the standard library reads: the caller's parser decides
    return found[0] if found else None
