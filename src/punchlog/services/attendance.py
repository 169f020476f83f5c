"""Reading attendance: day records (paginated), the punch feed, the month register, exports.

Every read first catches the tenant's records up (``recompute.catch_up``), so what it returns
includes every punch committed before the read. ``provisional`` is decided here, at read
time: a record is provisional until its shift window (or, on a no-shift day, the day) ends.
"""

from __future__ import annotations

import calendar as months
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import orjson
from sqlalchemy import RowMapping

from punchlog.domain.days import STATUS_CODES
from punchlog.domain.times import load_zone, local_isoformat, utc_isoformat
from punchlog.errors import InvalidInput
from punchlog.services.recompute import catch_up
from punchlog.services.store import Store, utcnow
from punchlog.services.tenants import Tenant, require_tenant
from punchlog.storage import attendance as day_rows
from punchlog.storage import punches as punch_rows

MAX_DAYS = 93
MAX_PAGE_SIZE = 500
MAX_FEED = 5000
_CURSOR = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True, slots=True)
class Page:
    records: list[dict[str, Any]]
    page_number: int
    page_size: int
    total_records: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total_records / self.page_size) if self.total_records else 0

    def to_wire(self) -> dict[str, Any]:
        return {
            "succeeded": True,
            "data": self.records,
            "pageNumber": self.page_number,
            "pageSize": self.page_size,
            "totalRecords": self.total_records,
            "totalPages": self.total_pages,
        }


def check_range(first: date, last: date, max_days: int | None = MAX_DAYS) -> None:
    if last < first:
        raise InvalidInput("'to' is before 'from'")
    if max_days is not None and (last - first).days + 1 > max_days:
        raise InvalidInput(f"At most {max_days} days per call; asked for {(last - first).days + 1}")


def _local(value: datetime | None, zone: tzinfo) -> str | None:
    return value.astimezone(zone).isoformat() if value else None


def day_to_wire(row: RowMapping, zone: tzinfo, now: datetime) -> dict[str, Any]:
    closes = row["window_end"] or datetime.combine(
        row["work_date"] + timedelta(days=1), time()
    ).replace(tzinfo=zone)
    return {
        "employeeNumber": row["employee_number"],
        "date": row["work_date"].isoformat(),
        "dayType": row["day_type"],
        "shift": row["shift_code"],
        "firstIn": _local(row["first_in"], zone),
        "lastOut": _local(row["last_out"], zone),
        "grossSeconds": row["gross_seconds"],
        "effectiveSeconds": row["effective_seconds"],
        "breakSeconds": row["break_seconds"],
        "lateBySeconds": row["late_seconds"],
        "earlyBySeconds": row["early_seconds"],
        "overtimeSeconds": row["overtime_seconds"],
        "status": row["status"],
        "punches": orjson.loads(row["punches"]),
        "provisional": now < closes,
    }


def read_days(
    store: Store,
    tenant: Tenant,
    *,
    first: date,
    last: date,
    employee: str | None = None,
    page: int = 1,
    page_size: int = 100,
    max_days: int | None = MAX_DAYS,
    now: datetime | None = None,
) -> Page:
    check_range(first, last, max_days)
    if page < 1:
        raise InvalidInput("pageNumber starts at 1")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
    now = now or utcnow()
    catch_up(store, tenant.id, now=now)
    where = {"tenant_id": tenant.id, "first": first, "last": last, "employee_number": employee}
    zone = load_zone(tenant.timezone)
    with store.read() as conn:
        total = day_rows.count_days(conn, **where)
        rows = day_rows.list_days(conn, offset=(page - 1) * page_size, limit=page_size, **where)
    return Page([day_to_wire(r, zone, now) for r in rows], page, page_size, total)


def days_for(
    store: Store, slug: str, *, first: date, last: date, employee: str | None = None
) -> list[dict[str, Any]]:
    """Every record in the range (no pagination): for the CLI and exports."""
    with store.read() as conn:
        tenant = require_tenant(conn, slug)
    now = utcnow()
    catch_up(store, tenant.id, now=now)
    zone = load_zone(tenant.timezone)
    with store.read() as conn:
        rows = day_rows.list_days(
            conn, tenant_id=tenant.id, first=first, last=last, employee_number=employee
        )
    return [day_to_wire(r, zone, now) for r in rows]


def register(store: Store, slug: str, month: str) -> dict[str, Any]:
    """One row per employee, one code per day (P, A, HD, MP, WO, H; '-' for no record)."""
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", month)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput(f"Invalid month {month!r}: use YYYY-MM")
    year, number = int(match.group(1)), int(match.group(2))
    first = date(year, number, 1)
    last = date(year, number, months.monthrange(year, number)[1])
    records = days_for(store, slug, first=first, last=last)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    grid: dict[str, dict[str, str]] = {}
    for record in records:
        code = STATUS_CODES.get(record["status"] or "", "-")
        grid.setdefault(record["employeeNumber"], {})[record["date"]] = code
    rows = [
        {"employeeNumber": number_, "days": [codes.get(d.isoformat(), "-") for d in days]}
        for number_, codes in sorted(grid.items())
    ]
    return {"month": month, "dates": [d.isoformat() for d in days], "rows": rows}


def decode_cursor(text: str | None) -> int:
    """A cursor is the id of the last punch seen (opaque to clients)."""
    if text is None or text == "":
        return 0
    if _CURSOR.fullmatch(text) is None:
        raise InvalidInput(f"Invalid cursor {text!r}: pass back a nextCursor you were given")
    return int(text)


def feed(store: Store, tenant_id: int, *, since: str | None, limit: int = 1000) -> dict[str, Any]:
    """Every stored punch in arrival order after ``since``; an empty page keeps the cursor."""
    if not 1 <= limit <= MAX_FEED:
        raise InvalidInput(f"limit must be between 1 and {MAX_FEED}")
    cursor = decode_cursor(since)
    with store.write() as conn:  # exclusive arrivals lock: no punch in flight, none skipped
        punch_rows.lock_arrivals(conn, tenant_id=tenant_id, exclusive=True)
        rows = punch_rows.list_punches(conn, tenant_id=tenant_id, after_id=cursor, limit=limit)
    data = [
        {
            "id": r["id"],
            "employeeNumber": r["employee_number"],
            "deviceIdentifier": r["device_identifier"],
            "timestamp": utc_isoformat(r["punched_at"]),
            "localTime": local_isoformat(r["local_time"], r["punched_at"]),
            "status": r["status"],
            "matched": r["employee_id"] is not None,
            "source": r["source"],
            "receivedAt": utc_isoformat(r["received_at"]),
        }
        for r in rows
    ]
    next_cursor = int(rows[-1]["id"]) if rows else cursor
    return {"succeeded": True, "data": data, "nextCursor": str(next_cursor)}
