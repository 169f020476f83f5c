"""Corrections: add a manual punch, or exclude a stored one. Raw logs stay untouched; each
correction is its own record (who, when, why) and the affected days are recomputed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from punchlog.domain.attendance import dates_touched
from punchlog.domain.times import load_zone, parse_timestamp, to_instant
from punchlog.errors import Conflict, InvalidInput, NotFound
from punchlog.services import audit
from punchlog.services.recompute import mark
from punchlog.services.store import Store, utcnow
from punchlog.services.tenants import require_tenant
from punchlog.storage import corrections as correction_rows
from punchlog.storage import employees as employee_rows
from punchlog.storage import punches as punch_rows

DIRECTIONS = {"in": 0, "out": 1}


def correction_to_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "employeeNumber": row["employee_number"],
        "punchId": row["punch_id"],
        "punchTime": row["punched_at"].isoformat(),
        "reason": row["reason"],
        "actor": row["actor"],
        "createdAt": row["created_at"].isoformat(),
    }


def _check_reason(reason: str, actor: str) -> None:
    if not reason.strip():
        raise InvalidInput("A correction needs a reason")
    if not actor.strip():
        raise InvalidInput("A correction needs an actor (who made it)")


def add_punch(
    store: Store,
    slug: str,
    number: str,
    *,
    local_time: str,
    direction: str,
    reason: str,
    actor: str,
) -> dict[str, Any]:
    """A manual punch at ``local_time`` (tenant wall time, or with an explicit offset)."""
    _check_reason(reason, actor)
    if direction not in DIRECTIONS:
        raise InvalidInput(f"Invalid direction {direction!r}: use in or out")
    stamp = parse_timestamp(local_time)
    if stamp is None:
        raise InvalidInput(f"Invalid time {local_time!r}: use YYYY-MM-DDTHH:MM:SS")
    now = utcnow()
    with store.write() as conn:
        tenant = require_tenant(conn, slug)
        employee = employee_rows.get_employee(conn, tenant_id=tenant.id, number=number.strip())
        if employee is None:
            raise NotFound(f"Unknown employee {number!r} in tenant {slug!r}")
        instant = to_instant(stamp, load_zone(tenant.timezone))
        if instant > now:
            raise InvalidInput("A manual punch cannot be in the future")
        punch_rows.lock_arrivals(conn, tenant_id=tenant.id, exclusive=False)
        punch_id = correction_rows.insert_manual_punch(
            conn,
            tenant_id=tenant.id,
            employee_id=employee["id"],
            employee_number=employee["number"],
            instant=instant,
            local_time=stamp.wall,
            status=DIRECTIONS[direction],
            now=now,
        )
        correction_id = correction_rows.insert_correction(
            conn,
            tenant_id=tenant.id,
            employee_id=employee["id"],
            kind="add_punch",
            punch_id=punch_id,
            reason=reason.strip(),
            actor=actor.strip(),
            created_at=now,
        )
        days = dates_touched(instant, load_zone(tenant.timezone))
        mark(conn, tenant.id, [employee["id"]], days[0], days[-1])
        audit.record(
            conn,
            tenant.id,
            "correction.add_punch",
            employee["number"],
            correction=correction_id,
            punchId=punch_id,
            time=instant,
            direction=direction,
            reason=reason.strip(),
            by=actor.strip(),
        )
    return {"correction": correction_id, "punchId": punch_id, "time": instant.isoformat()}


def exclude_punch(
    store: Store, slug: str, punch_id: int, *, reason: str, actor: str
) -> dict[str, Any]:
    _check_reason(reason, actor)
    now = utcnow()
    try:
        with store.write() as conn:
            tenant = require_tenant(conn, slug)
            punch = correction_rows.get_punch(conn, tenant_id=tenant.id, punch_id=punch_id)
            if punch is None:
                raise NotFound(f"Unknown punch {punch_id} in tenant {slug!r}")
            if punch["employee_id"] is None:
                raise Conflict(f"Punch {punch_id} is held (its number is not registered)")
            correction_id = correction_rows.insert_correction(
                conn,
                tenant_id=tenant.id,
                employee_id=punch["employee_id"],
                kind="exclude",
                punch_id=punch_id,
                reason=reason.strip(),
                actor=actor.strip(),
                created_at=now,
            )
            days = dates_touched(punch["punched_at"], load_zone(tenant.timezone))
            mark(conn, tenant.id, [punch["employee_id"]], days[0], days[-1])
            audit.record(
                conn,
                tenant.id,
                "correction.exclude",
                punch["employee_number"],
                correction=correction_id,
                punchId=punch_id,
                reason=reason.strip(),
                by=actor.strip(),
            )
    except IntegrityError as exc:  # uq_corrections_excluded_punch
        raise Conflict(f"Punch {punch_id} is already excluded") from exc
    return {"correction": correction_id, "punchId": punch_id, "excluded": True}


def list_corrections(store: Store, slug: str) -> list[dict[str, Any]]:
    """The audit trail: every correction, oldest first."""
    with store.read() as conn:
        tenant = require_tenant(conn, slug)
        rows = correction_rows.list_corrections(conn, tenant_id=tenant.id)
        return [correction_to_dict(r) for r in rows]
