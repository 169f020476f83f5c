"""The hot path: judge a batch of logs, store the good ones exactly once, keep the rejected.

One write transaction per batch. A 200 is only rendered after it has committed; any storage
failure raises :class:`~punchlog.errors.StorageUnavailable` and nothing is acknowledged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection

from punchlog.domain.logs import (
    Candidate,
    DeviceRef,
    EmployeeRef,
    NaturalKey,
    Policy,
    Rejection,
    check_employee,
    check_log,
    device_identifier_of,
    natural_key,
)
from punchlog.domain.times import load_zone
from punchlog.errors import RequestRejected
from punchlog.services.store import Store
from punchlog.storage import devices as device_rows
from punchlog.storage import employees as employee_rows
from punchlog.storage import keys as key_rows
from punchlog.storage import punches as punch_rows
from punchlog.storage import rejections as rejection_rows
from punchlog.storage import requests as request_rows

# Outcomes of an accepted log; a rejected log's outcome is its reason.
NEW, DUPLICATE, UNMATCHED = "new", "duplicate", "unmatched"
ACCEPTED_OUTCOMES = frozenset({NEW, DUPLICATE, UNMATCHED})
_TOUCH_INTERVAL = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Limits:
    max_logs: int = 1000
    rejected_retention_days: int = 90
    rejected_max_per_tenant: int = 100_000


@dataclass(frozen=True, slots=True)
class Sender:
    """Whose batch this is: tenant, key (None for an operator's replay), request id."""

    tenant_id: int
    key_id: int | None
    request_id: str
    policy: Policy
    source: str = "api"
    keep_rejections: bool = True  # False when replaying rejections: their rows are updated


@dataclass(slots=True)
class IngestResult:
    outcomes: list[str]
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def received(self) -> int:
        return len(self.outcomes)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o == outcome)

    @property
    def accepted(self) -> int:
        return sum(1 for o in self.outcomes if o in ACCEPTED_OUTCOMES)

    def to_wire(self) -> dict[str, Any]:
        """The ``data`` of the 200 answer: Keka's two counts first, our extensions after."""
        return {
            "logsReceived": self.received,
            "logsAccepted": self.accepted,
            "logsDuplicate": self.count(DUPLICATE),
            "logsUnmatched": self.count(UNMATCHED),
            "logsRejected": len(self.rejections),
            "rejected": [
                {"index": r.index, "reason": r.reason, "message": r.message}
                for r in self.rejections
            ],
        }


def check_batch_size(items: object, limits: Limits) -> list[object]:
    """The request-level rules of the body: an array, not empty, not over the limit."""
    if not isinstance(items, list):
        raise RequestRejected("Request body must be a JSON array of logs")
    if not items:
        raise RequestRejected("Request body is an empty array; send at least one log")
    if len(items) > limits.max_logs:
        raise RequestRejected(
            f"Too many logs in one request: at most {limits.max_logs} allowed, "
            f"{len(items)} received"
        )
    return items


def ingest_batch(
    store: Store, sender: Sender, items: Sequence[object], *, now: datetime, limits: Limits
) -> IngestResult:
    """Judge and store ``items``; retried whole on a PostgreSQL deadlock."""

    def work(conn: Connection) -> IngestResult:
        return ingest_in(conn, sender, items, now=now, limits=limits)

    return store.write_with_retry(work)


def _load_devices(
    conn: Connection, tenant_id: int, items: Sequence[object]
) -> dict[str, DeviceRef]:
    identifiers = {i for i in map(device_identifier_of, items) if i is not None}
    rows = device_rows.find_devices(conn, tenant_id=tenant_id, identifiers=identifiers)
    return {
        r["identifier"]: DeviceRef(
            id=r["id"],
            active=bool(r["active"]),
            zone=load_zone(r["timezone"]) if r["timezone"] else None,
        )
        for r in rows
    }


def _load_employees(conn: Connection, tenant_id: int, numbers: set[str]) -> dict[str, EmployeeRef]:
    rows = employee_rows.find_employees(conn, tenant_id=tenant_id, numbers=numbers)
    return {
        r["number"]: EmployeeRef(id=r["id"], active=bool(r["active"]), left_on=r["left_on"])
        for r in rows
    }


def ingest_in(
    conn: Connection, sender: Sender, items: Sequence[object], *, now: datetime, limits: Limits
) -> IngestResult:
    """The batch inside the caller's write transaction (ingest and replay share it)."""
    punch_rows.lock_arrivals(conn, tenant_id=sender.tenant_id, exclusive=False)
    policy = sender.policy
    devices = _load_devices(conn, sender.tenant_id, items)
    outcomes: list[str] = [""] * len(items)
    rejections: list[Rejection] = []
    candidates: list[Candidate] = []
    for index, item in enumerate(items):
        judged = check_log(index, item, devices=devices, policy=policy, now=now)
        if isinstance(judged, Rejection):
            rejections.append(judged)
        else:
            candidates.append(judged)

    numbers = {c.employee_number for c in candidates}
    employees = _load_employees(conn, sender.tenant_id, numbers)
    if policy.hold_unknown_employees and numbers - employees.keys():
        # Some will be held: order this against a concurrent registration, then look again.
        employee_rows.lock_registry(conn, tenant_id=sender.tenant_id, shared=True)
        employees.update(_load_employees(conn, sender.tenant_id, numbers - employees.keys()))

    request_row = request_rows.open_request(
        conn,
        tenant_id=sender.tenant_id,
        key_id=sender.key_id,
        request_id=sender.request_id,
        received=len(items),
        now=now,
    )
    rows: list[tuple[Any, ...]] = []
    inserted: set[NaturalKey] = set()
    first_of_key: dict[NaturalKey, int] = {}
    matched: dict[int, bool] = {}
    for candidate in candidates:
        employee = check_employee(candidate, employees.get(candidate.employee_number), policy)
        if isinstance(employee, Rejection):
            rejections.append(employee)
            continue
        key = natural_key(candidate)
        if key in first_of_key:
            outcomes[candidate.index] = DUPLICATE  # the same punch earlier in this batch
            continue
        first_of_key[key] = candidate.index
        matched[candidate.index] = employee is not None
        rows.append(
            (  # punch_rows.PUNCH_COLUMNS
                sender.tenant_id,
                candidate.instant,
                candidate.employee_number,
                candidate.device_id,
                candidate.status,
                candidate.local_wall,
                employee.id if employee is not None else None,
                sender.source,
                request_row,
                now,
            )
        )

    count = punch_rows.insert_punches(conn, rows=rows)
    if 0 < count < len(rows):  # some were stored already: which did this request insert?
        inserted = punch_rows.keys_inserted_by(
            conn,
            tenant_id=sender.tenant_id,
            request_row=request_row,
            instants={key[2] for key in first_of_key},
        )
    for key, index in first_of_key.items():
        new = count == len(rows) or (count > 0 and key in inserted)
        if new:
            outcomes[index] = NEW if matched[index] else UNMATCHED
        else:
            outcomes[index] = DUPLICATE
    rejections.sort(key=lambda r: r.index)
    for rejection in rejections:
        outcomes[rejection.index] = rejection.reason

    if rejections and sender.keep_rejections:
        _keep_rejections(conn, sender, items, rejections, now=now, limits=limits)
    device_ids = {c.device_id for c in candidates}
    device_rows.touch_devices(
        conn, device_ids=device_ids, now=now, older_than=now - _TOUCH_INTERVAL
    )
    if sender.key_id is not None:
        key_rows.touch_key(conn, key_id=sender.key_id, now=now, older_than=now - _TOUCH_INTERVAL)
    result = IngestResult(outcomes=outcomes, rejections=rejections)
    request_rows.close_request(
        conn,
        row_id=request_row,
        accepted=result.accepted,
        duplicate=result.count(DUPLICATE),
        unmatched=result.count(UNMATCHED),
        rejected=len(rejections),
    )
    return result


def _keep_rejections(
    conn: Connection,
    sender: Sender,
    items: Sequence[object],
    rejections: list[Rejection],
    *,
    now: datetime,
    limits: Limits,
) -> None:
    raws = {r.index: orjson.dumps(items[r.index]) for r in rejections}
    rejection_rows.upsert_rejections(
        conn,
        rows=[
            {
                "tenant_id": sender.tenant_id,
                "key_id": sender.key_id,
                "request_id": sender.request_id,
                "position": r.index,
                "reason": r.reason,
                "message": r.message,
                "raw": raws[r.index].decode(),
                "fingerprint": hashlib.sha256(
                    r.reason.encode() + b"\0" + raws[r.index]
                ).hexdigest(),
                "received_at": now,
            }
            for r in rejections
        ],
    )
    rejection_rows.prune_rejections(
        conn,
        tenant_id=sender.tenant_id,
        older_than=now - timedelta(days=limits.rejected_retention_days),
        keep_at_most=limits.rejected_max_per_tenant,
    )
