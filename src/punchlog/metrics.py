"""Prometheus metrics (``GET /metrics``): requests, logs by outcome and reason, commits.

One process: the default registry. Several worker processes (``punchlog serve --workers N``):
prometheus_client's multiprocess mode, each worker writing its values to files in
``PROMETHEUS_MULTIPROC_DIR`` (set by ``serve`` before the workers start) and ``/metrics``
adding them up, whichever worker answers. No label carries a tenant, key or identifier.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "punchlog_http_requests_total",
    "HTTP requests answered, by method and status.",
    ["method", "status"],
)
LOGS = Counter(
    "punchlog_logs_total",
    "Logs received by POST /v1/logs, by outcome (new, duplicate, unmatched, rejected) and, "
    "for rejected logs, reason.",
    ["outcome", "reason"],
)
COMMIT_SECONDS = Histogram(
    "punchlog_commit_seconds",
    "Time to run and commit one group of ingest requests (SQLite group commit).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
GROUP_SIZE = Histogram(
    "punchlog_commit_group_requests",
    "Requests committed together in one transaction (SQLite group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
QUEUE_DEPTH = Gauge(
    "punchlog_commit_queue_depth",
    "Requests waiting for the group-commit writer when it took its last group.",
    multiprocess_mode="livesum",
)
COMMIT_FAILURES = Counter(
    "punchlog_commit_failures_total",
    "Group commits that failed (every request in them was answered 503).",
)


def count_logs(counts: Mapping[str, int], rejected: Mapping[str, int]) -> None:
    """``counts``: accepted logs by outcome; ``rejected``: rejected logs by reason."""
    for outcome, n in counts.items():
        if n:
            LOGS.labels(outcome, "").inc(n)
    for reason, n in rejected.items():
        LOGS.labels("rejected", reason).inc(n)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric (all workers' in multiprocess mode)."""
    if os.environ.get(MULTIPROC_DIR):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
