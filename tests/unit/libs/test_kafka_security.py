"""Kafka client security settings: what each protocol passes to aiokafka, and the
incomplete settings refused with the variable named."""

from __future__ import annotations

import ssl

import pytest

from libs.eventlog.kafka_security import KafkaSecurityError, kafka_options


def test_plaintext_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SECURITY_PROTOCOL", "SASL_USERNAME", "SASL_PASSWORD"):
        monkeypatch.delenv(f"REGISTRY_KAFKA_{name}", raising=False)
    assert kafka_options() == {"security_protocol": "PLAINTEXT"}


def test_sasl_passes_the_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("REGISTRY_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("REGISTRY_KAFKA_SASL_USERNAME", "processor")
    monkeypatch.setenv("REGISTRY_KAFKA_SASL_PASSWORD", "s3cret")
    assert kafka_options() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "processor",
        "sasl_plain_password": "s3cret",
    }


def test_tls_gets_an_ssl_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("REGISTRY_KAFKA_SASL_USERNAME", "processor")
    monkeypatch.setenv("REGISTRY_KAFKA_SASL_PASSWORD", "s3cret")
    options = kafka_options()
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SECURITY_PROTOCOL": "SASL_SSL"}, "REGISTRY_KAFKA_SASL_USERNAME"),
        ({"SECURITY_PROTOCOL": "SASL_PLAINTEXT", "SASL_USERNAME": "u"}, "SASL_PASSWORD"),
        ({"SECURITY_PROTOCOL": "SSL", "SSL_CERTFILE": "/tmp/c.pem"}, "SSL_KEYFILE"),
        ({"SECURITY_PROTOCOL": "TLS"}, "REGISTRY_KAFKA_SECURITY_PROTOCOL: Input should be"),
    ],
)
def test_incomplete_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for name in ("SASL_USERNAME", "SASL_PASSWORD", "SSL_CERTFILE", "SSL_KEYFILE"):
        monkeypatch.delenv(f"REGISTRY_KAFKA_{name}", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(f"REGISTRY_KAFKA_{key}", value)
    with pytest.raises(KafkaSecurityError, match=named):
        kafka_options()
