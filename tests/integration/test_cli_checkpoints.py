"""`registry checkpoint` signs the verified head; `registry verify --checkpoint` later catches
a log cut short (which still chains) and refuses a forged or foreign checkpoint."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import orjson
import pytest

from libs.eventlog.signing import SignedCheckpoint, new_private_key_text, parse
from tests.integration.harness import run_cli
from tests.integration.test_projector_and_replay import fill_embedded_log

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run_cli, args, env)


@dataclass
class Signed:
    env: dict[str, str]  # the registry's settings (its signing key included)
    last: int  # the log's last seq
    checkpoint: SignedCheckpoint  # of that head, from `registry checkpoint`
    path: Path  # where it is saved, as served


async def signed_log(fresh_db: str, reg: str, n: int, tmp_path: Path) -> Signed:
    """A registry log of ``n`` programmes and a signed checkpoint of its head."""
    last = await fill_embedded_log(fresh_db, reg, n=n)
    env = {
        "DATABASE_URL": fresh_db,
        "REGISTRY_REGISTRY": reg,
        "REGISTRY_SIGNING_KEY": new_private_key_text(),
    }
    signed = await run(["checkpoint"], env)
    assert signed.returncode == 0, signed.stdout + signed.stderr
    cp = parse(signed.stdout.strip().splitlines()[-1])
    assert (cp.registry, cp.seq) == (reg, last)
    path = tmp_path / "checkpoint.json"
    path.write_bytes(orjson.dumps(cp.to_json()))
    return Signed(env, last, cp, path)


async def test_a_signed_checkpoint_catches_a_log_cut_short(
    fresh_db: str, unique_registry: str, tmp_path: Path
) -> None:
    reg = unique_registry
    s = await signed_log(fresh_db, reg, 10, tmp_path)  # 15 events
    env, last, cp, path = s.env, s.last, s.checkpoint, s.path

    ok = await run(["verify", "--checkpoint", str(path)], env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "signed checkpoints checked: 1" in ok.stdout

    key = await run(["signing-key"], env)
    assert key.returncode == 0, key.stderr
    assert f"(key id {cp.key_id})" in key.stdout

    # The last two events disappear: what is left still chains...
    conn = await asyncpg.connect(fresh_db)
    try:
        await conn.execute("ALTER TABLE log.events DISABLE TRIGGER events_append_only")
        await conn.execute("DELETE FROM log.events WHERE registry = $1 AND seq > $2", reg, last - 2)
    finally:
        await conn.close()
    plain = await run(["verify"], env)
    assert plain.returncode == 0, plain.stdout
    # ...but not to the head that was signed.
    caught = await run(["verify", "--checkpoint", str(path)], env)
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert f"ends at seq {last - 2}, before seq {last}" in caught.stdout
    assert "cut short" in caught.stdout

    # A checkpoint edited to match the shorter log does not verify.
    edited = {**cp.to_json(), "seq": last - 2}
    path.write_bytes(orjson.dumps(edited))
    forged = await run(["verify", "--checkpoint", str(path)], env)
    assert forged.returncode == 1
    assert "INVALID checkpoint" in forged.stdout
    assert "does not verify" in forged.stdout
    # Nor does one checked against another registry's key.
    path.write_bytes(orjson.dumps(cp.to_json()))
    other_key = "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"
    foreign = await run(["verify", "--checkpoint", str(path), "--public-key", other_key], env)
    assert foreign.returncode == 1
    assert "signed by key" in foreign.stdout


async def test_an_auditor_verifies_an_exported_log_with_nothing_but_the_file(
    fresh_db: str, unique_registry: str, tmp_path: Path
) -> None:
    s = await signed_log(fresh_db, unique_registry, 6, tmp_path)  # 11 events
    env, last, cp_path = s.env, s.last, s.path
    key = (await run(["signing-key"], env)).stdout.split("public key ")[1].split()[0]
    log_path = tmp_path / "log.jsonl"
    exported = await run(["export-log", str(log_path)], env)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    lines = log_path.read_bytes().splitlines()
    assert len(lines) == last

    # The auditor: no database, no broker, no registry settings; the file, the checkpoint
    # and the registry's public key.
    auditor = {"REGISTRY_DATA_DIR": str(tmp_path / "auditor"), "DATABASE_URL": ""}
    args = ["verify", "--log-file", str(log_path), "--checkpoint", str(cp_path)]
    ok = await run([*args, "--public-key", key], auditor)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"last seq: {last}" in ok.stdout
    assert "signed checkpoints checked: 1" in ok.stdout
    assert not (tmp_path / "auditor").exists()  # nothing made on the auditor's side

    # One byte changed in one event: caught, and where.
    at = next(i for i, line in enumerate(lines) if b"Developer" in line)
    altered = [*lines]
    altered[at] = altered[at].replace(b"Developer", b"Devel0per", 1)
    log_path.write_bytes(b"\n".join(altered) + b"\n")
    broken = await run([*args, "--public-key", key], auditor)
    assert broken.returncode == 1
    assert f"BREAK at position {at} (seq {at + 1}): hash does not match" in broken.stdout
    # The last events dropped: still a chain, not the signed one.
    log_path.write_bytes(b"\n".join(lines[:-3]) + b"\n")
    short = await run([*args, "--public-key", key], auditor)
    assert short.returncode == 1
    assert "cut short" in short.stdout
    # A checkpoint without the key to check it: refused, not trusted.
    unkeyed = await run(args, auditor)
    assert unkeyed.returncode != 0
    assert "--public-key" in unkeyed.stdout + unkeyed.stderr
