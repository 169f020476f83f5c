"""``POST /v1/logs``: each per-log rule and rejection reason through HTTP, the 200 response
shape, duplicates, held logs, time zones, and key revocation/rotation. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from punchlog.services import employees, tenants
from punchlog.services.employees import EmployeeIn
from punchlog.services.store import Store
from punchlog.storage import punches as punch_rows
from punchlog.storage.tables import rejected_logs
from tests.api.conftest import Stored
from tests.support.world import (
    DEVICE,
    DEVICE_BERLIN,
    DEVICE_OFF,
    LEFT,
    ZONE,
    World,
    local_now,
    log,
)

URL = "/v1/logs"
BERLIN = ZoneInfo("Europe/Berlin")
DATA_KEYS = {
    "logsReceived",
    "logsAccepted",
    "logsDuplicate",
    "logsUnmatched",
    "logsRejected",
    "rejected",
}


def push(client: TestClient, key: str, items: list[Any]) -> dict[str, Any]:
    """POST the logs; assert a 200 of the spec's shape and the count invariants; return data."""
    response = client.post(
        URL, content=orjson.dumps(items), headers={"X-API-Key": key, **JSON_TYPE}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "succeeded"}
    assert body["succeeded"] is True
    data: dict[str, Any] = body["data"]
    assert set(data) == DATA_KEYS
    assert data["logsReceived"] == len(items)
    assert data["logsReceived"] == data["logsAccepted"] + data["logsRejected"]
    assert data["logsRejected"] == len(data["rejected"])
    assert data["logsDuplicate"] + data["logsUnmatched"] <= data["logsAccepted"]
    indexes = [r["index"] for r in data["rejected"]]
    assert indexes == sorted(set(indexes))
    for rejection in data["rejected"]:
        assert set(rejection) == {"index", "reason", "message"}
        assert 0 <= rejection["index"] < len(items)
        assert isinstance(rejection["message"], str)
        assert rejection["message"]
    return data


JSON_TYPE = {"Content-Type": "application/json"}


def punches_of(store: Store, tenant_id: int) -> list[dict[str, Any]]:
    with store.read() as conn:
        return [dict(r) for r in punch_rows.list_punches(conn, tenant_id=tenant_id)]


def kept_reasons(store: Store, tenant_id: int) -> list[str]:
    with store.read() as conn:
        query = (
            select(rejected_logs.c.reason)
            .where(rejected_logs.c.tenant_id == tenant_id)
            .order_by(rejected_logs.c.position)
        )
        return list(conn.execute(query).scalars())


def _wall_ago(zone: ZoneInfo, delta: timedelta) -> datetime:
    return (datetime.now(UTC) - delta).astimezone(zone).replace(tzinfo=None, microsecond=0)


# --- each rejection reason, alone among good logs ------------------------------------------


def _missing(field: str) -> dict[str, Any]:
    item = log("E2")
    del item[field]
    return item


def _with(**fields: Any) -> dict[str, Any]:
    return {**log("E2"), **fields}


REJECTED: dict[str, tuple[Callable[[], Any], str]] = {
    "missing-device": (lambda: _missing("DeviceIdentifier"), "invalid_log"),
    "missing-number": (lambda: _missing("EmployeeAttendanceNumber"), "invalid_log"),
    "missing-timestamp": (lambda: _missing("Timestamp"), "invalid_log"),
    "missing-status": (lambda: _missing("Status"), "invalid_log"),
    "null-status": (lambda: _with(Status=None), "invalid_log"),
    "not-an-object": (lambda: "E2,2026-01-01,0", "invalid_log"),
    "a-number": (lambda: 17, "invalid_log"),
    "a-list": (lambda: [DEVICE, "E2"], "invalid_log"),
    "device-not-a-string": (lambda: _with(DeviceIdentifier=123), "invalid_log"),
    "status-2": (lambda: _with(Status=2), "invalid_status"),
    "status-string-2": (lambda: _with(Status="2"), "invalid_status"),
    "status-true": (lambda: _with(Status=True), "invalid_status"),
    "status-in": (lambda: _with(Status="IN"), "invalid_status"),
    "status-float": (lambda: _with(Status=0.5), "invalid_status"),
    "status-minus-1": (lambda: _with(Status=-1), "invalid_status"),
    "timestamp-words": (lambda: _with(Timestamp="yesterday at nine"), "invalid_timestamp"),
    "timestamp-month-13": (lambda: _with(Timestamp="2026-13-01T09:00:00"), "invalid_timestamp"),
    "timestamp-us-format": (lambda: _with(Timestamp="12/03/2026 09:00:00"), "invalid_timestamp"),
    "timestamp-date-only": (lambda: _with(Timestamp="2026-12-03"), "invalid_timestamp"),
    "timestamp-feb-30": (lambda: _with(Timestamp="2026-02-30T09:00:00"), "invalid_timestamp"),
    "timestamp-bad-offset": (
        lambda: _with(Timestamp="2026-02-03T09:00:00+25:00"),
        "invalid_timestamp",
    ),
    "timestamp-number": (lambda: _with(Timestamp=1764750000), "invalid_timestamp"),
    "unknown-device": (lambda: _with(DeviceIdentifier=str(uuid.uuid4())), "unknown_device"),
    "not-a-guid-device": (lambda: _with(DeviceIdentifier="front-door"), "unknown_device"),
    "disabled-device": (lambda: _with(DeviceIdentifier=DEVICE_OFF), "device_disabled"),
    "too-old": (lambda: log("E2", minutes_ago=31 * 24 * 60), "too_old"),
    "in-future": (lambda: log("E2", minutes_ago=-10), "in_future"),
    "number-empty": (lambda: _with(EmployeeAttendanceNumber=""), "invalid_employee_number"),
    "number-blank": (lambda: _with(EmployeeAttendanceNumber="   "), "invalid_employee_number"),
    "number-too-long": (
        lambda: _with(EmployeeAttendanceNumber="N" * 65),
        "invalid_employee_number",
    ),
    "number-float": (lambda: _with(EmployeeAttendanceNumber=1.5), "invalid_employee_number"),
    "number-list": (lambda: _with(EmployeeAttendanceNumber=["E2"]), "invalid_employee_number"),
    "number-bool": (lambda: _with(EmployeeAttendanceNumber=True), "invalid_employee_number"),
    "employee-left": (lambda: log(LEFT), "employee_inactive"),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_a_bad_log_is_rejected_alone_and_kept(
    client: TestClient,
    store: Store,
    world: World,
    tenant_id: int,
    stored: Callable[[], Stored],
    case: str,
) -> None:
    make_bad, reason = REJECTED[case]
    items = [log("E1", minutes_ago=9), make_bad(), log("E3", minutes_ago=8)]
    data = push(client, world.ingest_key, items)
    assert (data["logsReceived"], data["logsAccepted"], data["logsRejected"]) == (3, 2, 1)
    assert (data["logsDuplicate"], data["logsUnmatched"]) == (0, 0)
    assert [(r["index"], r["reason"]) for r in data["rejected"]] == [(1, reason)]
    assert sorted(p["employee_number"] for p in punches_of(store, tenant_id)) == ["E1", "E3"]
    assert kept_reasons(store, tenant_id) == [reason]
    assert stored().requests == 1


@pytest.mark.parametrize(
    "field", ["DeviceIdentifier", "EmployeeAttendanceNumber", "Timestamp", "Status"]
)
def test_invalid_log_message_names_the_missing_field(
    client: TestClient, world: World, field: str
) -> None:
    data = push(client, world.ingest_key, [_missing(field)])
    assert data["rejected"][0]["reason"] == "invalid_log"
    assert field in data["rejected"][0]["message"]


def test_too_old_message_states_the_window(client: TestClient, world: World) -> None:
    item = log("E1", minutes_ago=40 * 24 * 60)
    data = push(client, world.ingest_key, [item])
    rejection = data["rejected"][0]
    assert rejection["reason"] == "too_old"
    assert "30 days" in rejection["message"]
    assert item["Timestamp"] in rejection["message"]


def test_unknown_employee_when_the_tenant_rejects_them(
    client: TestClient, store: Store, world: World, tenant_id: int
) -> None:
    tenants.update_tenant(store, world.slug, unknown_employees="reject")
    data = push(client, world.ingest_key, [log("E1"), log("NOBODY")])
    assert (data["logsAccepted"], data["logsUnmatched"], data["logsRejected"]) == (1, 0, 1)
    assert [(r["index"], r["reason"]) for r in data["rejected"]] == [(1, "unknown_employee")]
    assert [p["employee_number"] for p in punches_of(store, tenant_id)] == ["E1"]
    assert kept_reasons(store, tenant_id) == ["unknown_employee"]


def test_extra_fields_are_ignored(client: TestClient, world: World) -> None:
    item = {**log("E1"), "Temperature": 36.6, "Photo": None}
    data = push(client, world.ingest_key, [item])
    assert (data["logsAccepted"], data["logsRejected"]) == (1, 0)


# --- accepted: held, duplicates ------------------------------------------------------------


def test_an_unknown_number_is_held_as_unmatched(
    client: TestClient, store: Store, world: World, tenant_id: int
) -> None:
    data = push(client, world.ingest_key, [log("NEW1"), log("E1")])
    assert (data["logsAccepted"], data["logsUnmatched"], data["logsRejected"]) == (2, 1, 0)
    by_number = {p["employee_number"]: p for p in punches_of(store, tenant_id)}
    assert by_number["NEW1"]["employee_id"] is None
    assert by_number["E1"]["employee_id"] is not None


def test_a_duplicate_in_the_same_batch_is_accepted_and_stored_once(
    client: TestClient, world: World, stored: Callable[[], Stored]
) -> None:
    item = log("E1", minutes_ago=6)
    data = push(client, world.ingest_key, [item, dict(item), log("E2", minutes_ago=6)])
    assert (data["logsAccepted"], data["logsDuplicate"], data["logsRejected"]) == (3, 1, 0)
    assert stored().punches == 2


def test_a_retried_batch_is_all_duplicates(
    client: TestClient, world: World, stored: Callable[[], Stored]
) -> None:
    items = [log("E1", minutes_ago=7), log("E1", minutes_ago=3, status=1), log("HELD9")]
    first = push(client, world.ingest_key, items)
    assert (first["logsAccepted"], first["logsDuplicate"], first["logsUnmatched"]) == (3, 0, 1)
    again = push(client, world.ingest_key, items)
    assert (again["logsAccepted"], again["logsDuplicate"], again["logsRejected"]) == (3, 3, 0)
    assert stored().punches == 3


def test_milliseconds_and_guid_case_do_not_make_a_new_punch(
    client: TestClient, world: World, stored: Callable[[], Stored]
) -> None:
    wall = local_now() - timedelta(minutes=4)
    push(client, world.ingest_key, [log("E1", at=wall)])
    resent = {
        **log("E1", at=wall),
        "Timestamp": wall.isoformat() + ".734",
        "DeviceIdentifier": "{" + DEVICE.upper() + "}",
    }
    data = push(client, world.ingest_key, [resent])
    assert (data["logsAccepted"], data["logsDuplicate"]) == (1, 1)
    assert stored().punches == 1


def test_in_and_out_at_the_same_second_are_two_punches(
    client: TestClient, world: World, stored: Callable[[], Stored]
) -> None:
    wall = local_now() - timedelta(minutes=2)
    data = push(
        client, world.ingest_key, [log("E1", at=wall, status=0), log("E1", at=wall, status=1)]
    )
    assert (data["logsAccepted"], data["logsDuplicate"]) == (2, 0)
    assert stored().punches == 2


def test_a_mixed_batch_counts_add_up_and_stores_the_good(
    client: TestClient, store: Store, world: World, tenant_id: int
) -> None:
    dup = log("E1", minutes_ago=30)
    held_at = local_now() - timedelta(minutes=15)
    push(client, world.ingest_key, [dup])
    items: list[Any] = [
        log("E1", minutes_ago=20),  # new
        dup,  # duplicate of the earlier request
        log("E2", device=DEVICE_OFF),  # device_disabled
        log("HOLD1", at=held_at),  # unmatched
        log("HOLD1", at=held_at),  # duplicate in batch (of an unmatched one)
        "garbage",  # invalid_log
        log("E3", minutes_ago=-60),  # in_future
        log(LEFT),  # employee_inactive
        log("E2", minutes_ago=5, status="1"),  # new
    ]
    data = push(client, world.ingest_key, items)
    assert data["logsReceived"] == 9
    assert data["logsAccepted"] == 5
    assert data["logsDuplicate"] == 2
    assert data["logsUnmatched"] == 1
    assert data["logsRejected"] == 4
    assert [(r["index"], r["reason"]) for r in data["rejected"]] == [
        (2, "device_disabled"),
        (5, "invalid_log"),
        (6, "in_future"),
        (7, "employee_inactive"),
    ]
    numbers = sorted(p["employee_number"] for p in punches_of(store, tenant_id))
    assert numbers == ["E1", "E1", "E2", "HOLD1"]


# --- field forms ---------------------------------------------------------------------------


def test_status_strings_are_accepted(
    client: TestClient, store: Store, world: World, tenant_id: int
) -> None:
    data = push(
        client,
        world.ingest_key,
        [log("E1", minutes_ago=9, status="0"), log("E1", minutes_ago=8, status="1")],
    )
    assert (data["logsAccepted"], data["logsRejected"]) == (2, 0)
    assert sorted(p["status"] for p in punches_of(store, tenant_id)) == [0, 1]


def test_an_integer_attendance_number_is_its_decimal_string(
    client: TestClient, store: Store, world: World, tenant_id: int
) -> None:
    employees.upsert_employees(store, world.slug, [EmployeeIn("1234", "Numeric")])
    data = push(client, world.ingest_key, [log(1234, minutes_ago=9), log(" 1234 ")])
    assert (data["logsAccepted"], data["logsUnmatched"], data["logsRejected"]) == (2, 0, 0)
    rows = punches_of(store, tenant_id)
    assert [p["employee_number"] for p in rows] == ["1234", "1234"]
    assert all(p["employee_id"] is not None for p in rows)


def test_hand_built_whitespace_heavy_json_is_accepted(
    client: TestClient, world: World, stored: Callable[[], Stored]
) -> None:
    wall = (local_now() - timedelta(minutes=3)).isoformat(sep=" ")
    body = (
        '\r\n[\r\n\t{  "DeviceIdentifier" :  "' + DEVICE + '" ,\n'
        '\t   "EmployeeAttendanceNumber"\t:\t"E1",\n'
        '   "Timestamp"   :   "' + wall + '",   "Status" :  1 }\n\n]  \n'
    ).encode()
    response = client.post(URL, content=body, headers={"X-API-Key": world.ingest_key, **JSON_TYPE})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["logsAccepted"] == 1
    assert stored().punches == 1


@pytest.mark.parametrize("suffix", ["Z", "+00:00", "z"])
def test_an_explicit_utc_offset_wins(
    client: TestClient, store: Store, world: World, tenant_id: int, suffix: str
) -> None:
    instant = (datetime.now(UTC) - timedelta(minutes=12)).replace(microsecond=0)
    item = {**log("E1"), "Timestamp": instant.replace(tzinfo=None).isoformat() + suffix}
    data = push(client, world.ingest_key, [item])
    assert data["logsAccepted"] == 1
    (row,) = punches_of(store, tenant_id)
    assert row["punched_at"] == instant


def test_an_explicit_offset_wins_over_the_device_zone(
    client: TestClient, store: Store, world: World, tenant_id: int
) -> None:
    instant = (datetime.now(UTC) - timedelta(minutes=25)).replace(microsecond=0)
    new_york = timedelta(hours=-4)  # a fixed offset unrelated to Kolkata or Berlin
    wall = (instant + new_york).replace(tzinfo=None)
    item = {**log("E1", device=DEVICE_BERLIN), "Timestamp": wall.isoformat() + "-04:00"}
    data = push(client, world.ingest_key, [item])
    assert (data["logsAccepted"], data["logsRejected"]) == (1, 0)
    (row,) = punches_of(store, tenant_id)
    assert row["punched_at"] == instant
    assert row["local_time"] == wall


def test_a_wall_time_is_read_in_the_tenant_zone(
    client: TestClient, store: Store, world: World, tenant_id: int
) -> None:
    wall = _wall_ago(ZONE, timedelta(minutes=17))
    push(client, world.ingest_key, [log("E1", at=wall)])
    (row,) = punches_of(store, tenant_id)
    assert row["punched_at"] == wall.replace(tzinfo=ZONE).astimezone(UTC)
    assert row["local_time"] == wall


def test_the_berlin_device_reads_wall_time_in_berlin(
    client: TestClient, store: Store, world: World, tenant_id: int
) -> None:
    instant = (datetime.now(UTC) - timedelta(minutes=17)).replace(microsecond=0)
    wall = instant.astimezone(BERLIN).replace(tzinfo=None)
    data = push(client, world.ingest_key, [log("E1", device=DEVICE_BERLIN, at=wall)])
    assert (data["logsAccepted"], data["logsRejected"]) == (1, 0)
    (row,) = punches_of(store, tenant_id)
    assert row["device_identifier"] == DEVICE_BERLIN
    assert row["punched_at"] == instant
    kolkata_reading = wall.replace(tzinfo=ZONE).astimezone(UTC)
    assert row["punched_at"] != kolkata_reading
    assert row["local_time"] == wall


def test_a_kolkata_wall_time_on_the_berlin_device_is_in_the_future(
    client: TestClient, world: World, stored: Callable[[], Stored]
) -> None:
    """Kolkata is 3.5-4.5 h ahead of Berlin: its 'now' read in Berlin is hours ahead."""
    data = push(client, world.ingest_key, [log("E1", device=DEVICE_BERLIN, minutes_ago=10)])
    assert [r["reason"] for r in data["rejected"]] == ["in_future"]
    assert stored().punches == 0


def test_space_separator_and_fraction_are_accepted(
    client: TestClient, store: Store, world: World, tenant_id: int
) -> None:
    wall = local_now() - timedelta(minutes=8)
    item = {**log("E1"), "Timestamp": wall.isoformat(sep=" ") + ".999999"}
    data = push(client, world.ingest_key, [item])
    assert data["logsAccepted"] == 1
    (row,) = punches_of(store, tenant_id)
    assert row["local_time"] == wall
    assert row["punched_at"].microsecond == 0


def test_the_compat_fields_a_keka_client_reads(
    client: TestClient, world: World, ingest_headers: dict[str, str]
) -> None:
    response = client.post(URL, json=[log("E1")], headers=ingest_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["succeeded"] is True
    assert body["data"]["logsReceived"] == 1
    assert body["data"]["logsAccepted"] == 1
    assert list(body["data"])[:2] == ["logsReceived", "logsAccepted"]


# --- keys: revocation and rotation ---------------------------------------------------------


def test_a_revoked_key_stops_on_the_very_next_request(
    client: TestClient, world: World, stored: Callable[[], Stored]
) -> None:
    push(client, world.ingest_key, [log("E1", minutes_ago=9)])
    revoked = client.post(
        f"/v1/admin/keys/{world.ingest_key_id}/revoke", headers={"X-API-Key": world.admin_key}
    )
    assert revoked.status_code == 200, revoked.text
    response = client.post(
        URL, json=[log("E1", minutes_ago=8)], headers={"X-API-Key": world.ingest_key}
    )
    assert response.status_code == 401
    assert response.json() == {"errors": ["Invalid API key"], "succeeded": False}
    assert stored().punches == 1


def test_rotation_both_keys_work_until_the_old_is_revoked(
    client: TestClient, world: World, stored: Callable[[], Stored]
) -> None:
    admin = {"X-API-Key": world.admin_key}
    issued = client.post("/v1/admin/keys", json={"scope": "ingest", "label": "new"}, headers=admin)
    assert issued.status_code == 201, issued.text
    new_key = issued.json()["data"]["key"]
    assert new_key != world.ingest_key

    push(client, world.ingest_key, [log("E1", minutes_ago=9)])
    push(client, new_key, [log("E1", minutes_ago=8)])
    assert stored().punches == 2

    revoke = client.post(f"/v1/admin/keys/{world.ingest_key_id}/revoke", headers=admin)
    assert revoke.status_code == 200, revoke.text
    old = client.post(URL, json=[log("E1", minutes_ago=7)], headers={"X-API-Key": world.ingest_key})
    assert old.status_code == 401
    push(client, new_key, [log("E1", minutes_ago=6)])
    assert stored().punches == 3


def test_a_long_integer_attendance_number_keeps_its_digits(
    client: TestClient, store: Store, world: World, tenant_id: int
) -> None:
    """An integer is turned to its decimal string (1-64 characters), however many digits."""
    digits = "1234567890123456789012345"  # 25 digits: beyond 64-bit integers
    body = orjson.dumps([log("X")]).replace(b'"X"', digits.encode())
    response = client.post(URL, content=body, headers={"X-API-Key": world.ingest_key, **JSON_TYPE})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["logsAccepted"], data["logsUnmatched"], data["logsRejected"]) == (1, 1, 0), data
    assert [p["employee_number"] for p in punches_of(store, tenant_id)] == [digits]
