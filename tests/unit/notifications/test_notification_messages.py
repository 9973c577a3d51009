"""Pure message builders: who gets what, deterministic ids, no secrets, full coverage."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from projector_service.notifications.compose import MailContext
from projector_service.notifications.directory import Directory, apply
from projector_service.notifications.messages import (
    MAIL,
    Message,
    NoMailRule,
    build_messages,
    message_id,
)
from schemas.enums import (
    CancelReason,
    CompanyRole,
    CompanyState,
    ProgrammeStage,
    RetirementType,
    RevokeReason,
)
from schemas.events import credits as cr
from schemas.events.base import EventPayload
from schemas.events.organisation import OrganisationActivated, OrganisationSuspended
from schemas.registry import EVENT_TYPES
from tests.unit.notifications.helpers import (
    BUYER,
    CERT,
    DEV,
    GOV,
    World,
    envelope,
    org,
    populated,
    programme,
    user,
)

MESSAGE_ID = re.compile(r"^<testland\.\d+\.\d+@registry>$")


def kinds(messages: list[Message]) -> list[tuple[str, str]]:
    return [(m.kind, m.to[0]) for m in messages]


def test_every_event_type_has_a_mail_rule() -> None:
    # A builder or an explicit None: a new event type must be decided on, not forgotten.
    assert set(EVENT_TYPES.values()) <= set(MAIL)


def test_an_unlisted_event_type_is_refused() -> None:
    class Unlisted(EventPayload):
        TYPE = "Unlisted"
        AGGREGATE = "x"

    env = envelope(cr.TransferFreezeSet(frozen=True), 1)
    with pytest.raises(NoMailRule):
        build_messages(env, Unlisted(), Directory(), MailContext("testland"))


def test_setup_and_organisations_mail_their_own_addresses() -> None:
    w = populated()
    got = kinds(w.all)
    assert ("ORGANISATION_CREATE", "gov@example.org") in got
    assert ("ORGANISATION_CREATE", "dev@example.org") in got
    assert ("USER_CREATE", "root@example.org") in got
    assert ("USER_CREATE", "ada@dev.example.org") in got
    assert ("USER_CREATE", "vic@dev.example.org") in got  # every user gets a welcome
    # RegistryInitialised itself sends nothing.
    assert not [m for m in w.all if m.message_id.startswith("<testland.1.")]


def test_organisation_create_message() -> None:
    w = World()
    [m] = w.feed(org(9, "Acme", CompanyRole.PROGRAMME_DEVELOPER, "acme@example.org"))
    assert m.kind == "ORGANISATION_CREATE"
    assert m.to == ["acme@example.org"]
    assert m.subject == "Carbon Registry: Acme is registered"
    assert "Dear Acme," in m.body_text
    assert m.message_id == "<testland.1.0@registry>"


def test_user_create_is_a_welcome_without_any_password() -> None:
    w = populated()
    [m] = w.feed(user(40, DEV, "new@dev.example.org", "Newton", "Admin"))  # type: ignore[arg-type]
    assert m.kind == "USER_CREATE"
    assert m.to == ["new@dev.example.org"]
    assert "Welcome" in m.subject
    assert "Admin of Developer Ltd" in m.body_text
    assert "contains no password" in m.body_text
    assert "password-setting link" in m.body_text
    # Nothing that looks like a credential value: no "password: x", no token-like strings.
    assert not re.search(r"password\s*[:=]", m.body_text, re.I)
    assert not re.search(r"[A-Za-z0-9_-]{32,}", m.body_text)


def test_no_message_carries_anything_secret_looking() -> None:
    w = populated()
    for m in w.all:
        assert not re.search(r"(password|secret|token|api[ _-]?key)\s*[:=]", m.body_text, re.I)
        assert not re.search(r"\$argon2", m.body_text)


def test_pending_registration_goes_to_government_admins_not_the_applicant() -> None:
    w = populated()
    msgs = w.feed(
        org(20, "Newcomer", CompanyRole.PROGRAMME_DEVELOPER, "n@example.org", CompanyState.PENDING)
    )
    assert kinds(msgs) == [
        ("ORGANISATION_REGISTRATION", "root@example.org"),
        ("ORGANISATION_REGISTRATION", "officer@example.org"),
    ]
    assert w.feed(user(21, 20, "p@n.example.org", "P", "Admin", pending=True)) == []  # type: ignore[arg-type]


def test_message_ids_are_deterministic_and_unique() -> None:
    first, second = populated(), populated()
    assert [m.message_id for m in first.all] == [m.message_id for m in second.all]
    assert first.all == second.all
    ids = [m.message_id for m in first.all]
    assert len(set(ids)) == len(ids)
    assert all(MESSAGE_ID.match(i) for i in ids)
    assert message_id(MailContext("ng", message_id_domain="mail.gov.ng"), 7, 2) == (
        "<ng.7.2@mail.gov.ng>"
    )


def test_programme_mail_goes_to_each_owner_admin_separately() -> None:
    w = populated()
    msgs = w.feed(programme("P2", "Wind", [DEV, BUYER]))
    # Admins and Managers of both owners, one message each; the ViewOnly user is not mailed.
    assert kinds(msgs) == [
        ("PROGRAMME_CREATE", "ada@dev.example.org"),
        ("PROGRAMME_CREATE", "max@dev.example.org"),
        ("PROGRAMME_CREATE", "bea@buyer.example.org"),
    ]
    assert [m.message_id for m in msgs] == [f"<testland.{w.seq}.{n}@registry>" for n in range(3)]
    assert all(len(m.to) == 1 for m in msgs)
    assert "Dear Ada," in msgs[0].body_text
    assert "Dear Bea," in msgs[2].body_text


def test_subject_prefix_is_configurable_and_one_line() -> None:
    w = populated(MailContext("testland", subject_prefix="[NG] Carbon Registry: "))
    msgs = w.feed(programme("P3", "Line\r\nBcc: victim@example.org", [DEV]))
    assert (
        msgs[0].subject == "[NG] Carbon Registry: Programme created: Line Bcc: victim@example.org"
    )


def test_programme_lifecycle_mail() -> None:
    w = populated()
    assert kinds(w.feed(cr.ProgrammeApproved(programme_id="P1")))[0][0] == "PROGRAMME_APPROVED"
    auth = w.feed(
        cr.ProgrammeAuthorised(
            programme_id="P1", serial_no="TL-ITMO-1-1", range_start=1, range_end=1000
        )
    )
    assert {m.kind for m in auth} == {"PROGRAMME_AUTHORISATION"}
    assert "TL-ITMO-1-1" in auth[0].body_text
    rejected = w.feed(
        cr.ProgrammeRejected(
            programme_id="P1", previous_stage=ProgrammeStage.APPROVED, comment="Missing EIA"
        )
    )
    assert rejected[0].kind == "PROGRAMME_REJECTION"
    assert "Missing EIA" in rejected[0].body_text


def test_credits_issued_tells_each_holder_its_own_units() -> None:
    w = populated()
    blocks = [
        cr.IssuedBlock(
            block_id="b1",
            start=1,
            end=60,
            serial="s1",
            company_id=DEV,
            account="company:2",
            frozen=False,
        ),
        cr.IssuedBlock(
            block_id="b2",
            start=61,
            end=100,
            serial="s2",
            company_id=BUYER,
            account="company:3",
            frozen=False,
        ),
    ]
    msgs = w.feed(
        cr.CreditsIssued(
            programme_id="P1", vintage=2024, amount=100, issued_total=100, blocks=blocks
        )
    )
    by_to = {m.to[0]: m for m in msgs}
    assert set(by_to) == {"ada@dev.example.org", "max@dev.example.org", "bea@buyer.example.org"}
    assert "60 ITMO" in by_to["ada@dev.example.org"].body_text
    assert "40 ITMO" in by_to["bea@buyer.example.org"].body_text


def transfer(rid: int, initiator: int, amount: int = 10) -> cr.TransferRequested:
    return cr.TransferRequested(
        request_id=rid,
        programme_id="P1",
        from_company_id=DEV,
        from_account="company:2",
        to_company_id=BUYER,
        to_account="company:3",
        amount=amount,
        initiator_company_id=initiator,
    )


def transferred(rid: int, amount: int = 10) -> cr.CreditsTransferred:
    return cr.CreditsTransferred(
        request_id=rid,
        programme_id="P1",
        from_account="company:2",
        to_account="company:3",
        amount=amount,
        moves=[],
    )


def test_transfer_asked_by_the_sender_is_mailed_once_executed() -> None:
    w = populated()
    assert w.feed(transfer(1, initiator=DEV)) == []
    msgs = w.feed(transferred(1))
    assert kinds(msgs) == [("CREDIT_SEND_DEVELOPER", "bea@buyer.example.org")]
    assert "10 ITMO" in msgs[0].body_text
    assert 1 not in w.directory.requests  # decided requests leave the directory


def test_transfer_asked_by_the_receiver_goes_to_the_sender_then_back() -> None:
    w = populated()
    asked = w.feed(transfer(2, initiator=BUYER))
    assert {k for k, _ in kinds(asked)} == {"CREDIT_TRANSFER_REQUISITIONS"}
    assert {to for _, to in kinds(asked)} == {"ada@dev.example.org", "max@dev.example.org"}
    done = w.feed(transferred(2))
    assert kinds(done) == [("CREDIT_TRANSFER_ACCEPTED", "bea@buyer.example.org")]


def test_transfer_asked_by_the_government_for_others() -> None:
    w = populated()
    asked = w.feed(transfer(3, initiator=GOV))
    assert {k for k, _ in kinds(asked)} == {"CREDIT_TRANSFER_GOV"}
    done = w.feed(transferred(3))
    assert kinds(done) == [
        ("CREDIT_TRANSFER_GOV_ACCEPTED_TO_INITIATOR", "root@example.org"),
        ("CREDIT_TRANSFER_GOV_ACCEPTED_TO_INITIATOR", "officer@example.org"),
        ("CREDIT_TRANSFER_GOV_ACCEPTED_TO_RECEIVER", "bea@buyer.example.org"),
    ]


def test_transfer_rejected_and_cancelled() -> None:
    w = populated()
    w.feed(transfer(4, initiator=BUYER))
    rej = w.feed(cr.TransferRejected(request_id=4, programme_id="P1", comment="no"))
    assert kinds(rej) == [("CREDIT_TRANSFER_REJECTED", "bea@buyer.example.org")]
    w.feed(transfer(5, initiator=BUYER))
    cancelled = w.feed(
        cr.TransferCancelled(request_id=5, programme_id="P1", reason=CancelReason.BY_INITIATOR)
    )
    assert {k for k, _ in kinds(cancelled)} == {"CREDIT_TRANSFER_CANCELLATION"}
    assert {to for _, to in kinds(cancelled)} == {"ada@dev.example.org", "max@dev.example.org"}
    w.feed(transfer(6, initiator=BUYER))
    system = w.feed(
        cr.TransferCancelled(request_id=6, programme_id="P1", reason=CancelReason.LOW_CREDIT)
    )
    assert [k for k, _ in kinds(system)] == [
        "CREDIT_TRANSFER_CANCELLATION_SYS_TO_INITIATOR",
        "CREDIT_TRANSFER_CANCELLATION_SYS_TO_SENDER",
        "CREDIT_TRANSFER_CANCELLATION_SYS_TO_SENDER",
    ]
    assert "enough credits" in system[0].body_text


def retirement(rid: int, initiator: int) -> cr.RetirementRequested:
    return cr.RetirementRequested(
        request_id=rid,
        programme_id="P1",
        from_company_id=DEV,
        from_account="company:2",
        retirement_type=RetirementType.CROSS_BORDER,
        amount=7,
        country="Sweden",
        organisation_name="Buyer AB",
        omge_percentage=Decimal("2"),
        initiator_company_id=initiator,
    )


def retired(rid: int) -> cr.CreditsRetired:
    return cr.CreditsRetired(
        request_id=rid,
        programme_id="P1",
        from_account="company:2",
        amount=7,
        retired_units=7,
        omge_units=0,
        moves=[],
    )


def test_retirement_flows() -> None:
    w = populated()
    asked = w.feed(retirement(10, initiator=DEV))
    assert kinds(asked) == [
        ("CREDIT_RETIREMENT_BY_DEV", "root@example.org"),
        ("CREDIT_RETIREMENT_BY_DEV", "officer@example.org"),
    ]
    assert {k for k, _ in kinds(w.feed(retired(10)))} == {"CREDIT_RETIREMENT_RECOGNITION"}
    assert w.feed(retirement(11, initiator=GOV)) == []
    assert {k for k, _ in kinds(w.feed(retired(11)))} == {"CREDIT_RETIREMENT_BY_GOV"}
    w.feed(retirement(12, initiator=DEV))
    refused = w.feed(cr.RetirementRefused(request_id=12, programme_id="P1", comment="no"))
    assert {k for k, _ in kinds(refused)} == {"CREDIT_RETIREMENT_NOT_RECOGNITION"}
    w.feed(retirement(13, initiator=DEV))
    cancelled = w.feed(
        cr.RetirementCancelled(request_id=13, programme_id="P1", reason=CancelReason.BY_INITIATOR)
    )
    assert {k for k, _ in kinds(cancelled)} == {"CREDIT_RETIREMENT_CANCEL"}
    w.feed(retirement(14, initiator=DEV))
    sys_cancel = w.feed(
        cr.RetirementCancelled(
            request_id=14, programme_id="P1", reason=CancelReason.ORGANISATION_SUSPENDED
        )
    )
    assert {k for k, _ in kinds(sys_cancel)} == {
        "CREDIT_RETIREMENT_CANCEL_SYS_TO_INITIATOR",
        "CREDIT_RETIREMENT_CANCEL_SYS_TO_GOV",
    }


def test_certification_mail() -> None:
    w = populated()
    cert = w.feed(cr.ProgrammeCertified(programme_id="P1", certifier_id=CERT))
    assert {k for k, _ in kinds(cert)} == {"PROGRAMME_CERTIFICATION"}
    assert "Certify Co certified" in cert[0].body_text
    by_cert = w.feed(
        cr.CertificationRevoked(programme_id="P1", certifier_id=CERT, reason=RevokeReason.BY_USER)
    )
    assert {k for k, _ in kinds(by_cert)} == {"PROGRAMME_CERTIFICATION_REVOKE_BY_CERT"}
    by_sys = w.feed(
        cr.CertificationRevoked(
            programme_id="P1", certifier_id=CERT, reason=RevokeReason.ORGANISATION_SUSPENDED
        )
    )
    assert {k for k, _ in kinds(by_sys)} == {"PROGRAMME_CERTIFICATION_REVOKE_BY_SYSTEM"}


def test_suspension_and_reactivation() -> None:
    w = populated()
    dev = w.feed(OrganisationSuspended(company_id=DEV, remarks="Fraud inquiry"))
    assert {k for k, _ in kinds(dev)} == {"PROGRAMME_DEVELOPER_ORG_DEACTIVATION"}
    assert "Fraud inquiry" in dev[0].body_text
    assert w.directory.companies[DEV].state == "Suspended"
    cert = w.feed(OrganisationSuspended(company_id=CERT))
    assert kinds(cert) == [("CERTIFIER_ORG_DEACTIVATION", "cy@cert.example.org")]
    back = w.feed(OrganisationActivated(company_id=DEV))
    assert {k for k, _ in kinds(back)} == {"ORG_REACTIVATION"}
    assert w.directory.companies[DEV].state == "Active"


def test_silent_events_send_nothing() -> None:
    w = populated()
    assert w.feed(cr.TransferFreezeSet(frozen=True)) == []
    assert w.feed(cr.OmgePercentageSet(percentage=Decimal("2"))) == []
    assert (
        w.feed(cr.CreditsFrozen(company_id=DEV, account="company:2", block_ids=[], units=0)) == []
    )


def test_directory_rows_restore_the_same_directory() -> None:
    w = populated()
    w.feed(transfer(30, initiator=BUYER))
    w.feed(transfer(31, initiator=BUYER))
    w.feed(cr.TransferRejected(request_id=31, programme_id="P1"))
    rows: dict[tuple[str, str], dict[str, object] | None] = {}
    replay = Directory()
    for env, payload in w.history:
        for ch in apply(replay, env, payload):
            rows[(ch.kind, ch.key)] = ch.data
    assert rows[("request", "31")] is None  # decided: deleted
    restored = Directory.from_rows([(k, d) for (k, _), d in rows.items() if d is not None])
    assert restored == replay == w.directory
    assert set(restored.requests) == {30}
    assert [u.email for u in restored.admins_of(DEV)] == [
        "ada@dev.example.org",
        "max@dev.example.org",
    ]
