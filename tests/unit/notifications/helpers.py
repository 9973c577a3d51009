"""A small registry history fed through the pure notification functions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from projector_service.notifications.compose import MailContext
from projector_service.notifications.directory import Directory, apply
from projector_service.notifications.messages import Message, build_messages
from schemas.codec import decode_event, make_event
from schemas.enums import (
    CompanyRole,
    CompanyState,
    ProgrammeStage,
    Sector,
    SectoralScope,
    UserRole,
)
from schemas.envelope import GENESIS_HASH, Actor, EventEnvelope
from schemas.events.base import EventPayload
from schemas.events.organisation import OrganisationRegistered, UserCreated
from schemas.events.programme import ProgrammeCreated, ProgrammeProperties
from schemas.events.registry import RegistryInitialised

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
GOV, DEV, BUYER, CERT = 1, 2, 3, 4


def envelope(payload: EventPayload, seq: int, registry: str = "testland") -> EventEnvelope:
    _, raw = make_event(
        registry=registry,
        seq=seq,
        payload=payload,
        aggregate_id=f"{payload.AGGREGATE}-x",
        aggregate_version=1,
        command_id=f"cmd-{seq}",
        actor=Actor(kind="user", user_id=1),
        occurred_at=NOW,
        prev_hash=GENESIS_HASH,
    )
    return decode_event(raw)


def org(
    company_id: int,
    name: str,
    role: CompanyRole,
    email: str,
    state: CompanyState = CompanyState.ACTIVE,
) -> OrganisationRegistered:
    return OrganisationRegistered(
        company_id=company_id,
        name=name,
        role=role,
        state=state,
        tax_id=f"TAX-{company_id}",
        payment_id=None,
        email=email,
        phone=None,
        website=None,
        address=None,
        country_code="TL",
        sectoral_scopes=[],
        minister_name=None,
    )


def user(
    user_id: int, company_id: int, email: str, name: str, role: UserRole, pending: bool = False
) -> UserCreated:
    return UserCreated(
        user_id=user_id,
        company_id=company_id,
        email=email,
        name=name,
        role=role,
        phone=None,
        pending=pending,
    )


def programme(programme_id: str, title: str, proponents: list[int]) -> ProgrammeCreated:
    return ProgrammeCreated(
        programme_id=programme_id,
        title=title,
        external_id=f"EXT-{programme_id}",
        sector=Sector.ENERGY,
        sectoral_scope=SectoralScope.ENERGY_INDUSTRY,
        country_code="TL",
        stage=ProgrammeStage.AWAITING_AUTHORIZATION,
        start_time=1704067200,
        end_time=1893456000,
        credit_est=1000,
        credit_unit="ITMO",
        proponent_company_ids=proponents,
        proponent_percentages=[Decimal(100) / len(proponents)] * len(proponents),
        environmental_assessment_registration_no=f"EIA-{programme_id}",
        properties=ProgrammeProperties(
            estimated_programme_cost_usd=Decimal("1000"),
            geographical_location=["North"],
            greenhouse_gases=["CO2"],
            carbon_price_usd_per_ton=Decimal("5"),
            credit_year=2024,
        ),
    )


class World:
    """Feeds events in seq order: messages from the directory before, then fold."""

    def __init__(self, ctx: MailContext | None = None) -> None:
        self.ctx = ctx or MailContext(registry="testland")
        self.directory = Directory()
        self.seq = 0
        self.all: list[Message] = []
        self.history: list[tuple[EventEnvelope, EventPayload]] = []

    def feed(self, payload: EventPayload) -> list[Message]:
        self.seq += 1
        env = envelope(payload, self.seq, self.ctx.registry)
        messages = build_messages(env, payload, self.directory, self.ctx)
        apply(self.directory, env, payload)
        self.all += messages
        self.history.append((env, payload))
        return messages


def populated(ctx: MailContext | None = None) -> World:
    """Government (Root + an Admin), a developer (Admin, Manager, ViewOnly), a buyer
    (Admin), a certifier (Admin), and one programme of the developer."""
    w = World(ctx)
    w.feed(
        RegistryInitialised(
            country_code="TL",
            country_name="Testland",
            credit_unit="ITMO",
            government_company_id=GOV,
            root_user_id=1,
        )
    )
    w.feed(org(GOV, "Government of Testland", CompanyRole.GOVERNMENT, "gov@example.org"))
    w.feed(user(1, GOV, "root@example.org", "Root", UserRole.ROOT))
    w.feed(user(2, GOV, "officer@example.org", "Officer", UserRole.ADMIN))
    w.feed(org(DEV, "Developer Ltd", CompanyRole.PROGRAMME_DEVELOPER, "dev@example.org"))
    w.feed(user(3, DEV, "ada@dev.example.org", "Ada", UserRole.ADMIN))
    w.feed(user(4, DEV, "max@dev.example.org", "Max", UserRole.MANAGER))
    w.feed(user(5, DEV, "vic@dev.example.org", "Vic", UserRole.VIEW_ONLY))
    w.feed(org(BUYER, "Buyer plc", CompanyRole.PROGRAMME_DEVELOPER, "buyer@example.org"))
    w.feed(user(6, BUYER, "bea@buyer.example.org", "Bea", UserRole.ADMIN))
    w.feed(org(CERT, "Certify Co", CompanyRole.CERTIFIER, "cert@example.org"))
    w.feed(user(7, CERT, "cy@cert.example.org", "Cy", UserRole.ADMIN))
    w.feed(programme("P1", "Solar Farm", [DEV]))
    return w
