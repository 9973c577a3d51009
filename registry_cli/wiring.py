"""Building the parts from settings: database, log adapters, secrets, the init command."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from command_service.adapters.credentials import CredentialStore
from command_service.application.ports import CommandBus
from libs.auth.accounts import ROOT_USER_ID
from libs.auth.passwords import generate_password, hash_password
from libs.auth.reset_mail import reset_link, reset_message
from libs.eventlog.kafka_source import KafkaEventSource
from libs.eventlog.pg_log import PgEventSource
from libs.eventlog.ports import EventSource
from libs.eventlog.signing import key_in_dir, read_private_key
from libs.eventlog.topics import Topics
from libs.localinfra.postgres import LocalPostgres
from libs.mail.message import MailMessage
from libs.mail.settings import MailSettings
from libs.mail.transport import MailTransport
from libs.settings import RegistrySettings
from schemas.commands.registry import InitialiseRegistry
from schemas.envelope import SYSTEM_ACTOR, CommandEnvelope, ResultEnvelope


@contextlib.asynccontextmanager
async def database(settings: RegistrySettings) -> AsyncIterator[str]:
    """The DSN to use: DATABASE_URL, or an embedded PostgreSQL under the data dir."""
    if settings.database_url:
        yield settings.database_url
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pg = LocalPostgres(settings.data_dir / "pg")
    await asyncio.to_thread(pg.start)
    try:
        yield pg.dsn
    finally:
        await asyncio.to_thread(pg.stop)


def signing_key(settings: RegistrySettings) -> Ed25519PrivateKey | None:
    """The key that signs log checkpoints: ``REGISTRY_SIGNING_KEY``, or in the embedded mode
    one kept in the data dir; None otherwise (the read API then offers no checkpoints)."""
    if settings.signing_key:
        return read_private_key(settings.signing_key)
    if settings.embedded:
        return key_in_dir(settings.data_dir)
    return None


def token_secret(settings: RegistrySettings) -> str:
    if settings.token_secret:
        return settings.token_secret
    if not settings.embedded:
        raise SystemExit("REGISTRY_TOKEN_SECRET must be set (32+ bytes) outside the embedded mode")
    path = settings.data_dir / "token_secret"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def event_source(settings: RegistrySettings, dsn: str) -> EventSource:
    if settings.kafka_bootstrap:
        return KafkaEventSource(settings.kafka_bootstrap, Topics(settings.registry).events)
    return PgEventSource(dsn, settings.registry)


@dataclass
class InitOutcome:
    result: ResultEnvelope
    root_password: str | None


async def initialise(
    settings: RegistrySettings, bus: CommandBus, credentials: CredentialStore
) -> InitOutcome:
    """Submit the one-time setup; on first success store the Root password's hash.

    The Root password comes from REGISTRY_ROOT_PASSWORD or is generated; a generated one is
    returned so the caller prints it once. It is never logged.
    """
    env = CommandEnvelope(
        registry=settings.registry,
        command_id=f"registry-initialise-{uuid.uuid4().hex}",
        type=InitialiseRegistry.TYPE,
        actor=SYSTEM_ACTOR,
        submitted_at=datetime.now(UTC),
        payload=InitialiseRegistry(
            country_code=settings.country_code,
            country_name=settings.country_name,
            credit_unit=settings.credit_unit,
            government_name=settings.government_name,
            government_email=settings.government_email,
            root_email=settings.root_email,
        ).model_dump(mode="json"),
    )
    result = await bus.submit(env, 30.0)
    password: str | None = None
    already = result.error is not None and result.error.code == "registry.already_initialised"
    if (result.status == "accepted" or already) and not await credentials.has_any():
        password = settings.root_password or generate_password()
        hashed = await asyncio.to_thread(hash_password, password)
        await credentials.set_password(ROOT_USER_ID, settings.root_email, hashed)
        if settings.root_password:
            password = None
    return InitOutcome(result, password)


async def credential_store(dsn: str, registry: str) -> tuple[asyncpg.Pool, CredentialStore]:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10)
    store = CredentialStore(pool, registry)
    await store.ensure()
    return pool, store


class TransportResetNotifier:
    """Sends password-reset links straight through the mail transport (SMTP or Maildir).

    Reset links are secrets: they never pass through the outbox table or the log.
    """

    def __init__(self, transport: MailTransport, mail: MailSettings) -> None:
        self._transport = transport
        self._mail = mail

    async def send_reset(self, email: str, token: str, *, welcome: bool = False) -> None:
        link = reset_link(self._mail.public_url, token)
        msg = reset_message(self._mail.sender, email, link, datetime.now(UTC), welcome=welcome)
        body = msg.get_content()
        message = MailMessage(
            message_id=f"<reset.{uuid.uuid4().hex}@{self._mail.message_id_domain}>",
            sender=self._mail.sender,
            to=(email,),
            subject=f"{self._mail.subject_prefix}"
            + ("set your password" if welcome else "reset your password"),
            body_text=str(body),
        )
        await self._transport.send(message)
