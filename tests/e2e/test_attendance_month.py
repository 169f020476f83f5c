"""The attendance engine as a new user meets it: shifts and a holiday from the CLI, days of
punches pushed through POST /v1/logs to a real server (some late, some missing, a night-shift
worker), and the register and GET /v1/attendance say what a payroll clerk would write."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LiveWorld, run_cli, run_cli_json
from tests.support.world import DEVICE, ZONE

pytestmark = pytest.mark.e2e
CODES = {
    "present": "P",
    "absent": "A",
    "half_day": "HD",
    "missing_punch": "MP",
    "weekly_off": "WO",
    "holiday": "H",
}


def _stamp(day: date, hh: int, mm: int) -> str:
    return datetime(day.year, day.month, day.day, hh, mm).isoformat()


def _log(number: str, day: date, hh: int, mm: int, status: int) -> dict[str, Any]:
    return {
        "DeviceIdentifier": DEVICE,
        "EmployeeAttendanceNumber": number,
        "Timestamp": _stamp(day, hh, mm),
        "Status": status,
    }


def test_a_clerks_month(live: LiveWorld) -> None:
    url = live.db.url
    slug = live.world.slug
    run_cli(
        url,
        "shift",
        "create",
        slug,
        "GEN",
        "--start",
        "09:00",
        "--end",
        "18:00",
        "--late-grace",
        "10",
        "--weekly-offs",
        "sun",
    )
    run_cli(url, "shift", "create", slug, "NIGHT", "--start", "22:00", "--end", "06:00")
    today = datetime.now(UTC).astimezone(ZONE).date()
    days = [today - timedelta(days=offset) for offset in range(11, 1, -1)]  # closed windows
    holiday = next(d for d in days[3:] if d.weekday() != 6)
    run_cli(url, "holiday", "add", slug, holiday.isoformat(), "--name", "Founders day")
    for number, shift in (("E1", "GEN"), ("E2", "GEN"), ("E3", "NIGHT")):
        run_cli(url, "shift", "assign", slug, number, shift, "--from", days[0].isoformat())

    logs: list[dict[str, Any]] = []
    expected: dict[tuple[str, date], str] = {}
    working = [d for d in days if d != holiday and d.weekday() != 6]
    late_day, missing_day, absent_day = working[1], working[2], working[3]
    for day in days:
        off = "H" if day == holiday else "WO" if day.weekday() == 6 else None
        expected[("E1", day)] = off or "P"
        if off is None:
            logs += [_log("E1", day, 8, 58, 0), _log("E1", day, 18, 3, 1)]
        if off is not None:
            expected[("E2", day)] = off
        elif day == late_day:
            logs += [_log("E2", day, 9, 40, 0), _log("E2", day, 18, 0, 1)]
            expected[("E2", day)] = "P"
        elif day == missing_day:
            logs.append(_log("E2", day, 9, 0, 0))  # forgot to punch out
            expected[("E2", day)] = "MP"
        elif day == absent_day:
            expected[("E2", day)] = "A"
        else:
            logs += [_log("E2", day, 9, 5, 0), _log("E2", day, 17, 59, 1)]
            expected[("E2", day)] = "P"
        # The night worker: in at 21:57, out at 06:04 the next morning; one night off sick.
        if day == holiday:
            expected[("E3", day)] = "H"
        elif day == absent_day:
            expected[("E3", day)] = "A"
        else:
            nxt = day + timedelta(days=1)
            logs += [_log("E3", day, 21, 57, 0), _log("E3", nxt, 6, 4, 1)]
            expected[("E3", day)] = "P"

    headers = {"X-API-Key": live.world.ingest_key}
    answer = httpx.post(f"{live.base_url}/v1/logs", json=logs, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["logsAccepted"] == len(logs)

    # The API, with a read key.
    first, last = days[0].isoformat(), days[-1].isoformat()
    seen: dict[tuple[str, date], dict[str, Any]] = {}
    page = 1
    while True:
        body = httpx.get(
            f"{live.base_url}/v1/attendance",
            params={"from": first, "to": last, "pageSize": 7, "pageNumber": page},
            headers={"X-API-Key": live.world.read_key},
            timeout=30,
        ).json()
        assert body["succeeded"] is True
        for record in body["data"]:
            seen[(record["employeeNumber"], date.fromisoformat(record["date"]))] = record
        if page >= body["totalPages"]:
            break
        page += 1
    assert body["totalRecords"] == 30
    assert {key: CODES[r["status"]] for key, r in seen.items()} == expected
    late = seen[("E2", late_day)]
    assert late["lateBySeconds"] == 40 * 60
    night = seen[("E3", days[0])]
    assert night["shift"] == "NIGHT"
    assert night["grossSeconds"] == 8 * 3600 + 7 * 60
    assert night["lastOut"].startswith((days[0] + timedelta(days=1)).isoformat())
    assert all(r["provisional"] is False for r in seen.values())

    # The register, as the clerk prints it.
    for month in sorted({d.strftime("%Y-%m") for d in days}):
        grid = run_cli_json(url, "attendance", "register", slug, "--month", month)
        rows = {r["employeeNumber"]: r["days"] for r in grid["rows"]}
        for (number, day), code in expected.items():
            if day.strftime("%Y-%m") == month:
                assert rows[number][grid["dates"].index(day.isoformat())] == code, (number, day)
