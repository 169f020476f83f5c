"""What the ingest hot path looks up, cached in process: key rows, and per tenant its devices
and employees.

Every entry carries the tenant's registry version it was read at (storage.registry). An
ingest transaction reads the current version first thing; where it differs, the entries are
read again inside that transaction, so a key revoked or a device disabled by any process
(the CLI, another worker) is refused by the very next request. Entries are only ever read
*after* the version in the same transaction, so an entry is never older than its label.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from punchlog.domain.logs import DeviceRef, EmployeeRef
from punchlog.domain.times import load_zone
from punchlog.storage import devices as device_rows
from punchlog.storage import employees as employee_rows

# Bounds on memory: beyond these the cache is dropped and refilled as requests come.
MAX_KEYS = 10_000
MAX_EMPLOYEES = 200_000
# last_used_at / last_seen_at are advanced at most this often (also guarded in SQL).
TOUCH_INTERVAL = timedelta(seconds=30)


@dataclass(slots=True)
class TenantView:
    """A tenant's devices (all of them) and the employees looked up so far, at ``version``."""

    version: int
    devices: dict[str, DeviceRef]
    employees: dict[str, EmployeeRef] = field(default_factory=dict)

    def find_employees(
        self, conn: Connection, tenant_id: int, numbers: set[str]
    ) -> tuple[Mapping[str, EmployeeRef], set[str]]:
        """The registered employees among ``numbers`` (a mapping to read, not to change) and
        the numbers that are not registered: cached ones, the rest read now."""
        cached = self.employees
        # Not ``numbers - cached.keys()``: that copies every cached key into a set first.
        missing = {n for n in numbers if n not in cached}
        if not missing:
            return self.employees, missing
        fresh = load_employees(conn, tenant_id, missing)
        if len(self.employees) + len(fresh) > MAX_EMPLOYEES:  # bound memory: start again
            found = {n: self.employees[n] for n in numbers - missing}
            found.update(fresh)
            self.employees = dict(fresh)
            return found, missing - fresh.keys()
        self.employees.update(fresh)
        return self.employees, missing - fresh.keys()


def load_employees(
    conn: Connection, tenant_id: int, numbers: Collection[str]
) -> dict[str, EmployeeRef]:
    rows = employee_rows.find_employees(conn, tenant_id=tenant_id, numbers=numbers)
    return {
        r["number"]: EmployeeRef(id=r["id"], active=bool(r["active"]), left_on=r["left_on"])
        for r in rows
    }


def _load_devices(conn: Connection, tenant_id: int) -> dict[str, DeviceRef]:
    return {
        r["identifier"]: DeviceRef(
            id=r["id"],
            active=bool(r["active"]),
            zone=load_zone(r["timezone"]) if r["timezone"] else None,
        )
        for r in device_rows.list_devices(conn, tenant_id=tenant_id)
    }


class Registry:
    """One per process (held by the Store). Thread-safe: entries are replaced whole."""

    def __init__(self) -> None:
        self._keys: dict[str, dict[str, Any]] = {}
        self._tenants: dict[int, TenantView] = {}
        self._touched: dict[tuple[str, int], datetime] = {}
        self._lock = threading.Lock()

    # Keys: the row of storage.keys.find_key_with_tenant, labelled by its registry_version.
    def key(self, public_id: str) -> dict[str, Any] | None:
        return self._keys.get(public_id)

    def remember_key(self, row: dict[str, Any]) -> None:
        with self._lock:
            if len(self._keys) >= MAX_KEYS:
                self._keys.clear()
            self._keys[row["public_id"]] = row

    def forget_key(self, public_id: str) -> None:
        self._keys.pop(public_id, None)

    def cached_tenant(self, tenant_id: int) -> TenantView | None:
        """The tenant's view as last read, at whatever version that was (no I/O)."""
        return self._tenants.get(tenant_id)

    def tenant(self, conn: Connection, tenant_id: int, version: int) -> TenantView:
        """The tenant's view at ``version`` (read inside ``conn``'s transaction just before)."""
        view = self._tenants.get(tenant_id)
        if view is None or view.version != version:
            view = TenantView(version, _load_devices(conn, tenant_id))
            self._tenants[tenant_id] = view
        return view

    def due_for_touch(self, kind: str, ids: Collection[int], now: datetime) -> list[int]:
        """The ids whose last-use stamp this process has not advanced within the interval;
        they are marked as advanced (the caller writes them in its transaction)."""
        touched = self._touched
        if all(  # the usual case, without the lock: every one advanced recently
            (last := touched.get((kind, one))) is not None
            and timedelta(0) <= now - last < TOUCH_INTERVAL
            for one in ids
        ):
            return []
        due = []
        with self._lock:
            if len(self._touched) > MAX_KEYS:
                self._touched.clear()
            for one in ids:
                last = self._touched.get((kind, one))
                if last is None or now - last >= TOUCH_INTERVAL or now < last:
                    self._touched[(kind, one)] = now
                    due.append(one)
        return due

    def _recent(self, kind: str, one: int, now: datetime) -> bool:
        last = self._touched.get((kind, one))
        return last is not None and timedelta(0) <= now - last < TOUCH_INTERVAL
