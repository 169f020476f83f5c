"""A small, known tenant for tests: what each test pushes logs against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from punchlog.services import devices, employees, keys, tenants
from punchlog.services.employees import EmployeeIn
from punchlog.services.store import Store

ZONE = ZoneInfo("Asia/Kolkata")
DEVICE = "4f5b878d-7fe4-4b34-8eed-651b3d20c4c2"
DEVICE_BERLIN = "0a1b2c3d-0000-4000-8000-00000000be71"
DEVICE_OFF = "dddddddd-0000-4000-8000-0000000000ff"
EMPLOYEES = ("E1", "E2", "E3")
LEFT = "E9"  # an employee who has left


@dataclass(frozen=True)
class World:
    slug: str
    ingest_key: str
    read_key: str
    admin_key: str
    ingest_key_id: str


def build_world(store: Store, slug: str = "acme") -> World:
    tenants.create_tenant(store, slug, name="Acme", timezone="Asia/Kolkata")
    devices.add_device(store, slug, identifier=DEVICE, name="Gate", location="Lobby")
    devices.add_device(store, slug, identifier=DEVICE_BERLIN, timezone="Europe/Berlin")
    devices.add_device(store, slug, identifier=DEVICE_OFF)
    devices.set_device_active(store, slug, DEVICE_OFF, active=False)
    employees.upsert_employees(store, slug, [EmployeeIn(n, f"Employee {n}") for n in EMPLOYEES])
    employees.upsert_employees(store, slug, [EmployeeIn(LEFT, "Gone", active=False)])
    ingest = keys.issue_key(store, slug, scope="ingest")
    read = keys.issue_key(store, slug, scope="read")
    admin = keys.issue_key(store, slug, scope="admin")
    return World(slug, ingest.key, read.key, admin.key, ingest.id)


def local_now(now: datetime | None = None) -> datetime:
    """Wall time in Asia/Kolkata now (whole seconds), as a device there would send it."""
    moment = (now or datetime.now(UTC)).astimezone(ZONE)
    return moment.replace(tzinfo=None, microsecond=0)


def log(
    number: str | int = "E1",
    *,
    device: str = DEVICE,
    at: datetime | None = None,
    minutes_ago: int = 10,
    status: Any = 0,
) -> dict[str, Any]:
    """One log as a Keka client builds it."""
    wall = at or (local_now() - timedelta(minutes=minutes_ago))
    return {
        "DeviceIdentifier": device,
        "EmployeeAttendanceNumber": number,
        "Timestamp": wall.isoformat(),
        "Status": status,
    }
