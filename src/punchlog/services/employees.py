"""Employees: add, bulk upsert, deactivate, list. Registering a number attaches the punches
held for it (logs that arrived before the employee existed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping

from punchlog.domain.attendance import dates_touched, local_date
from punchlog.domain.identifiers import normalize_employee_number
from punchlog.domain.times import load_zone
from punchlog.errors import Conflict, InvalidInput, NotFound
from punchlog.services import audit
from punchlog.services.recompute import mark
from punchlog.services.store import Store, utcnow
from punchlog.services.tenants import Tenant, require_tenant, require_tenant_by_id
from punchlog.storage import attendance as day_rows
from punchlog.storage import employees as employee_rows


@dataclass(frozen=True, slots=True)
class EmployeeIn:
    number: str
    name: str = ""
    joined_on: date | None = None
    left_on: date | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class UpsertResult:
    written: int
    attached: int

    def to_dict(self) -> dict[str, int]:
        return {"written": self.written, "attachedPunches": self.attached}


def employee_to_dict(row: RowMapping) -> dict[str, Any]:
    return {
        "number": row["number"],
        "name": row["name"],
        "joinedOn": row["joined_on"].isoformat() if row["joined_on"] else None,
        "leftOn": row["left_on"].isoformat() if row["left_on"] else None,
        "active": bool(row["active"]),
    }


def validate_employee(employee: EmployeeIn) -> EmployeeIn:
    number = normalize_employee_number(employee.number)
    if number is None:
        raise InvalidInput(
            f"Invalid employee number {employee.number!r}: 1-64 characters, no control characters"
        )
    if len(employee.name) > 200:
        raise InvalidInput(f"Employee {number!r}: name longer than 200 characters")
    if employee.joined_on and employee.left_on and employee.left_on < employee.joined_on:
        raise InvalidInput(f"Employee {number!r}: left before joining")
    return EmployeeIn(
        number, employee.name.strip(), employee.joined_on, employee.left_on, employee.active
    )


_PROGRESS_STEP = 1000


def _write(
    conn: Connection,
    tenant_id: int,
    employees: Sequence[EmployeeIn],
    on_progress: Callable[[int], None] | None = None,
) -> UpsertResult:
    employee_rows.lock_registry(conn, tenant_id=tenant_id, shared=False)
    before = {
        r["number"]: r
        for r in employee_rows.find_employees(
            conn, tenant_id=tenant_id, numbers={e.number for e in employees}
        )
    }
    moved = [  # existing employees whose employment dates change: their days change too
        before[e.number]["id"]
        for e in employees
        if e.number in before
        and (before[e.number]["joined_on"], before[e.number]["left_on"]) != (e.joined_on, e.left_on)
    ]
    written = 0
    now = utcnow()
    for start in range(0, len(employees), _PROGRESS_STEP):
        rows = [
            {
                "number": e.number,
                "name": e.name,
                "joined_on": e.joined_on,
                "left_on": e.left_on,
                "active": e.active,
            }
            for e in employees[start : start + _PROGRESS_STEP]
        ]
        written += employee_rows.upsert_employees(conn, tenant_id=tenant_id, rows=rows, now=now)
        if on_progress is not None:
            on_progress(start + len(rows))
    attached = employee_rows.attach_unmatched(
        conn, tenant_id=tenant_id, numbers={e.number for e in employees}
    )
    tenant = require_tenant_by_id(conn, tenant_id)
    if attached:  # their days change: recompute them
        zone = load_zone(tenant.timezone)
        marks = {(e, d) for e, instant in attached for d in dates_touched(instant, zone)}
        day_rows.mark_dirty(conn, tenant_id=tenant_id, pairs=marks)
    if moved:
        _mark_window(conn, tenant, moved)
    numbers = [e.number for e in employees]
    audit.record(
        conn,
        tenant_id,
        "employee.upsert",
        numbers[0] if len(numbers) == 1 else f"{len(numbers)} employees",
        count=len(numbers),
        new=len(numbers) - len(before),
        numbers=numbers[:AUDITED_NUMBERS],
        heldLogsAttached=len(attached),
    )
    return UpsertResult(written=written, attached=len(attached))


AUDITED_NUMBERS = 100  # an import of thousands names its first numbers, and counts them all


def _mark_window(conn: Connection, tenant: Tenant, employee_ids: Sequence[int]) -> None:
    """Recompute these employees over the backdating window (employment dates changed)."""
    today = local_date(utcnow(), load_zone(tenant.timezone))
    mark(conn, tenant.id, employee_ids, today - timedelta(days=tenant.backdate_days), today)


def add_employee(store: Store, slug: str, employee: EmployeeIn) -> UpsertResult:
    """Register one new employee; a number already registered is a conflict."""
    employee = validate_employee(employee)
    with store.write() as conn:
        tenant = require_tenant(conn, slug)
        if employee_rows.get_employee(conn, tenant_id=tenant.id, number=employee.number):
            raise Conflict(f"Employee {employee.number!r} already exists in tenant {slug!r}")
        return _write(conn, tenant.id, [employee])


def upsert_employees(
    store: Store,
    slug: str,
    employees: Sequence[EmployeeIn],
    *,
    on_progress: Callable[[int], None] | None = None,
) -> UpsertResult:
    """Insert or update many at once (one transaction: all or nothing)."""
    checked = [validate_employee(e) for e in employees]
    seen: set[str] = set()
    for e in checked:
        if e.number in seen:
            raise InvalidInput(f"Employee {e.number!r} appears twice")
        seen.add(e.number)
    with store.write() as conn:
        tenant = require_tenant(conn, slug)
        return _write(conn, tenant.id, checked, on_progress)


def deactivate_employee(
    store: Store, slug: str, number: str, *, left_on: date | None = None
) -> dict[str, Any]:
    with store.write() as conn:
        tenant = require_tenant(conn, slug)
        row = employee_rows.get_employee(conn, tenant_id=tenant.id, number=number.strip())
        if row is None:
            raise NotFound(f"Unknown employee {number!r} in tenant {slug!r}")
        employee_rows.deactivate_employee(
            conn, employee_id=row["id"], left_on=left_on, now=utcnow()
        )
        audit.record(conn, tenant.id, "employee.deactivate", row["number"], leftOn=left_on)
        if left_on is not None and left_on != row["left_on"]:
            _mark_window(conn, tenant, [row["id"]])
        row = employee_rows.get_employee(conn, tenant_id=tenant.id, number=number.strip())
        assert row is not None
        return employee_to_dict(row)


def list_employees(store: Store, slug: str) -> list[dict[str, Any]]:
    with store.read() as conn:
        tenant = require_tenant(conn, slug)
        return [
            employee_to_dict(r) for r in employee_rows.list_employees(conn, tenant_id=tenant.id)
        ]
