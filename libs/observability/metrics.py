"""Prometheus metrics of every service (one registry of metrics per process)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

COMMANDS = Counter(
    "registry_commands_total",
    "Commands decided by the processor, by outcome and error code",
    ["registry", "type", "status", "code"],
)
BATCH_SIZE = Histogram(
    "registry_processor_batch_commands",
    "Commands per processor transaction",
    ["registry"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
TXN_SECONDS = Histogram(
    "registry_processor_commit_seconds",
    "Latency of one processor commit (events + results + command offsets)",
    ["registry"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
PROCESSOR_SEQ = Gauge("registry_processor_seq", "Last seq written by the processor", ["registry"])
PROJECTOR_SEQ = Gauge(
    "registry_projector_seq", "Last seq applied to the read models", ["registry", "projection"]
)
PROJECTOR_HALTED = Gauge(
    "registry_projector_halted",
    "1 while the projector is halted on an event it cannot apply (see its dead letters)",
    ["registry", "projection"],
)
PROJECTOR_LAG = Gauge(
    "registry_projector_lag_events",
    "Log positions not yet applied to the read models (events; on Kafka also one commit"
    " marker per processor transaction), refreshed about once a second",
    ["registry", "projection"],
)
HTTP_REQUESTS = Counter(
    "registry_http_requests_total", "HTTP requests", ["service", "method", "status"]
)


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
