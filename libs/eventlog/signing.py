"""Signed checkpoints of the log: "registry R's log, at seq N, ends in hash H", signed.

The hash chain shows that no event was altered, reordered or removed *between* two points,
but a log cut short, or rewritten from some seq on with a fresh chain, is still a valid
chain. A signed checkpoint pins the head as it was: whoever keeps one (an auditor, another
registry, the public) can later check that the log still holds that seq with that hash
(``registry verify --checkpoint``), and nobody without the registry's key can make one
for a rewritten log. It is what a Certificate Transparency log's signed tree head does.

The signature is Ed25519 over the canonical JSON of the statement (sorted keys, no
spaces): ``{"kind", "registry", "seq", "hash", "signed_at"}``. ``key_id`` names the public
key (the first 16 hex digits of its SHA-256) so a verifier can tell which key to use; the key
itself is published separately (``GET /public/log/key``, ``registry signing-key``) and
should be pinned by verifiers, never taken from the checkpoint.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KIND = "registry-log-checkpoint/v1"
KEY_FILE = "signing_key"


class CheckpointInvalid(ValueError):
    """A checkpoint that does not read, or whose signature does not verify."""


@dataclass(frozen=True)
class SignedCheckpoint:
    registry: str
    seq: int
    hash: str
    signed_at: str
    key_id: str
    signature: str

    def statement(self) -> bytes:
        return statement(self.registry, self.seq, self.hash, self.signed_at)

    def to_json(self) -> dict[str, Any]:
        return {"kind": KIND, **asdict(self)}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def statement(registry: str, seq: int, hash_: str, signed_at: str) -> bytes:
    """The exact bytes that are signed."""
    body = {"kind": KIND, "registry": registry, "seq": seq, "hash": hash_, "signed_at": signed_at}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]


def public_key_text(key: Ed25519PublicKey) -> str:
    """The public key as published: base64url of its 32 raw bytes."""
    return _b64(public_key_bytes(key))


def read_public_key(text: str) -> Ed25519PublicKey:
    try:
        raw = _unb64(text.strip())
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise CheckpointInvalid(f"not an Ed25519 public key: {exc}") from exc


def read_private_key(text: str) -> Ed25519PrivateKey:
    """A private key given as base64url of its 32-byte seed (``REGISTRY_SIGNING_KEY``)."""
    try:
        return Ed25519PrivateKey.from_private_bytes(_unb64(text.strip()))
    except ValueError as exc:
        raise ValueError(f"REGISTRY_SIGNING_KEY is not a base64url Ed25519 seed: {exc}") from exc


def new_private_key_text() -> str:
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    return _b64(seed)


def key_in_dir(data_dir: Path) -> Ed25519PrivateKey:
    """The embedded registry's key, kept in ``data_dir`` (created once, mode 0600)."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it meanwhile
        else:
            with os.fdopen(fd, "w") as f:
                f.write(new_private_key_text())
    return read_private_key(path.read_text())


def sign(
    key: Ed25519PrivateKey, registry: str, seq: int, hash_: str, now: datetime | None = None
) -> SignedCheckpoint:
    signed_at = (now or datetime.now(UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")
    signature = key.sign(statement(registry, seq, hash_, signed_at))
    return SignedCheckpoint(
        registry, seq, hash_, signed_at, key_id(key.public_key()), _b64(signature)
    )


def parse(data: bytes | str) -> SignedCheckpoint:
    """A checkpoint from its JSON form (as served and saved)."""
    try:
        body = orjson.loads(data)
        if not isinstance(body, dict) or body.get("kind") != KIND:
            raise CheckpointInvalid(f"not a {KIND} checkpoint")
        cp = SignedCheckpoint(
            registry=str(body["registry"]),
            seq=int(body["seq"]),
            hash=str(body["hash"]),
            signed_at=str(body["signed_at"]),
            key_id=str(body["key_id"]),
            signature=str(body["signature"]),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, CheckpointInvalid):
            raise
        raise CheckpointInvalid(f"unreadable checkpoint: {exc}") from exc
    if cp.seq < 1:
        raise CheckpointInvalid(f"checkpoint seq {cp.seq} is not a seq of the log")
    return cp


def check_signature(cp: SignedCheckpoint, key: Ed25519PublicKey) -> None:
    """Raise ``CheckpointInvalid`` unless ``key`` signed exactly this checkpoint."""
    if cp.key_id != key_id(key):
        raise CheckpointInvalid(f"signed by key {cp.key_id}, not by this registry's {key_id(key)}")
    try:
        key.verify(_unb64(cp.signature), cp.statement())
    except (InvalidSignature, ValueError) as exc:
        raise CheckpointInvalid("the signature does not verify") from exc
