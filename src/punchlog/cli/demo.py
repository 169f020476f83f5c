"""``punchlog demo``: a demo tenant, devices, employees, fresh keys, and a curl that works."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from typing import Any

import orjson

from punchlog.domain.times import load_zone
from punchlog.errors import NotFound
from punchlog.services import devices, employees, keys, tenants
from punchlog.services.employees import EmployeeIn
from punchlog.services.store import Store

SLUG = "demo"
ZONE = "Asia/Kolkata"
DEVICES = (
    ("4f5b878d-7fe4-4b34-8eed-651b3d20c4c2", "Main gate", "Lobby", "both"),
    ("9b2e4c1a-3d5f-4e6a-8b7c-0d1e2f3a4b5c", "Canteen exit", "Ground floor", "out"),
)
EMPLOYEES = (
    ("E1001", "Asha Rao"),
    ("E1002", "Vikram Mehta"),
    ("E1003", "Meera Iyer"),
    ("E1004", "Daniel Dsouza"),
    ("E1005", "Fatima Khan"),
)


def seed(store: Store) -> dict[str, Any]:
    """Create the demo tenant, devices and employees if missing; always issue a fresh key."""
    try:
        tenants.get_tenant(store, SLUG)
    except NotFound:
        tenants.create_tenant(store, SLUG, name="Demo Co.", timezone=ZONE)
        for identifier, name, location, direction in DEVICES:
            devices.add_device(
                store,
                SLUG,
                identifier=identifier,
                name=name,
                location=location,
                direction=direction,
            )
        employees.upsert_employees(store, SLUG, [EmployeeIn(n, name) for n, name in EMPLOYEES])
    ingest = keys.issue_key(store, SLUG, scope="ingest", label="demo ingest")
    admin = keys.issue_key(store, SLUG, scope="admin", label="demo admin")
    return {"ingest_key": ingest.key, "admin_key": admin.key}


def curl_example(base_url: str, key: str, now: datetime | None = None) -> str:
    wall = (now or datetime.now(UTC)).astimezone(load_zone(ZONE)).replace(tzinfo=None)
    body = [
        {
            "DeviceIdentifier": DEVICES[0][0],
            "EmployeeAttendanceNumber": EMPLOYEES[0][0],
            "Timestamp": wall.replace(microsecond=0).isoformat(),
            "Status": 0,
        }
    ]
    return (
        f"curl -sS -X POST {base_url}/v1/logs \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -H 'X-API-Key: {key}' \\\n"
        f"  -d {shlex.quote(orjson.dumps(body).decode())}"
    )
