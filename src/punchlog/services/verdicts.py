"""The verdict on each log of a batch, and the punch rows it keeps, ready for the driver.

With the process's cache (services.registry) a batch is judged *before* its write transaction,
on the request's own thread: with group commit the one writer thread then only stores, and
the per-log Python work of one request runs while the writer stores another's. The cache is
trusted only at the registry version it was read at: the transaction reads the current
version and, where it differs, judges again inside (:func:`judge_in`). A batch that names an
employee number the cache has not seen is judged inside the transaction too: only there can
its employees be read (and, for a log to be held, ordered against a registration).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from punchlog.domain.logs import (
    Candidate,
    EmployeeRef,
    NaturalKey,
    Policy,
    Rejection,
    check_employee,
    judge_batch,
    natural_key,
)
from punchlog.services.registry import Registry, TenantView, load_employees
from punchlog.storage import employees as employee_rows
from punchlog.storage import punches as punch_rows

# Outcomes of an accepted log; a rejected log's outcome is its reason.
NEW, DUPLICATE, UNMATCHED = "new", "duplicate", "unmatched"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A judged batch. ``outcomes`` are as if every kept log is new (the usual case); the
    writer corrects them where the database had some already."""

    version: int  # the tenant's registry version the verdict was reached at
    policy: Policy
    outcomes: list[str]
    rejections: list[Rejection]  # in index order
    kept: list[tuple[Candidate, int | None]]  # (log, employee id; None: held)
    in_batch_duplicates: int
    held: int
    device_ids: set[int]  # the devices of kept logs (their last-seen time)
    punches: punch_rows.PreparedPunches  # the kept logs' rows; request_id filled at insert


@dataclass(frozen=True, slots=True)
class Batch:
    """What a verdict needs besides the logs: whose they are and when they arrived."""

    tenant_id: int
    source: str
    now: datetime
    dialect: str


def judge_ahead(
    registry: Registry, batch: Batch, items: Sequence[object], policy: Policy, version: int
) -> Verdict | None:
    """The verdict from the cache alone, if the cache holds the tenant at ``version`` (the
    caller's key was read at it) and every employee number of the batch; else ``None``."""
    view = registry.cached_tenant(batch.tenant_id)
    if view is None or view.version != version:
        return None
    candidates, rejections = judge_batch(items, devices=view.devices, policy=policy, now=batch.now)
    employees = view.employees
    return _keep(batch, len(items), view, policy, candidates, rejections, employees.get, False)


def judge_in(
    conn: Connection,
    registry: Registry,
    batch: Batch,
    items: Sequence[object],
    policy: Policy,
    version: int,
) -> Verdict:
    """The verdict inside the write transaction, at its registry ``version``: employees the
    cache lacks are read, and held logs are ordered against a concurrent registration."""
    view = registry.tenant(conn, batch.tenant_id, version)
    candidates, rejections = judge_batch(items, devices=view.devices, policy=policy, now=batch.now)
    numbers = {c.employee_number for c in candidates}
    employees, unknown = view.find_employees(conn, batch.tenant_id, numbers)
    if policy.hold_unknown_employees and unknown:
        # Some will be held: order this against a concurrent registration, then look again.
        employee_rows.lock_registry(conn, tenant_id=batch.tenant_id, shared=True)
        employees = {**employees, **load_employees(conn, batch.tenant_id, unknown)}
    verdict = _keep(batch, len(items), view, policy, candidates, rejections, employees.get, True)
    assert verdict is not None  # complete: every number was looked up
    return verdict


def _keep(
    batch: Batch,
    size: int,
    view: TenantView,
    policy: Policy,
    candidates: list[Candidate],
    rejections: list[Rejection],
    find_employee: Callable[[str], EmployeeRef | None],
    complete: bool,
) -> Verdict | None:
    """Rule 7's lookup and rule 8 within the batch. With ``complete`` false, a number that
    ``find_employee`` does not know gives up (``None``): it may be registered since."""
    outcomes: list[str] = [""] * size
    first_of_key: set[NaturalKey] = set()
    kept: list[tuple[Candidate, int | None]] = []
    in_batch_duplicates = held = 0
    rows = []
    tenant_id, source, now = batch.tenant_id, batch.source, batch.now
    for candidate in candidates:
        employee = find_employee(candidate.employee_number)
        if employee is not None and employee.active and employee.left_on is None:
            employee_id: int | None = employee.id  # the usual case, as check_employee has it
        elif employee is None and not complete:
            return None
        else:
            judged = check_employee(candidate, employee, policy)
            if isinstance(judged, Rejection):
                rejections.append(judged)
                continue
            employee_id = judged.id if judged is not None else None
        key = natural_key(candidate)
        if key in first_of_key:
            outcomes[candidate.index] = DUPLICATE  # the same punch earlier in this batch
            in_batch_duplicates += 1
            continue
        first_of_key.add(key)
        kept.append((candidate, employee_id))
        if employee_id is None:
            held += 1
            outcomes[candidate.index] = UNMATCHED
        else:
            outcomes[candidate.index] = NEW
        rows.append(
            (  # punch_rows.PUNCH_COLUMNS; request_id is filled at insert
                tenant_id,
                candidate.instant,
                candidate.employee_number,
                candidate.device_id,
                candidate.status,
                candidate.local_wall,
                employee_id,
                source,
                None,
                now,
            )
        )
    if rejections:
        rejections.sort(key=lambda r: r.index)
        for rejection in rejections:
            outcomes[rejection.index] = rejection.reason
    return Verdict(
        version=view.version,
        policy=policy,
        outcomes=outcomes,
        rejections=rejections,
        kept=kept,
        in_batch_duplicates=in_batch_duplicates,
        held=held,
        device_ids={c.device_id for c, _ in kept},
        punches=punch_rows.prepare_punches(batch.dialect, rows),
    )
