"""Signed log checkpoints: what is signed, what verifies, what does not, and that a
checkpoint pins the log (a chain cut short or rewritten is caught)."""

from __future__ import annotations

import dataclasses
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from libs.eventlog.signing import (
    KEY_FILE,
    CheckpointInvalid,
    check_signature,
    key_id,
    key_in_dir,
    new_private_key_text,
    parse,
    public_key_text,
    read_private_key,
    read_public_key,
    sign,
    statement,
)
from libs.eventlog.verify import Verifier
from tests.unit.libs.test_verify import chain

SEED = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"  # bytes 0..31
AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HASH = "ab" * 32


def test_the_signed_bytes_are_the_canonical_statement_and_the_signature_is_stable() -> None:
    key = read_private_key(SEED)
    cp = sign(key, "ng", 42, HASH, AT)
    assert statement("ng", 42, HASH, "2026-11-30T12:00:00Z") == (
        b'{"hash":"' + HASH.encode() + b'","kind":"registry-log-checkpoint/v1",'
        b'"registry":"ng","seq":42,"signed_at":"2026-11-30T12:00:00Z"}'
    )
    # Ed25519 is deterministic: a verifier in any language can check this golden value.
    assert cp.signature == sign(key, "ng", 42, HASH, AT).signature
    assert cp.key_id == key_id(key.public_key())
    assert len(cp.key_id) == 16
    check_signature(
        parse(orjson.dumps(cp.to_json())), read_public_key(public_key_text(key.public_key()))
    )


@given(
    field=st.sampled_from(["registry", "seq", "hash", "signed_at"]),
)
def test_changing_any_signed_field_breaks_the_signature(field: str) -> None:
    key = read_private_key(SEED)
    cp = sign(key, "ng", 42, HASH, AT)
    changed = {
        "registry": "ke",
        "seq": 43,
        "hash": "cd" * 32,
        "signed_at": "2026-11-30T12:00:01Z",
    }[field]
    forged = dataclasses.replace(cp, **{field: changed})
    with pytest.raises(CheckpointInvalid, match="does not verify"):
        check_signature(forged, key.public_key())


def test_another_key_is_named_and_refused() -> None:
    mine = read_private_key(SEED)
    theirs = read_private_key(new_private_key_text())
    cp = sign(theirs, "ng", 42, HASH, AT)
    with pytest.raises(CheckpointInvalid, match="signed by key"):
        check_signature(cp, mine.public_key())
    # Even with our key id written on it, their signature does not verify.
    with pytest.raises(CheckpointInvalid, match="does not verify"):
        check_signature(
            dataclasses.replace(cp, key_id=key_id(mine.public_key())), mine.public_key()
        )


@pytest.mark.parametrize(
    "text",
    [
        b"not json",
        b"[]",
        b'{"kind": "something else"}',
        b'{"kind": "registry-log-checkpoint/v1", "registry": "ng"}',
        b'{"kind": "registry-log-checkpoint/v1", "registry": "ng", "seq": 0, "hash": "x",'
        b' "signed_at": "t", "key_id": "k", "signature": "s"}',
        b'{"kind": "registry-log-checkpoint/v1", "registry": "ng", "seq": "x", "hash": "x",'
        b' "signed_at": "t", "key_id": "k", "signature": "s"}',
    ],
)
def test_an_unreadable_checkpoint_is_refused(text: bytes) -> None:
    with pytest.raises(CheckpointInvalid):
        parse(text)


def test_bad_keys_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="REGISTRY_SIGNING_KEY"):
        read_private_key("too-short")
    with pytest.raises(CheckpointInvalid, match="not an Ed25519 public key"):
        read_public_key("AAAA")


def test_the_embedded_key_is_made_once_and_private(tmp_path: Path) -> None:
    first = key_in_dir(tmp_path)
    again = key_in_dir(tmp_path)
    assert public_key_text(first.public_key()) == public_key_text(again.public_key())
    mode = stat.S_IMODE(os.stat(tmp_path / KEY_FILE).st_mode)
    assert mode == 0o600


def pinned(raws: list[bytes], seq: int, hash_: str) -> Verifier:
    key = read_private_key(SEED)
    v = Verifier(checkpoints=[sign(key, "testland", seq, hash_, AT)])
    for position, raw in enumerate(raws):
        v.feed(position, raw)
    v.finish()
    return v


def test_a_checkpoint_pins_the_log() -> None:
    raws = chain(20)
    head = orjson.loads(raws[-1])["hash"]
    at_12 = orjson.loads(raws[11])["hash"]
    assert pinned(raws, 20, head).report.ok
    assert pinned(raws, 12, at_12).report.ok
    # Cut short: the first 15 events are still a valid chain, but not the one signed.
    short = pinned(raws[:15], 20, head).report
    assert [(b.seq, "cut short" in b.reason) for b in short.breaks] == [(20, True)]
    # Another event at a signed seq (the log rewritten from there on).
    rewritten = pinned(raws, 12, "00" * 32).report
    assert [(b.seq, "rewritten" in b.reason) for b in rewritten.breaks] == [(12, True)]
