"""Distinct logs to send, and every stored punch read back through ``GET /v1/punches``: what
the crash and outage tests compare (sent against stored, by natural key)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx

from tests.e2e.conftest import Server
from tests.support.world import DEVICE, EMPLOYEES, World, local_now

LogKey = tuple[str, str, str, int]  # (number, device, wall time as sent, status)

_BASE = local_now() - timedelta(minutes=10)


def nth_log(n: int) -> dict[str, Any]:
    """Log ``n``: its own second (going back from ten minutes ago), employee and status."""
    wall = _BASE - timedelta(seconds=n // len(EMPLOYEES))
    return {
        "DeviceIdentifier": DEVICE,
        "EmployeeAttendanceNumber": EMPLOYEES[n % len(EMPLOYEES)],
        "Timestamp": wall.strftime("%Y-%m-%dT%H:%M:%S"),
        "Status": (n // 7) % 2,
    }


def log_key(item: dict[str, Any]) -> LogKey:
    return (
        str(item["EmployeeAttendanceNumber"]),
        str(item["DeviceIdentifier"]),
        str(item["Timestamp"]),
        int(item["Status"]),
    )


def stored_logs(server: Server, world: World) -> Counter[LogKey]:
    """Every punch of the tenant, through GET /v1/punches (paged), by natural key."""
    found: Counter[LogKey] = Counter()
    cursor = "0"
    with httpx.Client(timeout=30.0) as http:
        while True:
            response = http.get(
                f"{server.base_url}/v1/punches",
                params={"since": cursor, "limit": 5000},
                headers={"X-API-Key": world.read_key},
            )
            assert response.status_code == 200, response.text
            body = response.json()
            for punch in body["data"]:
                wall = punch["localTime"][:19]
                found[
                    (punch["employeeNumber"], punch["deviceIdentifier"], wall, punch["status"])
                ] += 1
            if not body["data"]:
                return found
            assert body["nextCursor"] != cursor, body
            cursor = body["nextCursor"]
