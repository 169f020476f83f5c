"""Shifts, assignments, holidays and the tenant's attendance settings. Every change marks the
days it affects for recompute."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from punchlog.domain.shifts import HOURS_MODES, format_weekly_offs, parse_weekly_offs
from punchlog.errors import Conflict, InvalidInput, NotFound
from punchlog.services import audit
from punchlog.services.recompute import load_calendar, mark, today_in
from punchlog.services.store import Store, utcnow
from punchlog.services.tenants import (
    Tenant,
    check_length,
    rate_limit_values,
    require_tenant,
    tenant_values,
)
from punchlog.storage import attendance as day_rows
from punchlog.storage import employees as employee_rows
from punchlog.storage import shifts as shift_rows
from punchlog.storage import tenants as tenant_rows

_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


@dataclass(frozen=True, slots=True)
class ShiftIn:
    code: str
    start: str
    end: str
    name: str = ""
    checkin_before: int = 60
    checkout_after: int = 60
    late_grace: int = 0
    early_grace: int = 0
    half_day_below_hours: float | None = None
    absent_below_hours: float | None = None
    hours_mode: str = "first_last"
    weekly_offs: str = ""


def shift_to_dict(row: RowMapping) -> dict[str, Any]:
    def hours(minutes: int | None) -> float | None:
        return None if minutes is None else minutes / 60

    return {
        "code": row["code"],
        "name": row["name"],
        "start": row["start_time"],
        "end": row["end_time"],
        "checkinBefore": row["checkin_before_minutes"],
        "checkoutAfter": row["checkout_after_minutes"],
        "lateGrace": row["late_grace_minutes"],
        "earlyGrace": row["early_grace_minutes"],
        "halfDayBelowHours": hours(row["half_day_below_minutes"]),
        "absentBelowHours": hours(row["absent_below_minutes"]),
        "hoursMode": row["hours_mode"],
        "weeklyOffs": row["weekly_offs"],
    }


def _validate(shift: ShiftIn) -> dict[str, Any]:
    if not _CODE.fullmatch(shift.code):
        raise InvalidInput(f"Invalid shift code {shift.code!r}: 1-32 letters, digits, '-', '_'")
    for label, value in (("start", shift.start), ("end", shift.end)):
        if not _HHMM.fullmatch(value):
            raise InvalidInput(f"Invalid {label} time {value!r}: use HH:MM (24 h)")
    check_length("Shift name", shift.name)
    if shift.start == shift.end:
        raise InvalidInput("A shift cannot start and end at the same time")
    for label, minutes in (
        ("checkin-before", shift.checkin_before),
        ("checkout-after", shift.checkout_after),
        ("late-grace", shift.late_grace),
        ("early-grace", shift.early_grace),
    ):
        if not 0 <= minutes <= 720:
            raise InvalidInput(f"{label} must be between 0 and 720 minutes")
    if shift.hours_mode not in HOURS_MODES:
        raise InvalidInput(f"Invalid hours mode {shift.hours_mode!r}: use first_last or pairs")
    try:
        offs = format_weekly_offs(parse_weekly_offs(shift.weekly_offs))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc

    def minutes_of(hours: float | None, label: str) -> int | None:
        if hours is None:
            return None
        if not 0 < hours <= 24:
            raise InvalidInput(f"{label} must be between 0 and 24 hours")
        return round(hours * 60)

    return {
        "code": shift.code,
        "name": shift.name,
        "start_time": shift.start,
        "end_time": shift.end,
        "checkin_before_minutes": shift.checkin_before,
        "checkout_after_minutes": shift.checkout_after,
        "late_grace_minutes": shift.late_grace,
        "early_grace_minutes": shift.early_grace,
        "half_day_below_minutes": minutes_of(shift.half_day_below_hours, "half-day-below"),
        "absent_below_minutes": minutes_of(shift.absent_below_hours, "absent-below"),
        "hours_mode": shift.hours_mode,
        "weekly_offs": offs,
    }


def create_shift(store: Store, slug: str, shift: ShiftIn) -> dict[str, Any]:
    values = _validate(shift)
    try:
        with store.write() as conn:
            tenant = require_tenant(conn, slug)
            shift_rows.insert_shift(conn, tenant_id=tenant.id, values=values, now=utcnow())
            row = shift_rows.get_shift(conn, tenant_id=tenant.id, code=shift.code)
            assert row is not None
            return shift_to_dict(row)
    except IntegrityError as exc:
        raise Conflict(f"Shift {shift.code!r} already exists in tenant {slug!r}") from exc


def list_shifts(store: Store, slug: str) -> list[dict[str, Any]]:
    with store.read() as conn:
        tenant = require_tenant(conn, slug)
        return [shift_to_dict(r) for r in shift_rows.list_shifts(conn, tenant_id=tenant.id)]


def _require_shift(conn: Connection, tenant: Tenant, code: str) -> RowMapping:
    row = shift_rows.get_shift(conn, tenant_id=tenant.id, code=code)
    if row is None:
        raise NotFound(f"Unknown shift {code!r} in tenant {tenant.slug!r}")
    return row


def _window(conn: Connection, tenant: Tenant) -> tuple[date, date]:
    """The days a settings change can affect: the backdating window up to today."""
    today = today_in(load_calendar(conn, tenant.id), utcnow())
    return today - timedelta(days=tenant.backdate_days), today


def assign_shift(
    store: Store, slug: str, number: str, code: str, *, from_date: date, to_date: date | None
) -> dict[str, Any]:
    if to_date is not None and to_date < from_date:
        raise InvalidInput("--to is before --from")
    with store.write() as conn:
        tenant = require_tenant(conn, slug)
        shift = _require_shift(conn, tenant, code)
        employee = employee_rows.get_employee(conn, tenant_id=tenant.id, number=number)
        if employee is None:
            raise NotFound(f"Unknown employee {number!r} in tenant {slug!r}")
        shift_rows.insert_assignment(
            conn,
            tenant_id=tenant.id,
            employee_id=employee["id"],
            shift_id=shift["id"],
            from_date=from_date,
            to_date=to_date,
            now=utcnow(),
        )
        _, today = _window(conn, tenant)
        mark(conn, tenant.id, [employee["id"]], from_date, min(to_date or today, today))
    return {
        "employee": number,
        "shift": code,
        "from": from_date.isoformat(),
        "to": to_date.isoformat() if to_date else None,
    }


def add_holiday(store: Store, slug: str, day: date, *, name: str = "") -> dict[str, Any]:
    check_length("Holiday name", name)
    with store.write() as conn:
        tenant = require_tenant(conn, slug)
        shift_rows.upsert_holiday(conn, tenant_id=tenant.id, day=day, name=name)
        ids = [r["id"] for r in day_rows.employees_for(conn, tenant_id=tenant.id)]
        mark(conn, tenant.id, ids, day, day)
    return {"date": day.isoformat(), "name": name}


def list_holidays(store: Store, slug: str) -> list[dict[str, Any]]:
    with store.read() as conn:
        tenant = require_tenant(conn, slug)
        return [
            {"date": r["day"].isoformat(), "name": r["name"]}
            for r in shift_rows.list_holidays(conn, tenant_id=tenant.id)
        ]


def set_attendance_settings(
    store: Store, slug: str, *, default_shift: str | None = None, bounce_seconds: int | None = None
) -> None:
    """The tenant's default shift (``""`` clears it) and bounce interval."""
    update_settings(store, slug, default_shift=default_shift, bounce_seconds=bounce_seconds)


def update_settings(
    store: Store,
    slug: str,
    *,
    timezone: str | None = None,
    backdate_days: int | None = None,
    unknown_employees: str | None = None,
    default_shift: str | None = None,
    bounce_seconds: int | None = None,
    rate_limit: str | None = None,
    rate_burst: int | None = None,
) -> Tenant:
    """Every tenant setting at once: all are checked first, then written in one transaction
    (a bad value changes nothing). Changes that move days mark the window for recompute."""
    values = tenant_values(
        timezone=timezone, backdate_days=backdate_days, unknown_employees=unknown_employees
    )
    values.update(rate_limit_values(rate_limit, rate_burst))
    if bounce_seconds is not None:
        if not 0 <= bounce_seconds <= 3600:
            raise InvalidInput("bounce seconds must be between 0 and 3600")
        values["bounce_seconds"] = bounce_seconds
    with store.write() as conn:
        tenant = require_tenant(conn, slug)
        if default_shift is not None:
            values["default_shift_id"] = (
                _require_shift(conn, tenant, default_shift)["id"] if default_shift else None
            )
        if values:
            tenant_rows.update_tenant(conn, tenant_id=tenant.id, values=values)
            audit.record(conn, tenant.id, "tenant.settings", slug, **values)
            if values.keys() & {"timezone", "default_shift_id", "bounce_seconds"}:
                first, last = _window(conn, tenant)
                ids = [r["id"] for r in day_rows.employees_for(conn, tenant_id=tenant.id)]
                mark(conn, tenant.id, ids, first, last)
        return require_tenant(conn, slug)
