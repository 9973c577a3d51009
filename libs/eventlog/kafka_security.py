"""How every Kafka client of the registry authenticates to the brokers and encrypts.

A national registry's brokers should accept only its own processes: TLS on the wire and SASL
credentials per service (ARCHITECTURE.md: only the processor may write the events and
results topics, which the brokers' ACLs enforce per principal). Every aiokafka client made
here (processor, command API, projector, replay, admin) takes ``kafka_options()``, read from
the environment of the process:

- ``REGISTRY_KAFKA_SECURITY_PROTOCOL``: ``PLAINTEXT`` (default), ``SSL``, ``SASL_PLAINTEXT``
  or ``SASL_SSL``;
- ``REGISTRY_KAFKA_SASL_MECHANISM``: ``PLAIN`` (default), ``SCRAM-SHA-256``, ``SCRAM-SHA-512``;
- ``REGISTRY_KAFKA_SASL_USERNAME`` / ``_PASSWORD``: this service's credentials (SASL);
- ``REGISTRY_KAFKA_SSL_CAFILE``: the CA that signed the brokers' certificates (SSL);
- ``REGISTRY_KAFKA_SSL_CERTFILE`` / ``_KEYFILE``: this service's certificate (mutual TLS).

An incomplete setting (SASL without credentials, a key without its certificate) is refused
when the first client is made, with the variable named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSecurityError(ValueError):
    """The Kafka security settings are incomplete or contradictory."""


class KafkaSecurity(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_KAFKA_", extra="ignore")

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    @model_validator(mode="after")
    def _complete(self) -> KafkaSecurity:
        sasl = self.security_protocol.startswith("SASL")
        if sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError(
                f"REGISTRY_KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs"
                " REGISTRY_KAFKA_SASL_USERNAME and REGISTRY_KAFKA_SASL_PASSWORD"
            )
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError(
                "REGISTRY_KAFKA_SSL_CERTFILE and REGISTRY_KAFKA_SSL_KEYFILE go together"
            )
        return self

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client."""
        options: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.security_protocol.startswith("SASL"):
            assert self.sasl_password is not None
            options.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password.get_secret_value(),
            )
        if self.security_protocol.endswith("SSL"):
            from aiokafka.helpers import create_ssl_context

            options["ssl_context"] = create_ssl_context(
                cafile=str(self.ssl_cafile) if self.ssl_cafile else None,
                certfile=str(self.ssl_certfile) if self.ssl_certfile else None,
                keyfile=str(self.ssl_keyfile) if self.ssl_keyfile else None,
            )
        return options


def kafka_options() -> dict[str, Any]:
    """The security options for a new aiokafka client, from this process's environment."""
    try:
        return KafkaSecurity().client_options()
    except ValidationError as exc:
        raise KafkaSecurityError(
            "; ".join(
                (f"REGISTRY_KAFKA_{str(e['loc'][0]).upper()}: " if e["loc"] else "")
                + str(e["msg"]).removeprefix("Value error, ")
                for e in exc.errors()
            )
        ) from None
