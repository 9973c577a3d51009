"""The synthetic log of ``projector_service.tools.make_big_log`` is a valid registry history:
every event validates and chains, and the single writer folds it with every unit conserved."""

from __future__ import annotations

from collections import Counter

import orjson

from command_service.application.restore import apply_event_bytes
from command_service.domain.state import RegistryState
from libs.eventlog.verify import Verifier
from projector_service.tools.make_big_log import Generator


def test_the_generated_log_is_valid_and_conserves_units() -> None:
    gen = Generator("gen", seed=11, developers=5)
    gen.run(4000, per_programme=50)
    raws = [raw for _, _, raw in gen.rows]
    verifier = Verifier(registry="gen")
    for i, raw in enumerate(raws):
        verifier.feed(i + 1, raw)
    assert verifier.report.ok, verifier.report.breaks[:3]
    assert verifier.report.last_seq == len(raws) >= 4000
    types = Counter(orjson.loads(raw)["type"] for raw in raws)
    for kind in ("CreditsIssued", "CreditsTransferred", "CreditsRetired", "TransferCancelled"):
        assert types[kind] > 0, kind

    state = RegistryState(registry="gen")
    for raw in raws:
        apply_event_bytes(state, raw)
    for pid, programme in state.programmes.items():
        units = sum(b.end - b.start + 1 for b in state.blocks.values() if b.programme_id == pid)
        assert units == programme.credit_issued, pid
