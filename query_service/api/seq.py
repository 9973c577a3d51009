"""The one place a read answer is stamped with the seq it reflects."""

from __future__ import annotations

from fastapi import Response

SEQ_HEADER = "X-Registry-Seq"


def seq_header(response: Response, seq: int) -> None:
    response.headers[SEQ_HEADER] = str(seq)
