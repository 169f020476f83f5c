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

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, overload

import msgspec
from sqlalchemy import Connection

from punchlog.domain.identifiers import MAX_EMPLOYEE_NUMBER
from punchlog.domain.logs import (
    Candidate,
    DeviceRef,
    EmployeeRef,
    NaturalKey,
    Policy,
    Rejection,
    check_employee,
    judge_batch,
    natural_key,
    plain_instant,
    usual_number,
    window,
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
    kept: list[tuple[int, NaturalKey]]  # (index, natural key) of each log to store
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


class WireLog(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    """A log in the shape the usual request sends: exactly the four fields, of the usual JSON
    types, decoded straight from the body by :data:`USUAL_DECODER`. A log with any other
    member is not of this shape (msgspec would skip such a member unchecked, where the
    general parser refuses invalid UTF-8 or an out-of-range number anywhere in the body)."""

    DeviceIdentifier: str
    EmployeeAttendanceNumber: str | int
    Timestamp: str
    Status: int


# Decodes a body only if it is an array of such logs; anything else is a DecodeError or a
# ValidationError, and the body goes the general way (api.logs.parse_json, rules in full).
USUAL_DECODER = msgspec.json.Decoder(list[WireLog])


class UsualBatch(Sequence[object]):
    """A body decoded as :class:`WireLog`\\ s, for :func:`judge_fast`. As a sequence it is the
    body's parsed JSON values (what every other path judges), parsed on first use."""

    def __init__(self, logs: list[WireLog], body: bytes, parse: Callable[[bytes], object]):
        self.logs = logs
        self._body = body
        self._parse = parse
        self._items: list[Any] | None = None

    def _parsed(self) -> list[Any]:
        if self._items is None:
            parsed = self._parse(self._body)
            assert isinstance(parsed, list)
            assert len(parsed) == len(self.logs)
            self._items = parsed
        return self._items

    def __len__(self) -> int:
        return len(self.logs)

    @overload
    def __getitem__(self, index: int) -> object: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[object]: ...
    def __getitem__(self, index: int | slice) -> object | Sequence[object]:
        return self._parsed()[index]

    def __iter__(self) -> Iterator[object]:
        return iter(self._parsed())


def judge_fast(
    registry: Registry, batch: Batch, logs: list[WireLog], policy: Policy, version: int
) -> Verdict | None:
    """The verdict on a batch of usual logs from the cache alone, in one pass, or ``None``.

    It decides only a batch whose every log :func:`judge_batch` would accept on its fast path
    and whose every employee is cached, registered and current; the verdict is the one
    :func:`judge_ahead` reaches (tests/services/test_verdicts.py holds them equal). Any other
    batch (a rejection, a held log, a repeat within the batch) is ``None``: the general path
    decides it, with every rule and message."""
    view = registry.cached_tenant(batch.tenant_id)
    if view is None or view.version != version:
        return None
    earliest, latest = window(policy, batch.now)
    find_device = view.devices.get
    find_employee = view.employees.get
    convert = punch_rows.driver_datetime(batch.dialect)
    default_zone = policy.zone
    # Timestamp text -> (instant, its driver value, the wall time's driver value) in a zone;
    # ``stamps`` is the last device's zone's (a batch rarely has more than one zone).
    by_zone: dict[tzinfo, dict[str, tuple[datetime, Any, Any] | None]] = {}
    zone: tzinfo | None = None
    stamps: dict[str, tuple[datetime, Any, Any] | None] = {}
    seen: set[NaturalKey] = set()
    kept: list[tuple[int, NaturalKey]] = []
    values: list[Any] = []
    extend = values.extend
    last_device: DeviceRef | None = None
    device_ids: set[int] = set()
    for index, log in enumerate(logs):
        device = find_device(log.DeviceIdentifier)
        status = log.Status
        if device is None or not device.active or (status != 0 and status != 1):
            return None
        sent = log.EmployeeAttendanceNumber
        number: str | None
        if type(sent) is str and sent.isalnum() and sent.isascii():
            number = sent if len(sent) <= MAX_EMPLOYEE_NUMBER else None
        else:
            number = usual_number(sent)  # an integer; anything else is None
        if number is None:
            return None
        employee = find_employee(number)
        if employee is None or not employee.active or employee.left_on is not None:
            return None
        if device is not last_device:
            last_device = device
            device_ids.add(device.id)
            device_zone = device.zone or default_zone
            if device_zone is not zone:
                zone = device_zone
                stamps = by_zone.setdefault(zone, {})
        text = log.Timestamp
        if text in stamps:
            stamp = stamps[text]
        else:
            got = plain_instant(text, device_zone)
            stamp = None
            if got is not None and earliest <= got[0] <= latest:
                stamp = (got[0], convert(got[0]), convert(got[1]))
            stamps[text] = stamp
        if stamp is None:
            return None
        key = (device.id, number, stamp[0], status)
        if key in seen:
            return None
        seen.add(key)
        kept.append((index, key))
        extend((stamp[1], number, device.id, status, stamp[2], employee.id))  # VARYING_COLUMNS
    return Verdict(
        version=view.version,
        policy=policy,
        outcomes=[NEW] * len(logs),
        rejections=[],
        kept=kept,
        in_batch_duplicates=0,
        held=0,
        device_ids=device_ids,
        punches=_prepared(batch, len(kept), values, convert),
    )


def _prepared(
    batch: Batch, count: int, values: list[Any], convert: Callable[[datetime], Any]
) -> punch_rows.PreparedPunches:
    return punch_rows.PreparedPunches(
        batch.dialect, count, values, batch.tenant_id, batch.source, convert(batch.now)
    )


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
    kept: list[tuple[int, NaturalKey]] = []
    in_batch_duplicates = held = 0
    values: list[Any] = []
    extend = values.extend
    convert = punch_rows.driver_datetime(batch.dialect)
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
        kept.append((candidate.index, key))
        if employee_id is None:
            held += 1
            outcomes[candidate.index] = UNMATCHED
        else:
            outcomes[candidate.index] = NEW
        extend(
            (  # punch_rows.VARYING_COLUMNS
                convert(candidate.instant),
                candidate.employee_number,
                candidate.device_id,
                candidate.status,
                convert(candidate.local_wall),
                employee_id,
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
        device_ids={key[0] for _, key in kept},
        punches=_prepared(batch, len(kept), values, convert),
    )
