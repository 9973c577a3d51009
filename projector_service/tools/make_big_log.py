"""Write a large synthetic but valid event log into the embedded log table, fast (COPY).

    uv run python -m projector_service.tools.make_big_log --events 1000000 --registry big \
        [--dsn postgresql://...]  (default: $DATABASE_URL)

The history is a plausible registry: setup, developers and a certifier, then programme
after programme (created, approved, authorised with a reserved unit range, issued), each
followed by transfers between developers (own transfers: requested and executed at once,
mostly splitting a block), transfers cancelled by their initiator, developer retirements
recognised by the Government (cross-border ones pay the OMGE share), certifications, and
now and then a developer suspended (its blocks frozen) and activated again.

A small ledger here follows the processor's rules (``command_service.domain.ledger``: the
lowest free blocks move first, whole while they fit, then the high end of the next one), so
every block effect is consistent. Events are built as the JSON the processor writes and
chained with the processor's hash; the first event of every type and every 997th event are
checked against the published pydantic models (payload and envelope) and the run aborts on
any difference, and ``registry verify`` passes on the result.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import asyncpg
import orjson

from libs.eventlog.pg_log import ensure_log_tables
from libs.serial_numbers import format_serial
from schemas.codec import event_payload
from schemas.envelope import GENESIS_HASH, EventEnvelope

JsonDict = dict[str, Any]

COUNTRY = "NG"
CREDIT_UNIT = "ITMO"
GOV = 1
ROOT_USER = 1
START_TIME = 1704067200  # 2024-01-01, the programmes' start (their serials' year)
END_TIME = 1893456000
SCOPE = "1"
COPY_ROWS = 50_000
SORT = orjson.OPT_SORT_KEYS


@dataclass
class Blk:
    block_id: str
    start: int
    end: int
    vintage: int
    frozen: bool = False


@dataclass
class Ledger:
    """Blocks by holding (account -> programme -> blocks sorted by first unit)."""

    holdings: dict[str, dict[str, list[Blk]]] = field(default_factory=dict)

    def blocks(self, account: str, pid: str) -> list[Blk]:
        return self.holdings.setdefault(account, {}).setdefault(pid, [])

    def available(self, account: str, pid: str) -> int:
        return sum(b.end - b.start + 1 for b in self.blocks(account, pid) if not b.frozen)

    def add(self, account: str, pid: str, blk: Blk) -> None:
        blocks = self.blocks(account, pid)
        blocks.append(blk)
        blocks.sort(key=lambda b: b.start)


def serial(pid: str, start: int, end: int) -> str:
    return format_serial(COUNTRY, CREDIT_UNIT, SCOPE, pid, 2024, start, end)


class Generator:
    def __init__(self, registry: str, seed: int, developers: int) -> None:
        self.registry = registry
        self.rng = random.Random(seed)
        self.seq = 0
        self.prev = GENESIS_HASH
        self.versions: dict[str, int] = {}
        self.rows: list[tuple[str, int, bytes]] = []
        self.checked: set[str] = set()
        self.clock = datetime(2024, 1, 1, tzinfo=UTC)
        self.at = ""
        self.batch_left = 0
        self.command = 0
        self.ledger = Ledger()
        self.developers = list(range(2, 2 + developers))
        self.certifier = 2 + developers
        self.admin_of: dict[int, int] = {}
        self.suspended: set[int] = set()
        self.serial_counter = 0
        self.next_programme = 1
        self.next_request = 1
        self.omge = Decimal(0)

    # ---- the envelope and the chain ----------------------------------------------------------

    def tick(self) -> None:
        """A new command: its own id; like a busy processor, one time per batch of commands
        (a batch of 1 to 40 commands, then a later time)."""
        self.command += 1
        if self.batch_left <= 0:
            self.batch_left = self.rng.randint(1, 40)
            self.clock += timedelta(milliseconds=self.rng.choice((20, 50, 200, 1000, 30_000)))
            # pydantic's JSON form of a UTC time (no fraction when it is zero).
            fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if self.clock.microsecond else "%Y-%m-%dT%H:%M:%SZ"
            self.at = self.clock.strftime(fmt)
        self.batch_left -= 1

    def emit(
        self,
        type_: str,
        aggregate_type: str,
        aggregate_id: str,
        payload: JsonDict,
        user: int | None,
    ) -> None:
        self.seq += 1
        version = self.versions.get(aggregate_id, 0) + 1
        self.versions[aggregate_id] = version
        body: JsonDict = {
            "envelope_version": 1,
            "registry": self.registry,
            "seq": self.seq,
            "type": type_,
            "version": 1,
            "aggregate_type": aggregate_type,
            "aggregate_id": aggregate_id,
            "aggregate_version": version,
            "command_id": f"gen-{self.command}",
            "actor": {"kind": "system" if user is None else "user", "user_id": user},
            "occurred_at": self.at,
            "payload": payload,
            "prev_hash": self.prev,
        }
        digest = hashlib.sha256(self.prev.encode("ascii") + orjson.dumps(body, option=SORT))
        body["hash"] = self.prev = digest.hexdigest()
        if type_ not in self.checked or self.seq % 997 == 0:
            self.check(body)
        self.rows.append((self.registry, self.seq, orjson.dumps(body)))

    def check(self, body: JsonDict) -> None:
        """The event is exactly what the published models produce."""
        env = EventEnvelope.model_validate(body)
        typed = event_payload(env).model_dump(mode="json")
        if typed != body["payload"]:
            raise AssertionError(f"{body['type']} payload is not canonical: {body['payload']}")
        if env.model_dump(mode="json") != body:
            raise AssertionError(f"{body['type']} envelope is not canonical")
        self.checked.add(body["type"])

    # ---- setup ---------------------------------------------------------------------------------

    def setup(self) -> None:
        self.tick()
        self.emit(
            "RegistryInitialised",
            "registry",
            "registry",
            {
                "country_code": COUNTRY,
                "country_name": "Nigeria",
                "credit_unit": CREDIT_UNIT,
                "government_company_id": GOV,
                "root_user_id": ROOT_USER,
            },
            None,
        )
        self.organisation(GOV, "Government of Nigeria", "Government", f"00000{COUNTRY}", None)
        self.user(ROOT_USER, GOV, "root@registry.example.org", "Root", "Root", None)
        next_user = 2
        for cid in [*self.developers, self.certifier]:
            self.tick()
            role = "Certifier" if cid == self.certifier else "ProgrammeDeveloper"
            self.organisation(cid, f"Organisation {cid}", role, f"TAX-{cid}", ROOT_USER)
            self.user(next_user, cid, f"admin{cid}@orgs.example.org", f"Admin {cid}", "Admin", 1)
            self.admin_of[cid] = next_user
            next_user += 1

    def organisation(self, cid: int, name: str, role: str, tax: str, user: int | None) -> None:
        self.emit(
            "OrganisationRegistered",
            "organisation",
            f"organisation-{cid}",
            {
                "company_id": cid,
                "name": name,
                "role": role,
                "state": "Active",
                "tax_id": tax,
                "payment_id": None if role == "Government" else f"PAY-{cid}",
                "email": f"org{cid}@orgs.example.org",
                "phone": None,
                "website": None,
                "address": None,
                "country_code": COUNTRY,
                "sectoral_scopes": [],
                "minister_name": None,
            },
            user,
        )

    def user(self, uid: int, cid: int, email: str, name: str, role: str, by: int | None) -> None:
        self.emit(
            "UserCreated",
            "user",
            f"user-{uid}",
            {
                "user_id": uid,
                "company_id": cid,
                "email": email,
                "name": name,
                "role": role,
                "phone": None,
                "pending": False,
            },
            by,
        )

    # ---- programmes --------------------------------------------------------------------------

    def programme(self, credit_est: int, issue: int) -> str:
        pid = f"{self.next_programme:03d}"
        self.next_programme += 1
        dev = self.rng.choice([d for d in self.developers if d not in self.suspended])
        agg = f"programme-{pid}"
        self.tick()
        self.emit(
            "ProgrammeCreated",
            "programme",
            agg,
            {
                "programme_id": pid,
                "title": f"Programme {pid}",
                "external_id": f"EXT-{pid}",
                "sector": "Energy",
                "sectoral_scope": SCOPE,
                "country_code": COUNTRY,
                "stage": "AwaitingAuthorization",
                "start_time": START_TIME,
                "end_time": END_TIME,
                "credit_est": credit_est,
                "credit_unit": CREDIT_UNIT,
                "proponent_company_ids": [dev],
                "proponent_percentages": ["100"],
                "environmental_assessment_registration_no": f"EIA-{pid}",
                "properties": {
                    "estimated_programme_cost_usd": "100000",
                    "geographical_location": ["Lagos"],
                    "greenhouse_gases": ["CO2"],
                    "crediting_period_years": None,
                    "source_of_funding": None,
                    "grant_equivalent_amount": None,
                    "buyer_country_eligibility": None,
                    "carbon_price_usd_per_ton": str(
                        (Decimal(100000) / credit_est).quantize(Decimal("0.01"))
                    ),
                    "credit_year": 2024,
                },
                "comment": None,
            },
            self.admin_of[dev],
        )
        self.tick()
        self.emit("ProgrammeApproved", "programme", agg, {"programme_id": pid, "comment": None}, 1)
        start, end = self.serial_counter + 1, self.serial_counter + credit_est
        self.serial_counter = end
        self.tick()
        self.emit(
            "ProgrammeAuthorised",
            "programme",
            agg,
            {
                "programme_id": pid,
                "serial_no": serial(pid, start, end),
                "range_start": start,
                "range_end": end,
                "comment": None,
            },
            1,
        )
        account = f"company:{dev}"
        self.emit(
            "CreditsIssued",
            "programme",
            agg,
            {
                "programme_id": pid,
                "vintage": self.clock.year,
                "amount": issue,
                "issued_total": issue,
                "blocks": [
                    {
                        "block_id": f"{pid}-{start}",
                        "start": start,
                        "end": start + issue - 1,
                        "serial": serial(pid, start, start + issue - 1),
                        "company_id": dev,
                        "account": account,
                        "frozen": False,
                    }
                ],
                "comment": None,
            },
            1,
        )
        self.ledger.add(
            account, pid, Blk(f"{pid}-{start}", start, start + issue - 1, self.clock.year)
        )
        return pid

    def plan(
        self, account: str, pid: str, amount: int, to_account: str, to_company: int | None
    ) -> list[JsonDict]:
        """Moves of ``amount`` units out of a holding, applied to the ledger at once."""
        moves: list[JsonDict] = []
        need = amount
        blocks = self.ledger.blocks(account, pid)
        while need > 0:
            b = next(b for b in blocks if not b.frozen)
            size = b.end - b.start + 1
            move: JsonDict = {
                "source_block_id": b.block_id,
                "from_account": account,
                "to_account": to_account,
                "to_company_id": to_company,
                "vintage": b.vintage,
            }
            if size <= need:
                need -= size
                blocks.remove(b)
                move["kept"] = None
                move["moved"] = {
                    "block_id": b.block_id,
                    "start": b.start,
                    "end": b.end,
                    "serial": serial(pid, b.start, b.end),
                }
                moved = b
            else:
                first = b.end - need + 1
                moved = Blk(f"{pid}-{first}", first, b.end, b.vintage)
                b.end = first - 1
                need = 0
                move["kept"] = {
                    "block_id": b.block_id,
                    "start": b.start,
                    "end": b.end,
                    "serial": serial(pid, b.start, b.end),
                }
                move["moved"] = {
                    "block_id": moved.block_id,
                    "start": moved.start,
                    "end": moved.end,
                    "serial": serial(pid, moved.start, moved.end),
                }
            if to_account not in ("retired", "gov:omge"):
                self.ledger.add(to_account, pid, moved)
            moves.append(move)
        return moves

    def holders(self, pid: str) -> list[int]:
        return [
            d
            for d in self.developers
            if d not in self.suspended and self.ledger.available(f"company:{d}", pid) > 0
        ]

    def transfer(self, pid: str) -> None:
        holders = self.holders(pid)
        if not holders:
            return
        src = self.rng.choice(holders)
        dst = self.rng.choice([d for d in self.developers if d != src and d not in self.suspended])
        account = f"company:{src}"
        amount = self.rng.randint(1, min(500, self.ledger.available(account, pid)))
        rid = self.next_request
        self.next_request += 1
        agg = f"transfer-{rid}"
        self.tick()
        base = {"request_id": rid, "programme_id": pid}
        self.emit(
            "TransferRequested",
            "transfer",
            agg,
            {
                **base,
                "from_company_id": src,
                "from_account": account,
                "to_company_id": dst,
                "to_account": f"company:{dst}",
                "amount": amount,
                "initiator_company_id": src,
                "comment": None,
            },
            self.admin_of[src],
        )
        if self.rng.random() < 0.1:
            self.tick()
            self.emit(
                "TransferCancelled",
                "transfer",
                agg,
                {**base, "reason": "by_initiator", "comment": "changed my mind"},
                self.admin_of[src],
            )
            return
        moves = self.plan(account, pid, amount, f"company:{dst}", dst)
        self.emit(
            "CreditsTransferred",
            "transfer",
            agg,
            {
                **base,
                "from_account": account,
                "to_account": f"company:{dst}",
                "amount": amount,
                "moves": moves,
                "comment": None,
            },
            self.admin_of[src],
        )

    def retire(self, pid: str) -> None:
        holders = self.holders(pid)
        if not holders:
            return
        src = self.rng.choice(holders)
        account = f"company:{src}"
        amount = self.rng.randint(1, min(200, self.ledger.available(account, pid)))
        cross = self.rng.random() < 0.6
        pct = self.omge if cross else Decimal(0)
        rid = self.next_request
        self.next_request += 1
        agg = f"retirement-{rid}"
        base = {"request_id": rid, "programme_id": pid}
        self.tick()
        self.emit(
            "RetirementRequested",
            "retirement",
            agg,
            {
                **base,
                "from_company_id": src,
                "from_account": account,
                "retirement_type": "cross_border" if cross else "other",
                "amount": amount,
                "country": self.rng.choice(("FR", "DE", "JP", "CH")) if cross else None,
                "organisation_name": "Buyer SA" if cross else None,
                "omge_percentage": str(pct),
                "initiator_company_id": src,
                "comment": None,
            },
            self.admin_of[src],
        )
        omge = int((Decimal(amount) * pct / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        moves = self.plan(account, pid, omge, "gov:omge", GOV) if omge else []
        if amount - omge:
            moves += self.plan(account, pid, amount - omge, "retired", None)
        self.tick()
        self.emit(
            "CreditsRetired",
            "retirement",
            agg,
            {
                **base,
                "from_account": account,
                "amount": amount,
                "retired_units": amount - omge,
                "omge_units": omge,
                "moves": moves,
                "comment": None,
            },
            ROOT_USER,
        )

    def certify(self, pid: str) -> None:
        self.tick()
        self.emit(
            "ProgrammeCertified",
            "programme",
            f"programme-{pid}",
            {"programme_id": pid, "certifier_id": self.certifier, "comment": None},
            self.admin_of[self.certifier],
        )

    def set_omge(self) -> None:
        self.omge = Decimal(self.rng.choice(("0", "2", "5")))
        self.tick()
        self.emit("OmgePercentageSet", "settings", "settings", {"percentage": str(self.omge)}, 1)

    def suspend_or_activate(self) -> None:
        if self.suspended:
            cid = self.suspended.pop()
            kind, frozen_type, frozen = "OrganisationActivated", "CreditsUnfrozen", False
        else:
            cid = self.rng.choice(self.developers)
            self.suspended.add(cid)
            kind, frozen_type, frozen = "OrganisationSuspended", "CreditsFrozen", True
        agg = f"organisation-{cid}"
        account = f"company:{cid}"
        self.tick()
        self.emit(kind, "organisation", agg, {"company_id": cid, "remarks": None}, 1)
        ids: list[str] = []
        units = 0
        for pid in sorted(self.ledger.holdings.get(account, {})):
            for b in self.ledger.holdings[account][pid]:
                if b.frozen is not frozen:
                    b.frozen = frozen
                    ids.append(b.block_id)
                    units += b.end - b.start + 1
        if ids:
            self.emit(
                frozen_type,
                "organisation",
                agg,
                {"company_id": cid, "account": account, "block_ids": ids, "units": units},
                1,
            )

    # ---- the story ---------------------------------------------------------------------------

    def run(self, events: int, per_programme: int) -> None:
        self.setup()
        self.set_omge()
        while self.seq < events:
            pid = self.programme(credit_est=1_000_000, issue=self.rng.randint(50_000, 200_000))
            for _ in range(per_programme):
                if self.seq >= events:
                    break
                roll = self.rng.random()
                if roll < 0.78:
                    self.transfer(pid)
                elif roll < 0.93:
                    self.retire(pid)
                elif roll < 0.97:
                    self.certify(pid)
                elif roll < 0.9998:
                    self.set_omge()
                else:
                    # Rare, as in a real registry: it freezes every block the developer holds.
                    self.suspend_or_activate()


async def write(dsn: str, registry: str, rows: list[tuple[str, int, bytes]]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await ensure_log_tables(conn)
        existing = await conn.fetchval(
            "SELECT count(*) FROM log.events WHERE registry = $1", registry
        )
        if existing:
            raise SystemExit(f"registry {registry} already has {existing} events; pick another")
        await conn.execute("SET synchronous_commit = off")
        for i in range(0, len(rows), COPY_ROWS):
            await conn.copy_records_to_table(
                "events",
                schema_name="log",
                columns=["registry", "seq", "body"],
                records=rows[i : i + COPY_ROWS],
            )
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--registry", default="big")
    parser.add_argument("--dsn", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--developers", type=int, default=20)
    parser.add_argument("--per-programme", type=int, default=60, help="operations per programme")
    args = parser.parse_args()
    if not args.dsn:
        raise SystemExit("give --dsn or set DATABASE_URL")
    t0 = time.perf_counter()
    gen = Generator(args.registry, args.seed, args.developers)
    gen.run(args.events, args.per_programme)
    t1 = time.perf_counter()
    asyncio.run(write(args.dsn, args.registry, gen.rows))
    t2 = time.perf_counter()
    types: dict[str, int] = {}
    for _, _, raw in gen.rows:
        name = orjson.loads(raw)["type"]
        types[name] = types.get(name, 0) + 1
    print(
        f"{gen.seq:,} events for registry {args.registry}: generated in {t1 - t0:.1f} s,"
        f" written in {t2 - t1:.1f} s ({gen.seq / (t2 - t1):,.0f} events/s by COPY)"
    )
    for name, count in sorted(types.items(), key=lambda kv: -kv[1]):
        print(f"  {name}: {count:,}")


if __name__ == "__main__":
    main()
