"""The per-log rules of ``POST /v1/logs``, in the order the spec gives them.

A batch is judged in two passes because two rules need the database:

1. :func:`check_log` — shape, status, timestamp, device, instant, window, number format;
   it needs the tenant's devices (looked up by the identifiers in the batch).
2. :func:`check_employee` — matched, unmatched (held) or rejected; it needs the employees
   whose numbers passed the first pass.

Duplicates (rule 8) are decided by the database's unique constraint, plus
:func:`natural_key` for duplicates inside one batch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final

from punchlog.domain.identifiers import (
    MAX_EMPLOYEE_NUMBER,
    normalize_device_identifier,
    normalize_employee_number,
)
from punchlog.domain.times import parse_timestamp, to_instant

FIELDS: Final = ("DeviceIdentifier", "EmployeeAttendanceNumber", "Timestamp", "Status")

# Rejection reasons, as they appear on the wire and in the rejected-log store.
INVALID_LOG: Final = "invalid_log"
INVALID_STATUS: Final = "invalid_status"
INVALID_TIMESTAMP: Final = "invalid_timestamp"
UNKNOWN_DEVICE: Final = "unknown_device"
DEVICE_DISABLED: Final = "device_disabled"
TOO_OLD: Final = "too_old"
IN_FUTURE: Final = "in_future"
INVALID_EMPLOYEE_NUMBER: Final = "invalid_employee_number"
EMPLOYEE_INACTIVE: Final = "employee_inactive"
UNKNOWN_EMPLOYEE: Final = "unknown_employee"
REASONS: Final = (
    INVALID_LOG,
    INVALID_STATUS,
    INVALID_TIMESTAMP,
    UNKNOWN_DEVICE,
    DEVICE_DISABLED,
    TOO_OLD,
    IN_FUTURE,
    INVALID_EMPLOYEE_NUMBER,
    EMPLOYEE_INACTIVE,
    UNKNOWN_EMPLOYEE,
)


@dataclass(frozen=True, slots=True)
class Policy:
    """The tenant's ingestion rules."""

    zone: tzinfo
    backdate_days: int = 30
    future_tolerance_seconds: int = 300
    hold_unknown_employees: bool = True


@dataclass(frozen=True, slots=True)
class DeviceRef:
    id: int
    active: bool
    zone: tzinfo | None = None


@dataclass(frozen=True, slots=True)
class EmployeeRef:
    id: int
    active: bool
    left_on: date | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    reason: str
    message: str


@dataclass(slots=True)  # not frozen: a frozen dataclass is built five times slower
class Candidate:
    """A log that passed :func:`check_log`; ``local_wall`` is the wall time as sent."""

    index: int
    device_id: int
    employee_number: str
    instant: datetime  # aware, UTC, whole seconds
    local_wall: datetime  # naive
    status: int


NaturalKey = tuple[int, str, datetime, int]


def natural_key(candidate: Candidate) -> NaturalKey:
    """(device, number, instant, status): with the tenant, the unique key of a punch."""
    return (candidate.device_id, candidate.employee_number, candidate.instant, candidate.status)


def _parse_status(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if value in (0, 1) and isinstance(value, int):
        return value
    if value in ("0", "1"):
        return int(value)
    return None


def check_log(
    index: int,
    item: object,
    *,
    devices: dict[str, DeviceRef],
    policy: Policy,
    now: datetime,
) -> Candidate | Rejection:
    """Rules 1-7 (all but the employee lookup) for the log at ``index`` of the batch."""
    if not isinstance(item, dict):
        return Rejection(index, INVALID_LOG, "Log must be a JSON object with " + ", ".join(FIELDS))
    for field in FIELDS:
        if item.get(field) is None:
            return Rejection(index, INVALID_LOG, f"Missing field {field}")
    raw_device = item["DeviceIdentifier"]
    if not isinstance(raw_device, str):
        return Rejection(index, INVALID_LOG, "DeviceIdentifier must be a string")

    status = _parse_status(item["Status"])
    if status is None:
        return Rejection(
            index, INVALID_STATUS, f"Status must be 0 (IN) or 1 (OUT), got {item['Status']!r:.40}"
        )

    raw_stamp = item["Timestamp"]
    stamp = parse_timestamp(raw_stamp) if isinstance(raw_stamp, str) else None
    if stamp is None:
        return Rejection(
            index,
            INVALID_TIMESTAMP,
            f"Timestamp {raw_stamp!r:.60} is not ISO 8601 (YYYY-MM-DDTHH:MM:SS)",
        )

    identifier = normalize_device_identifier(raw_device)
    device = devices.get(identifier) if identifier is not None else None
    if device is None:
        return Rejection(
            index, UNKNOWN_DEVICE, f"Device {raw_device!r:.80} is not registered for this tenant"
        )
    if not device.active:
        return Rejection(index, DEVICE_DISABLED, f"Device {identifier} is disabled")

    shown = raw_stamp.strip()
    try:
        instant = to_instant(stamp, device.zone or policy.zone)
    except OverflowError:
        return Rejection(index, INVALID_TIMESTAMP, f"Timestamp {shown!r:.60} is out of range")
    if instant < now - timedelta(days=policy.backdate_days):
        return Rejection(
            index, TOO_OLD, f"Timestamp {shown} is more than {policy.backdate_days} days old"
        )
    if instant > now + timedelta(seconds=policy.future_tolerance_seconds):
        return Rejection(
            index,
            IN_FUTURE,
            f"Timestamp {shown} is in the future (more than "
            f"{policy.future_tolerance_seconds} s ahead of the server clock)",
        )

    number = normalize_employee_number(item["EmployeeAttendanceNumber"])
    if number is None:
        return Rejection(
            index,
            INVALID_EMPLOYEE_NUMBER,
            "EmployeeAttendanceNumber must be a string or integer of 1-64 characters",
        )
    return Candidate(
        index=index,
        device_id=device.id,
        employee_number=number,
        instant=instant,
        local_wall=stamp.wall,
        status=status,
    )


_PLAIN_INTEGER: Final = 10**18
_PLAIN_STAMP: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")


def usual_number(value: object) -> str | None:
    """An attendance number of the usual kind (an ASCII alphanumeric string of 1-64
    characters, or a small non-negative integer), as :func:`check_log` normalises it; ``None``
    for anything else (which :func:`check_log` decides)."""
    if type(value) is int:
        return str(value) if 0 <= value < _PLAIN_INTEGER else None
    if (
        type(value) is str
        and 0 < len(value) <= MAX_EMPLOYEE_NUMBER
        and value.isascii()
        and value.isalnum()  # so normalising cannot change it
    ):
        return value
    return None


def window(policy: Policy, now: datetime) -> tuple[datetime, datetime]:
    """The earliest and latest instants a log may have (rules 4 and 5), inclusive."""
    return (
        now - timedelta(days=policy.backdate_days),
        now + timedelta(seconds=policy.future_tolerance_seconds),
    )


def judge_batch(
    items: Sequence[object],
    *,
    devices: dict[str, DeviceRef],
    policy: Policy,
    now: datetime,
) -> tuple[list[Candidate], list[Rejection]]:
    """:func:`check_log` for every item of a batch, with a fast path for the usual log.

    The usual log (a known, active device named exactly as registered; a plain
    ``YYYY-MM-DDTHH:MM:SS`` timestamp; a status of 0 or 1; an alphanumeric or small integer
    number) is accepted here with the same result :func:`check_log` gives, and each distinct
    timestamp is converted once per zone. Every other item goes through :func:`check_log`,
    which gives the exact rule and message.
    """
    earliest, latest = window(policy, now)
    # (instant, wall) by zone and timestamp text; None where the fast path does not apply.
    instants: dict[tzinfo, dict[str, tuple[datetime, datetime] | None]] = {}
    candidates: list[Candidate] = []
    rejections: list[Rejection] = []
    find_device = devices.get
    for index, item in enumerate(items):
        if type(item) is dict:
            raw_device = item.get("DeviceIdentifier")
            # A registered identifier is stored normalised, and normalising it again changes
            # nothing: an exact hit is the device check_log would find.
            device = find_device(raw_device) if type(raw_device) is str else None
            status = item.get("Status")
            raw_stamp = item.get("Timestamp")
            number = usual_number(item.get("EmployeeAttendanceNumber"))
            if (
                device is not None
                and device.active
                and type(status) is int
                and (status == 0 or status == 1)
                and type(raw_stamp) is str
                and number is not None
            ):
                zone = device.zone or policy.zone
                by_stamp = instants.get(zone)
                if by_stamp is None:
                    by_stamp = instants[zone] = {}
                if raw_stamp in by_stamp:
                    got = by_stamp[raw_stamp]
                else:
                    got = by_stamp[raw_stamp] = plain_instant(raw_stamp, zone)
                if got is not None and earliest <= got[0] <= latest:
                    candidates.append(Candidate(index, device.id, number, got[0], got[1], status))
                    continue
        judged = check_log(index, item, devices=devices, policy=policy, now=now)
        if isinstance(judged, Rejection):
            rejections.append(judged)
        else:
            candidates.append(judged)
    return candidates, rejections


def plain_instant(text: str, zone: tzinfo) -> tuple[datetime, datetime] | None:
    """(instant, wall) of a plain ``YYYY-MM-DDTHH:MM:SS``, as parse_timestamp and to_instant
    give them; ``None`` for anything else (the slow path decides)."""
    if _PLAIN_STAMP.fullmatch(text) is None:
        return None
    try:
        wall = datetime.fromisoformat(text)
        return wall.replace(tzinfo=zone, fold=0).astimezone(UTC), wall
    except (ValueError, OverflowError):
        return None


def check_employee(
    candidate: Candidate, employee: EmployeeRef | None, policy: Policy
) -> EmployeeRef | Rejection | None:
    """Rule 7's lookup: the matched employee, ``None`` to hold the log unmatched, or a
    rejection (left, or unknown when the tenant rejects unknown numbers)."""
    if employee is None:
        if policy.hold_unknown_employees:
            return None
        return Rejection(
            candidate.index,
            UNKNOWN_EMPLOYEE,
            f"Employee {candidate.employee_number!r} is not registered",
        )
    if not employee.active or (
        employee.left_on is not None and candidate.local_wall.date() > employee.left_on
    ):
        return Rejection(
            candidate.index,
            EMPLOYEE_INACTIVE,
            f"Employee {candidate.employee_number!r} has left",
        )
    return employee
