"""The one configuration object, read from ``PUNCHLOG_*`` environment variables.

Composition roots (the CLI, the ASGI factory) build a :class:`Settings` and pass it down;
nothing else reads the environment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting, its default, and what it does (the README lists them all)."""

    model_config = SettingsConfigDict(env_prefix="PUNCHLOG_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///punchlog.db",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db.",
    )
    host: str = Field(default="127.0.0.1", description="Address `punchlog serve` binds to.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port `punchlog serve` binds to.")
    workers: int = Field(default=1, ge=1, le=64, description="Server worker processes.")
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1024, description="Largest request body accepted (413 above)."
    )
    max_logs_per_request: int = Field(
        default=1000, ge=1, le=100_000, description="Most logs in one POST /v1/logs (400 above)."
    )
    rate_limit_per_second: float = Field(
        default=100.0,
        ge=0,
        description="Requests per second allowed per API key (token bucket); 0 disables.",
    )
    rate_limit_burst: int = Field(
        default=200, ge=1, description="Requests a key may send at once before being limited."
    )
    statement_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="PostgreSQL: longest a statement may run or wait for a lock before the "
        "request fails with 503 (no request hangs on a stuck database).",
    )
    sqlite_synchronous: Literal["FULL", "NORMAL", "EXTRA"] = Field(
        default="FULL",
        description="SQLite synchronous pragma; FULL: an acknowledged log survives power loss.",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=10_000, ge=0, description="How long a SQLite writer waits for the lock."
    )
    group_commit: bool = Field(
        default=True,
        description="SQLite: one writer thread commits concurrent ingests together (one "
        "fsync for many requests, each answered after the commit).",
    )
    pool_size: int = Field(default=10, ge=1, description="PostgreSQL connections per process.")
    pool_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a request waits for a database connection."
    )
    rejected_retention_days: int = Field(
        default=90, ge=1, description="Rejected logs older than this are pruned."
    )
    rejected_max_per_tenant: int = Field(
        default=100_000, ge=100, description="Most rejected logs kept per tenant (oldest pruned)."
    )
    recompute_interval_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How often the server recomputes attendance in the background; 0: only "
        "when read (reads always catch up first).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Server log level."
    )
    metrics_token: str | None = Field(
        default=None,
        min_length=16,
        description="Bearer token GET /metrics requires (Authorization: Bearer ...); unset: "
        "/metrics is off (its counts span every tenant).",
    )
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="Server log lines: one JSON object each (with the request id), or text.",
    )
