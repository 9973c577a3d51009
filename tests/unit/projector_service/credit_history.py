"""A scripted credits-heavy registry history over two years, decided by the real single
writer (``decide_one``): issuance to one and two proponents, transfers that split blocks
and move whole ones, requests approved, rejected and cancelled, cross-border retirements
with an OMGE share, a refused one, a Government retirement, certification and revocation,
a suspension that freezes blocks (and an issuance that arrives frozen), the activation that
unfreezes them, settings, and a mitigation action.

Every command runs at a known time (``History.clock``), so tests can ask for the state as
of any seq or time and compare with the writer's own state replayed up to that point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from schemas.commands.base import CommandPayload
from schemas.commands.credits import (
    ActivateOrganisation,
    ApproveTransfer,
    CancelTransfer,
    CertifyProgramme,
    IssueCredits,
    RecogniseRetirement,
    RefuseRetirement,
    RejectTransfer,
    RequestRetirement,
    RequestTransfer,
    RevokeCertification,
    SetOmgePercentage,
    SetTransferFreeze,
    SuspendOrganisation,
)
from schemas.enums import GovernmentAccount, RetirementType
from schemas.envelope import Actor
from tests.unit.command_service.helpers import (
    GOV_COMPANY_ID,
    PD1_TAX,
    PD2_TAX,
    Outcome,
    World,
    authorised_programme,
    ok,
    world,
)

START = datetime(2024, 6, 2, 9, 0, tzinfo=UTC)
NEW_YEAR = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)


@dataclass
class History:
    w: World
    pid1: str
    pid2: str
    clock: datetime = START
    # (last seq, its time) after every scripted command, in order.
    marks: list[tuple[int, datetime]] = field(default_factory=list)

    @property
    def raws(self) -> list[bytes]:
        return self.w.reg.raws

    @property
    def last_seq(self) -> int:
        return self.w.reg.state.last_seq

    def do(self, command: CommandPayload | dict[str, Any], actor: Actor, **kw: Any) -> Outcome:
        """Run one command that must be accepted, an hour after the one before."""
        self.clock += timedelta(hours=1)
        env = self.w.reg.envelope(command, actor, **kw)
        out = ok(self.w.reg.submit(env, now=self.clock))
        self.marks.append((self.last_seq, self.clock))
        return out

    def request_id(self, out: Outcome) -> int:
        rid = getattr(out.payloads[0], "request_id", None)
        assert isinstance(rid, int)
        return rid


def credit_history() -> History:
    w = world()
    pid1 = authorised_programme(w, 1, credit_est=5000, issue=1000)  # PD1 holds 1..1000
    pid2 = authorised_programme(
        w, 2, proponents=(PD1_TAX, PD2_TAX), percentages=["60", "40"], credit_est=2000, issue=500
    )
    h = History(w, pid1, pid2)
    h.marks.append((h.last_seq, w.reg.events[-1][0].occurred_at))
    pd1, pd2 = w.pd1_admin, w.pd2_admin

    # Transfers: a split, a split of the received block, a transfer to the Government.
    h.do(RequestTransfer(programme_id=pid1, to_company_id=w.pd2, amount=300), pd1)
    h.do(RequestTransfer(programme_id=pid1, to_company_id=w.pd1, amount=100), pd2)
    h.do(
        RequestTransfer(
            programme_id=pid1,
            to_company_id=GOV_COMPANY_ID,
            to_account=GovernmentAccount.LOCAL,
            amount=50,
        ),
        pd1,
    )
    # Requests by the receiver: approved, rejected, cancelled.
    asked = RequestTransfer(
        programme_id=pid1, from_company_id=w.pd1, to_company_id=w.pd2, amount=20
    )
    h.do(ApproveTransfer(request_id=h.request_id(h.do(asked, pd2))), pd1)
    h.do(RejectTransfer(request_id=h.request_id(h.do(asked, pd2)), comment="no"), pd1)
    h.do(CancelTransfer(request_id=h.request_id(h.do(asked, pd2))), pd2)

    # Retirements: cross-border with an OMGE share (recognised), refused, by the Government.
    h.do(SetOmgePercentage(percentage=Decimal("2")), w.gov_admin)
    out = h.do(
        RequestRetirement(
            programme_id=pid1,
            retirement_type=RetirementType.CROSS_BORDER,
            amount=50,
            country="FR",
            organisation_name="Acheteur SA",
        ),
        pd2,
    )
    h.do(RecogniseRetirement(request_id=h.request_id(out)), w.gov_admin)
    out = h.do(
        RequestRetirement(
            programme_id=pid1, retirement_type=RetirementType.CROSS_BORDER, amount=10, country="DE"
        ),
        pd1,
    )
    h.do(RefuseRetirement(request_id=h.request_id(out), comment="not eligible"), w.gov_admin)
    h.do(
        RequestRetirement(
            programme_id=pid2, retirement_type=RetirementType.OTHER, from_company_id=w.pd1
        ),
        w.gov_admin,
    )

    # Certification, and its revocation.
    h.do(CertifyProgramme(programme_id=pid1), w.certifier_admin)
    h.do(RevokeCertification(programme_id=pid1), w.certifier_admin)

    # A suspension freezes PD2's blocks; an issuance to it arrives frozen; activation thaws.
    h.do(SuspendOrganisation(company_id=w.pd2, remarks="audit"), w.gov_admin)
    h.do(IssueCredits(programme_id=pid2, amount=100), w.gov_admin)
    h.do(ActivateOrganisation(company_id=w.pd2), w.gov_admin)

    # A mitigation action (its calculator estimate), and the transfer freeze on and off.
    h.do(
        {
            "programme_id": pid1,
            "type_of_mitigation": "Solar",
            "user_estimated_credits": 500,
            "solar": {
                "energy_generation": "105",
                "energy_generation_unit": "kWh/year/unit",
                "building_type": "Household",
            },
        },
        pd1,
        type_="AddMitigationAction",
    )
    h.do(SetTransferFreeze(frozen=True), w.gov_admin)
    h.do(SetTransferFreeze(frozen=False), w.gov_admin)

    # The next year: a new vintage, whole blocks and a split moving at once, a retirement.
    h.clock = NEW_YEAR
    h.do(IssueCredits(programme_id=pid1, amount=200, vintage=2025), w.gov_admin)
    h.do(RequestTransfer(programme_id=pid1, to_company_id=w.pd2, amount=650), pd1)
    out = h.do(
        RequestRetirement(
            programme_id=pid1, retirement_type=RetirementType.CROSS_BORDER, amount=30, country="JP"
        ),
        pd2,
    )
    h.do(RecogniseRetirement(request_id=h.request_id(out)), w.gov_admin)
    return h
