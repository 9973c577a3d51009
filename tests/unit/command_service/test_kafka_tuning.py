"""The processor's transactions rely on one aiokafka internal: fail loudly if it moves."""

from __future__ import annotations

import inspect

from aiokafka.producer import sender

from command_service.adapters import kafka_log


def test_the_concurrent_transactions_backoff_is_ours_and_still_read_by_aiokafka() -> None:
    # kafka_log sets aiokafka's hard-coded retry (20 ms) for CONCURRENT_TRANSACTIONS to ours;
    # after an aiokafka upgrade the name could vanish and the assignment would do nothing.
    assert sender.BACKOFF_OVERRIDE == kafka_log.TXN_RETRY_BACKOFF_MS / 1000
    assert "return BACKOFF_OVERRIDE" in inspect.getsource(sender)
