"""Time travel against an oracle: after every command of a scripted two-year credits history,
the holdings, blocks, country accounts and credit statistics answered from the history
tables (live projector and replay alike) equal what the single writer's own state says when
it folds the log's events up to that seq; and times resolve to the right seq."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from command_service.application.restore import apply_event_bytes
from command_service.domain.state import RegistryState
from libs.eventlog.pg_log import PgEventSource
from projector_service.replay import rebuild
from query_service.queries import time_travel
from schemas.events.credits import TERMINAL_ACCOUNTS
from tests.integration.test_replay_credits import project_live, write_log
from tests.unit.command_service.helpers import GOV_COMPANY_ID
from tests.unit.projector_service.credit_history import History, credit_history

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass(frozen=True)
class Viewer:
    role: str
    company_id: int
    company_role: str


ROOT = Viewer("Root", GOV_COMPANY_ID, "Government")


def state_at(h: History, seq: int) -> RegistryState:
    """The oracle: the writer's own fold of the first ``seq`` events."""
    state = RegistryState(registry=h.w.reg.state.registry)
    for raw in h.raws[:seq]:
        apply_event_bytes(state, raw)
    return state


def company_of(account: str) -> int | None:
    if account.startswith("company:"):
        return int(account.removeprefix("company:"))
    if account.startswith("gov:"):
        return GOV_COMPANY_ID
    return None


def block_state(account: str, frozen: bool) -> str:
    if account in TERMINAL_ACCOUNTS:
        return "retired"
    return "frozen" if frozen else "active"


def oracle_blocks(state: RegistryState) -> list[tuple[Any, ...]]:
    return sorted(
        (
            b.block_id,
            b.start,
            b.end,
            b.account,
            company_of(b.account),
            block_state(b.account, b.frozen),
        )
        for b in state.blocks.values()
    )


def oracle_holdings(
    state: RegistryState, company_id: int
) -> dict[tuple[str, str], tuple[int, int]]:
    """(account, programme) -> (available, frozen) units of one organisation."""
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for b in state.blocks.values():
        if company_of(b.account) == company_id and b.account not in TERMINAL_ACCOUNTS:
            out[(b.account, b.programme_id)][1 if b.frozen else 0] += b.end - b.start + 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def oracle_stats(state: RegistryState) -> dict[str, tuple[int, int, int]]:
    """programme -> (issued, retired, frozen)."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for p in state.programmes.values():
        if p.credit_issued:
            out[p.programme_id][0] = p.credit_issued
    for b in state.blocks.values():
        size = b.end - b.start + 1
        if b.account in TERMINAL_ACCOUNTS:
            out[b.programme_id][1] += size
        elif b.frozen:
            out[b.programme_id][2] += size
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


async def check_as_of(conn: asyncpg.Connection, schema: str, h: History, seq: int) -> None:
    state = state_at(h, seq)
    # Blocks: every version valid at seq, as the writer held them then.
    rows = await time_travel.blocks(
        conn,
        schema,
        ROOT,
        seq=seq,
        programme_id=None,
        unit=None,
        company_id=None,
        state=None,
        after=0,
        limit=500,
    )
    got = sorted(
        (r["block_id"], r["range_start"], r["range_end"], r["account"], r["company_id"], r["state"])
        for r in rows
    )
    assert got == oracle_blocks(state), seq
    # Holdings of every organisation that held anything.
    for cid in (GOV_COMPANY_ID, h.w.pd1, h.w.pd2):
        held = await time_travel.holdings(conn, schema, cid, None, seq)
        assert {
            (r["account"], r["programme_id"]): (r["available"], r["frozen"]) for r in held
        } == oracle_holdings(state, cid), (seq, cid)
        assert all(r["total"] == r["available"] + r["frozen"] for r in held)
    # Statistics per programme.
    stats = await time_travel.credit_stats(conn, schema, seq, None)
    assert {r["programme_id"]: (r["issued"], r["retired"], r["frozen"]) for r in stats} == (
        oracle_stats(state)
    ), seq
    for r in stats:
        assert r["held"] == r["issued"] - r["retired"]
        assert r["available"] == r["held"] - r["frozen"]
    # The country ledger.
    country = await time_travel.country_accounts(conn, schema, seq)
    assert country["issued"] == sum(p.credit_issued for p in state.programmes.values())
    assert country["serial_counter"] == state.serial_counter
    retired = sum(b.end - b.start + 1 for b in state.blocks.values() if b.account == "retired")
    assert country["retired"] == retired
    by_account = {a["account"]: a["total"] for a in country["accounts"]}
    for account in ("gov:local", "gov:international", "gov:omge"):
        assert by_account[account] == sum(
            b.end - b.start + 1 for b in state.blocks.values() if b.account == account
        ), (seq, account)


async def test_time_travel_equals_the_writers_own_fold_at_every_step(fresh_db: str) -> None:
    h = credit_history()
    registry = h.w.reg.state.registry
    await write_log(fresh_db, registry, h.raws)
    await project_live(fresh_db, registry, "rm_tt", batch_size=11)
    source = PgEventSource(fresh_db, registry)
    try:
        rebuilt, _, _ = await rebuild(fresh_db, source, "rm_tt_replay", switch=False)
    finally:
        await source.close()
    conn = await asyncpg.connect(fresh_db)
    try:
        seqs = sorted({0, *(seq for seq, _ in h.marks)})
        for seq in seqs:
            await check_as_of(conn, "rm_tt", h, seq)
        for seq in seqs[::4]:
            await check_as_of(conn, rebuilt, h, seq)
    finally:
        await conn.close()


async def test_times_resolve_to_the_last_event_at_or_before_them(fresh_db: str) -> None:
    h = credit_history()
    registry = h.w.reg.state.registry
    await write_log(fresh_db, registry, h.raws)
    await project_live(fresh_db, registry, "rm_tt", batch_size=50)
    conn = await asyncpg.connect(fresh_db)
    try:
        applied = h.last_seq
        first_time = h.marks[0][1]
        # Before the first event: nothing had happened yet.
        assert (
            await time_travel.seq_at_time(conn, "rm_tt", first_time - timedelta(days=1), applied)
            == 0
        )
        for (seq, at), (_, next_at) in zip(h.marks[1:], [*h.marks[2:], (0, None)], strict=True):
            assert await time_travel.seq_at_time(conn, "rm_tt", at, applied) == seq
            if next_at is not None:
                halfway = at + (next_at - at) / 2
                assert await time_travel.seq_at_time(conn, "rm_tt", halfway, applied) == seq
            assert await time_travel.time_of_seq(conn, "rm_tt", seq) == at
        # After the last event: as of now.
        last = h.marks[-1][1] + timedelta(days=365)
        assert await time_travel.seq_at_time(conn, "rm_tt", last, applied) == applied
    finally:
        await conn.close()
