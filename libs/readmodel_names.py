"""Names of the read-model schemas, computed the same way everywhere.

Services never import each other, yet the command side needs to find the read models (the
sign-in checks a user's ``pending`` flag and its organisation's state). This is the one
shared definition; ``projector_service.schema.live_schema`` must stay identical to it.
"""

from __future__ import annotations

import re


def live_schema(registry: str) -> str:
    """The schema the projector keeps current for ``registry``: ``rm_<registry>``."""
    return "rm_" + re.sub(r"[^a-z0-9_]", "_", registry)
