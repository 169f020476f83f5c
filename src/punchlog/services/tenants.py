"""Tenants: create, list, change settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from punchlog.domain.logs import Policy
from punchlog.domain.times import load_zone
from punchlog.errors import Conflict, InvalidInput, NotFound
from punchlog.services.store import Store, utcnow
from punchlog.storage import tenants as tenant_rows

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
UNKNOWN_EMPLOYEE_MODES = ("hold", "reject")


@dataclass(frozen=True, slots=True)
class Tenant:
    id: int
    slug: str
    name: str
    timezone: str
    backdate_days: int
    unknown_employees: str
    created_at: datetime
    future_tolerance_seconds: int = 300
    bounce_seconds: int = 60
    default_shift_id: int | None = None
    default_shift: str | None = None
    rate_limit_per_second: float | None = None  # None: the server's default
    rate_limit_burst: int | None = None

    @classmethod
    def from_row(cls, row: RowMapping) -> Tenant:
        return cls(
            id=row["id"],
            slug=row["slug"],
            name=row["name"],
            timezone=row["timezone"],
            backdate_days=row["backdate_days"],
            unknown_employees=row["unknown_employees"],
            created_at=row["created_at"],
            future_tolerance_seconds=row["future_tolerance_seconds"],
            bounce_seconds=row["bounce_seconds"],
            default_shift_id=row["default_shift_id"],
            default_shift=row["default_shift"],
            rate_limit_per_second=row["rate_limit_per_second"],
            rate_limit_burst=row["rate_limit_burst"],
        )

    def policy(self) -> Policy:
        return policy_of(
            timezone=self.timezone,
            backdate_days=self.backdate_days,
            future_tolerance_seconds=self.future_tolerance_seconds,
            unknown_employees=self.unknown_employees,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "timezone": self.timezone,
            "backdateDays": self.backdate_days,
            "unknownEmployees": self.unknown_employees,
            "bounceSeconds": self.bounce_seconds,
            "defaultShift": self.default_shift,
            "rateLimitPerSecond": self.rate_limit_per_second,  # null: the server's default
            "rateLimitBurst": self.rate_limit_burst,
            "createdAt": self.created_at.isoformat(),
        }


MAX_TEXT = 200


def check_length(label: str, value: str | None, limit: int = MAX_TEXT) -> None:
    """Free text (names, locations, labels) is at most ``limit`` characters."""
    if value is not None and len(value) > limit:
        raise InvalidInput(f"{label} is longer than {limit} characters")


def policy_of(
    *, timezone: str, backdate_days: int, future_tolerance_seconds: int, unknown_employees: str
) -> Policy:
    """The tenant's ingestion rules, as the domain takes them (one place builds them)."""
    return Policy(
        zone=load_zone(timezone),
        backdate_days=backdate_days,
        future_tolerance_seconds=future_tolerance_seconds,
        hold_unknown_employees=unknown_employees == "hold",
    )


def validate_zone(name: str) -> str:
    try:
        load_zone(name)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    return name


def _validate_settings(backdate_days: int | None, unknown_employees: str | None) -> None:
    if backdate_days is not None and not 1 <= backdate_days <= 3650:
        raise InvalidInput("backdate days must be between 1 and 3650")
    if unknown_employees is not None and unknown_employees not in UNKNOWN_EMPLOYEE_MODES:
        raise InvalidInput("unknown employees must be 'hold' or 'reject'")


def create_tenant(
    store: Store,
    slug: str,
    *,
    name: str | None = None,
    timezone: str = "UTC",
    backdate_days: int = 30,
    unknown_employees: str = "hold",
) -> Tenant:
    if not _SLUG.fullmatch(slug):
        raise InvalidInput(
            f"Invalid tenant slug {slug!r}: use 1-63 lower-case letters, digits and '-'"
        )
    validate_zone(timezone)
    check_length("Tenant name", name)
    _validate_settings(backdate_days, unknown_employees)
    try:
        with store.write() as conn:
            tenant_rows.insert_tenant(
                conn,
                slug=slug,
                name=name or slug,
                timezone=timezone,
                backdate_days=backdate_days,
                unknown_employees=unknown_employees,
                now=utcnow(),
            )
            return require_tenant(conn, slug)
    except IntegrityError as exc:
        raise Conflict(f"Tenant {slug!r} already exists") from exc


def require_tenant(conn: Connection, slug: str) -> Tenant:
    row = tenant_rows.get_tenant_by_slug(conn, slug=slug)
    if row is None:
        raise NotFound(f"Unknown tenant {slug!r}")
    return Tenant.from_row(row)


def require_tenant_by_id(conn: Connection, tenant_id: int) -> Tenant:
    row = tenant_rows.get_tenant(conn, tenant_id=tenant_id)
    if row is None:
        raise NotFound(f"Unknown tenant id {tenant_id}")
    return Tenant.from_row(row)


def get_tenant(store: Store, slug: str) -> Tenant:
    with store.read() as conn:
        return require_tenant(conn, slug)


def list_tenants(store: Store) -> list[Tenant]:
    with store.read() as conn:
        return [Tenant.from_row(row) for row in tenant_rows.list_tenants(conn)]


def tenant_values(
    *, timezone: str | None, backdate_days: int | None, unknown_employees: str | None
) -> dict[str, Any]:
    """The checked column values of a settings change (``None``: leave as is)."""
    values: dict[str, Any] = {}
    if timezone is not None:
        values["timezone"] = validate_zone(timezone)
    _validate_settings(backdate_days, unknown_employees)
    if backdate_days is not None:
        values["backdate_days"] = backdate_days
    if unknown_employees is not None:
        values["unknown_employees"] = unknown_employees
    return values


def rate_limit_values(rate_limit: str | None, burst: int | None) -> dict[str, Any]:
    """The checked columns of a rate-limit change: ``rate_limit`` a number of requests per
    second per key (``0``: unlimited) or ``default`` (the server's rate and burst again)."""
    values: dict[str, Any] = {}
    if rate_limit is not None:
        if rate_limit.strip().lower() == "default":
            values.update(rate_limit_per_second=None, rate_limit_burst=None)
        else:
            try:
                rate = float(rate_limit)
            except ValueError:
                raise InvalidInput("rate limit must be a number or 'default'") from None
            if not 0 <= rate <= 1_000_000:  # NaN compares false: refused too
                raise InvalidInput("rate limit must be between 0 and 1000000 per second")
            values["rate_limit_per_second"] = rate
    if burst is not None:
        if not 1 <= burst <= 1_000_000:
            raise InvalidInput("rate burst must be between 1 and 1000000")
        values["rate_limit_burst"] = burst
    return values


def update_tenant(
    store: Store,
    slug: str,
    *,
    timezone: str | None = None,
    backdate_days: int | None = None,
    unknown_employees: str | None = None,
) -> Tenant:
    values = tenant_values(
        timezone=timezone, backdate_days=backdate_days, unknown_employees=unknown_employees
    )
    with store.write() as conn:
        tenant = require_tenant(conn, slug)
        if values:
            tenant_rows.update_tenant(conn, tenant_id=tenant.id, values=values)
        return require_tenant(conn, slug)
