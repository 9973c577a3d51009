"""Settings shared by every process: which registry, where its log and database are.

Read from the environment (prefix ``REGISTRY_``, plus ``KAFKA_BOOTSTRAP`` and
``DATABASE_URL``). With neither Kafka nor a database configured, the registry runs embedded:
the log is a table in an embedded PostgreSQL kept under ``data_dir``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.mail.settings import MailSettings


class RegistrySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    registry: str = Field("demo", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    kafka_bootstrap: str | None = Field(
        None, validation_alias=AliasChoices("KAFKA_BOOTSTRAP", "REGISTRY_KAFKA_BOOTSTRAP")
    )
    kafka_replication: int = Field(1, ge=1, le=5)
    database_url: str | None = Field(
        None, validation_alias=AliasChoices("DATABASE_URL", "REGISTRY_DATABASE_URL")
    )
    data_dir: Path = Path(".registry-data")
    country_code: str = Field("NG", pattern=r"^[A-Z]{2}$")
    country_name: str = "Nigeria"
    credit_unit: str = "ITMO"
    government_name: str = "Government of Nigeria"
    government_email: str = "registry@gov.example.org"
    root_email: str = "root@registry.example.org"
    root_password: str | None = None
    # Signs access tokens. Generated and kept in data_dir when not given (embedded only).
    token_secret: str | None = None
    # Signs log checkpoints (base64url Ed25519 seed; `registry signing-key --new` makes one).
    # Generated and kept in data_dir when not given (embedded only); else no checkpoints.
    signing_key: str | None = None
    command_timeout_s: float = Field(10.0, gt=0, le=60)
    read_wait_max_s: float = Field(10.0, gt=0, le=60)
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    query_port: int = Field(8001, ge=1, le=65535)
    log_json: bool = True
    # Outgoing mail (env REGISTRY_MAIL_*): SMTP when a host is set, else a local Maildir.
    mail: MailSettings = Field(default_factory=MailSettings)

    @property
    def embedded(self) -> bool:
        return self.kafka_bootstrap is None
