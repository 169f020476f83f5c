"""``GET /v1/attendance`` and ``GET /v1/punches`` in process, on both databases: scopes,
pagination, the 93-day limit, the cursor feed, and read-after-write."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from punchlog.services import shifts
from punchlog.services.shifts import ShiftIn
from punchlog.services.store import Store
from tests.support.world import ZONE, World, log


@pytest.fixture
def workday(store: Store, world: World) -> date:
    """GEN 09:00-18:00 for E1 and E2 from a week ago; returns a past day."""
    shifts.create_shift(store, world.slug, ShiftIn("GEN", "09:00", "18:00"))
    today = datetime.now(UTC).astimezone(ZONE).date()
    for number in ("E1", "E2"):
        shifts.assign_shift(
            store, world.slug, number, "GEN", from_date=today - timedelta(days=7), to_date=None
        )
    return today - timedelta(days=2)


def _at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm)


def _get(client: TestClient, key: str, path: str) -> dict[str, object]:
    answer = client.get(path, headers={"X-API-Key": key})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize("path", ["/v1/attendance?from=2026-11-01&to=2026-11-02", "/v1/punches"])
def test_only_read_and_admin_keys_may_read(client: TestClient, world: World, path: str) -> None:
    ingest = client.get(path, headers={"X-API-Key": world.ingest_key})
    assert ingest.status_code == 403
    assert ingest.json()["succeeded"] is False
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"X-API-Key": world.read_key}).status_code == 200
    assert client.get(path, headers={"X-API-Key": world.admin_key}).status_code == 200


def test_a_read_key_cannot_push(client: TestClient, world: World) -> None:
    answer = client.post("/v1/logs", json=[log()], headers={"X-API-Key": world.read_key})
    assert answer.status_code == 403


def test_a_read_right_after_an_ingest_sees_the_day(
    client: TestClient, world: World, workday: date
) -> None:
    pushed = client.post(
        "/v1/logs",
        json=[log("E1", at=_at(workday, 9, 20)), log("E1", at=_at(workday, 18, 0), status=1)],
        headers={"X-API-Key": world.ingest_key},
    )
    assert pushed.json()["data"]["logsAccepted"] == 2
    day = workday.isoformat()
    body = _get(client, world.read_key, f"/v1/attendance?from={day}&to={day}&employee=E1")
    assert body["totalRecords"] == 1
    (record,) = body["data"]  # type: ignore[misc]
    assert record["employeeNumber"] == "E1"
    assert record["status"] == "present"
    assert record["lateBySeconds"] == 20 * 60
    assert record["firstIn"] == f"{day}T09:20:00+05:30"
    assert record["provisional"] is False
    assert {p["direction"] for p in record["punches"]} == {"in", "out"}


def test_pages_follow_the_originals_shape(client: TestClient, world: World, workday: date) -> None:
    first = (workday - timedelta(days=4)).isoformat()
    last = workday.isoformat()
    whole = _get(client, world.read_key, f"/v1/attendance?from={first}&to={last}&pageSize=500")
    total = whole["totalRecords"]
    assert total == 10  # E1 and E2, five days each, absent days included
    assert whole["pageNumber"] == 1
    assert whole["totalPages"] == 1
    paged = []
    for number in (1, 2, 3, 4):
        body = _get(
            client,
            world.read_key,
            f"/v1/attendance?from={first}&to={last}&pageSize=3&pageNumber={number}",
        )
        assert body["totalPages"] == 4
        paged.extend((r["employeeNumber"], r["date"]) for r in body["data"])  # type: ignore[attr-defined]
    assert paged == [(r["employeeNumber"], r["date"]) for r in whole["data"]]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("from=2026-01-01&to=2026-04-30", "93"),
        ("from=2026-02-10&to=2026-02-01", "before"),
        ("from=2026-02-30&to=2026-03-01", "from"),
        ("to=2026-03-01", "from"),
        ("from=2026-02-01&to=2026-02-02&pageSize=501", "pageSize"),
        ("from=2026-02-01&to=2026-02-02&pageNumber=0", "pageNumber"),
    ],
)
def test_bad_attendance_queries_are_400s(
    client: TestClient, world: World, query: str, needle: str
) -> None:
    answer = client.get(f"/v1/attendance?{query}", headers={"X-API-Key": world.read_key})
    assert answer.status_code == 400
    body = answer.json()
    assert body["succeeded"] is False
    assert any(needle in message for message in body["errors"])


def test_the_feed_pages_by_cursor_and_an_empty_page_keeps_it(
    client: TestClient, world: World
) -> None:
    client.post(
        "/v1/logs",
        json=[log("E1", minutes_ago=9), log("E2", minutes_ago=8), log("N1", minutes_ago=7)],
        headers={"X-API-Key": world.ingest_key},
    )
    first = _get(client, world.read_key, "/v1/punches?limit=2")
    assert [p["employeeNumber"] for p in first["data"]] == ["E1", "E2"]  # type: ignore[attr-defined]
    rest = _get(client, world.read_key, f"/v1/punches?since={first['nextCursor']}")
    (held,) = rest["data"]  # type: ignore[misc]
    assert (held["employeeNumber"], held["matched"], held["source"]) == ("N1", False, "api")
    assert held["timestamp"].endswith("Z")
    empty = _get(client, world.read_key, f"/v1/punches?since={rest['nextCursor']}")
    assert empty["data"] == []
    assert empty["nextCursor"] == rest["nextCursor"]
    bad = client.get("/v1/punches?since=abc", headers={"X-API-Key": world.read_key})
    assert bad.status_code == 400
    too_many = client.get("/v1/punches?limit=5001", headers={"X-API-Key": world.read_key})
    assert too_many.status_code == 400


def test_another_tenants_read_key_sees_nothing(
    client: TestClient, store: Store, world: World, workday: date
) -> None:
    from tests.support.world import build_world

    other = build_world(store, slug="other")
    client.post("/v1/logs", json=[log("E1")], headers={"X-API-Key": world.ingest_key})
    day = workday.isoformat()
    feed = _get(client, other.read_key, "/v1/punches")
    assert feed["data"] == []
    days = _get(client, other.read_key, f"/v1/attendance?from={day}&to={day}")
    assert days["totalRecords"] == 0
