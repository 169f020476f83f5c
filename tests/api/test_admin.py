"""The admin API (``/v1/admin/...``, admin scope): devices, employees, keys, validation,
scope checks and tenant isolation; plus the OpenAPI document, ``/healthz`` and ``/readyz``.
SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient

from punchlog.services import devices, employees, punches
from punchlog.services.employees import EmployeeIn
from punchlog.services.store import Store
from punchlog.storage import punches as punch_rows
from tests.api.conftest import Stored
from tests.support.world import DEVICE, DEVICE_BERLIN, DEVICE_OFF, EMPLOYEES, LEFT, World, log
from tests.support.world import build_world as build_tenant

ADMIN = "/v1/admin"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"data", "succeeded"}
    assert body["succeeded"] is True
    return body["data"]


def refused(response: httpx.Response, status: int) -> list[str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors", "succeeded"}
    assert body["succeeded"] is False
    assert body["errors"]
    assert all(isinstance(m, str) and m for m in body["errors"])
    return list(body["errors"])


def push(client: TestClient, key: str, items: list[Any]) -> dict[str, Any]:
    response = client.post("/v1/logs", json=items, headers={"X-API-Key": key})
    data: dict[str, Any] = ok(response)
    assert data["logsReceived"] == data["logsAccepted"] + data["logsRejected"]
    return data


# --- devices -------------------------------------------------------------------------------


def test_list_devices(client: TestClient, admin_headers: dict[str, str]) -> None:
    listed = ok(client.get(f"{ADMIN}/devices", headers=admin_headers))
    by_id = {d["identifier"]: d for d in listed}
    assert set(by_id) == {DEVICE, DEVICE_BERLIN, DEVICE_OFF}
    gate = by_id[DEVICE]
    assert (gate["name"], gate["location"], gate["direction"]) == ("Gate", "Lobby", "both")
    assert gate["active"] is True
    assert gate["timezone"] is None
    assert by_id[DEVICE_BERLIN]["timezone"] == "Europe/Berlin"
    assert by_id[DEVICE_OFF]["active"] is False
    assert set(gate) == {
        "identifier",
        "name",
        "location",
        "timezone",
        "direction",
        "active",
        "createdAt",
        "lastSeenAt",
    }


def test_a_device_shows_when_it_was_last_seen(
    client: TestClient, world: World, admin_headers: dict[str, str]
) -> None:
    before = {d["identifier"]: d for d in ok(client.get(f"{ADMIN}/devices", headers=admin_headers))}
    assert before[DEVICE]["lastSeenAt"] is None
    push(client, world.ingest_key, [log("E1")])
    after = {d["identifier"]: d for d in ok(client.get(f"{ADMIN}/devices", headers=admin_headers))}
    assert after[DEVICE]["lastSeenAt"] is not None
    assert after[DEVICE_BERLIN]["lastSeenAt"] is None


def test_add_a_device_with_an_identifier(
    client: TestClient, store: Store, world: World, tenant_id: int, admin_headers: dict[str, str]
) -> None:
    identifier = str(uuid.uuid4())
    added = ok(
        client.post(
            f"{ADMIN}/devices",
            json={
                "identifier": identifier.upper(),
                "name": "Back door",
                "location": "Yard",
                "timezone": "Asia/Dubai",
                "direction": "in",
            },
            headers=admin_headers,
        ),
        201,
    )
    assert added["identifier"] == identifier  # GUIDs are stored in one (lower) case
    assert (added["name"], added["location"], added["timezone"], added["direction"]) == (
        "Back door",
        "Yard",
        "Asia/Dubai",
        "in",
    )
    assert added["active"] is True
    listed = ok(client.get(f"{ADMIN}/devices", headers=admin_headers))
    assert identifier in {d["identifier"] for d in listed}
    dubai = ZoneInfo("Asia/Dubai")
    instant = (datetime.now(UTC) - timedelta(minutes=40)).replace(microsecond=0)
    wall = instant.astimezone(dubai).replace(tzinfo=None)
    data = push(client, world.ingest_key, [log("E1", device=identifier, at=wall)])
    assert (data["logsAccepted"], data["logsRejected"]) == (1, 0)
    with store.read() as conn:
        (row,) = punch_rows.list_punches(conn, tenant_id=tenant_id)
    assert row["punched_at"] == instant  # read in the device's zone, not the tenant's
    assert row["device_identifier"] == identifier


def test_add_a_device_without_an_identifier_generates_a_guid(
    client: TestClient, world: World, admin_headers: dict[str, str]
) -> None:
    added = ok(client.post(f"{ADMIN}/devices", json={"name": "New"}, headers=admin_headers), 201)
    generated = added["identifier"]
    assert str(uuid.UUID(generated)) == generated
    assert added["direction"] == "both"
    second = ok(client.post(f"{ADMIN}/devices", json={}, headers=admin_headers), 201)
    assert second["identifier"] != generated
    data = push(client, world.ingest_key, [log("E1", device=generated)])
    assert (data["logsAccepted"], data["logsRejected"]) == (1, 0)


def test_add_a_device_twice_is_a_conflict(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    refused(
        client.post(f"{ADMIN}/devices", json={"identifier": DEVICE}, headers=admin_headers), 409
    )
    upper = {"identifier": DEVICE.upper()}
    refused(client.post(f"{ADMIN}/devices", json=upper, headers=admin_headers), 409)


def test_disable_a_device_then_its_logs_are_device_disabled(
    client: TestClient, world: World, admin_headers: dict[str, str], stored: Callable[[], Stored]
) -> None:
    disabled = ok(client.post(f"{ADMIN}/devices/{DEVICE}/disable", headers=admin_headers))
    assert disabled["identifier"] == DEVICE
    assert disabled["active"] is False
    data = push(client, world.ingest_key, [log("E1"), log("E2", minutes_ago=5)])
    assert [(r["index"], r["reason"]) for r in data["rejected"]] == [
        (0, "device_disabled"),
        (1, "device_disabled"),
    ]
    assert data["logsAccepted"] == 0
    assert stored().punches == 0
    listed = {d["identifier"]: d for d in ok(client.get(f"{ADMIN}/devices", headers=admin_headers))}
    assert listed[DEVICE]["active"] is False


def test_disable_names_a_guid_in_any_case(
    client: TestClient, world: World, admin_headers: dict[str, str]
) -> None:
    disabled = ok(client.post(f"{ADMIN}/devices/{DEVICE.upper()}/disable", headers=admin_headers))
    assert (disabled["identifier"], disabled["active"]) == (DEVICE, False)
    data = push(client, world.ingest_key, [log("E1")])
    assert [r["reason"] for r in data["rejected"]] == ["device_disabled"]


def test_admin_responses_carry_a_request_id(
    client: TestClient, world: World, admin_headers: dict[str, str]
) -> None:
    good = client.get(f"{ADMIN}/keys", headers={**admin_headers, "X-Request-Id": "adm-1"})
    assert good.headers["x-request-id"] == "adm-1"
    bad = client.get(f"{ADMIN}/keys", headers={"X-API-Key": world.read_key})
    assert bad.headers.get("x-request-id")


def test_disable_an_unknown_device_is_404(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    refused(client.post(f"{ADMIN}/devices/{uuid.uuid4()}/disable", headers=admin_headers), 404)


# --- employees -----------------------------------------------------------------------------


def test_list_employees(client: TestClient, admin_headers: dict[str, str]) -> None:
    listed = ok(client.get(f"{ADMIN}/employees", headers=admin_headers))
    by_number = {e["number"]: e for e in listed}
    assert set(by_number) == {*EMPLOYEES, LEFT}
    assert by_number["E1"] == {
        "number": "E1",
        "name": "Employee E1",
        "joinedOn": None,
        "leftOn": None,
        "active": True,
    }
    assert by_number[LEFT]["active"] is False


def test_upsert_employees_attaches_held_punches(
    client: TestClient, store: Store, world: World, admin_headers: dict[str, str]
) -> None:
    held = push(
        client,
        world.ingest_key,
        [log("N7", minutes_ago=30), log("N7", minutes_ago=20, status=1), log("N8")],
    )
    assert held["logsUnmatched"] == 3
    unmatched = {u["employeeNumber"]: u["count"] for u in punches.list_unmatched(store, "acme")}
    assert unmatched == {"N7": 2, "N8": 1}

    body = [
        {"number": "N7", "name": "Late Joiner", "joinedOn": "2026-01-05"},
        {"number": "E1", "name": "Renamed"},
    ]
    result = ok(client.put(f"{ADMIN}/employees", json=body, headers=admin_headers))
    assert result == {"written": 2, "attachedPunches": 2}
    unmatched = {u["employeeNumber"]: u["count"] for u in punches.list_unmatched(store, "acme")}
    assert unmatched == {"N8": 1}

    listed = {e["number"]: e for e in ok(client.get(f"{ADMIN}/employees", headers=admin_headers))}
    assert listed["N7"]["name"] == "Late Joiner"
    assert listed["N7"]["joinedOn"] == "2026-01-05"
    assert listed["E1"]["name"] == "Renamed"

    later = push(client, world.ingest_key, [log("N7", minutes_ago=5)])
    assert (later["logsAccepted"], later["logsUnmatched"]) == (1, 0)


def test_deactivate_an_employee_then_their_logs_are_employee_inactive(
    client: TestClient, world: World, admin_headers: dict[str, str], stored: Callable[[], Stored]
) -> None:
    left = ok(client.post(f"{ADMIN}/employees/E2/deactivate", headers=admin_headers))
    assert left["number"] == "E2"
    assert left["active"] is False
    data = push(client, world.ingest_key, [log("E2"), log("E1")])
    assert [(r["index"], r["reason"]) for r in data["rejected"]] == [(0, "employee_inactive")]
    assert stored().punches == 1


def test_deactivate_an_unknown_employee_is_404(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    refused(client.post(f"{ADMIN}/employees/NOPE/deactivate", headers=admin_headers), 404)


# --- keys ----------------------------------------------------------------------------------

KEY_FIELDS = {"id", "scope", "label", "createdAt", "expiresAt", "revokedAt", "lastUsedAt", "active"}


def test_list_keys_never_shows_a_key_or_its_hash(
    client: TestClient, world: World, admin_headers: dict[str, str]
) -> None:
    response = client.get(f"{ADMIN}/keys", headers=admin_headers)
    listed = ok(response)
    assert sorted(k["scope"] for k in listed) == ["admin", "ingest", "read"]
    assert all(set(k) == KEY_FIELDS for k in listed)
    assert world.ingest_key_id in {k["id"] for k in listed}
    for raw in (world.ingest_key, world.read_key, world.admin_key):
        assert raw not in response.text
        assert hashlib.sha256(raw.encode()).hexdigest() not in response.text
        secret_part = raw.split("_", 2)[2]
        assert secret_part not in response.text


def test_issue_a_key_returns_it_once(
    client: TestClient, admin_headers: dict[str, str], stored: Callable[[], Stored]
) -> None:
    issued = ok(
        client.post(
            f"{ADMIN}/keys", json={"scope": "ingest", "label": "gate 2"}, headers=admin_headers
        ),
        201,
    )
    assert issued["key"].startswith("plk_")
    assert (issued["scope"], issued["label"], issued["tenant"]) == ("ingest", "gate 2", "acme")
    assert issued["expiresAt"] is None
    response = client.get(f"{ADMIN}/keys", headers=admin_headers)
    assert issued["key"] not in response.text
    mine = [k for k in ok(response) if k["id"] == issued["id"]]
    assert len(mine) == 1
    assert mine[0]["active"] is True
    assert mine[0]["label"] == "gate 2"
    push(client, issued["key"], [log("E1")])
    assert stored().punches == 1


def test_issue_a_key_defaults_to_ingest(client: TestClient, admin_headers: dict[str, str]) -> None:
    issued = ok(client.post(f"{ADMIN}/keys", json={}, headers=admin_headers), 201)
    assert issued["scope"] == "ingest"


def test_an_issued_admin_key_manages_the_tenant(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    issued = ok(client.post(f"{ADMIN}/keys", json={"scope": "admin"}, headers=admin_headers), 201)
    listed = ok(client.get(f"{ADMIN}/devices", headers={"X-API-Key": issued["key"]}))
    assert {d["identifier"] for d in listed} == {DEVICE, DEVICE_BERLIN, DEVICE_OFF}


def test_revoke_a_key(client: TestClient, world: World, admin_headers: dict[str, str]) -> None:
    revoked = ok(client.post(f"{ADMIN}/keys/{world.ingest_key_id}/revoke", headers=admin_headers))
    assert revoked["id"] == world.ingest_key_id
    assert revoked["active"] is False
    assert revoked["revokedAt"] is not None
    listed = {k["id"]: k for k in ok(client.get(f"{ADMIN}/keys", headers=admin_headers))}
    assert listed[world.ingest_key_id]["active"] is False
    response = client.post("/v1/logs", json=[log()], headers={"X-API-Key": world.ingest_key})
    assert refused(response, 401) == ["Invalid API key"]


def test_revoke_an_unknown_key_is_404(client: TestClient, admin_headers: dict[str, str]) -> None:
    refused(client.post(f"{ADMIN}/keys/zzzzzzzzzz/revoke", headers=admin_headers), 404)


def test_an_admin_key_can_revoke_itself_and_then_is_refused(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    listed = ok(client.get(f"{ADMIN}/keys", headers=admin_headers))
    (admin_id,) = [k["id"] for k in listed if k["scope"] == "admin"]
    ok(client.post(f"{ADMIN}/keys/{admin_id}/revoke", headers=admin_headers))
    assert refused(client.get(f"{ADMIN}/keys", headers=admin_headers), 401) == ["Invalid API key"]


# --- scope: ingest and read keys get 403 on everything -------------------------------------

ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET", "/devices", None),
    ("POST", "/devices", {"identifier": "11111111-2222-4333-8444-555555555555"}),
    ("POST", f"/devices/{DEVICE}/disable", None),
    ("GET", "/employees", None),
    ("PUT", "/employees", [{"number": "X1"}]),
    ("POST", "/employees/E1/deactivate", None),
    ("GET", "/keys", None),
    ("POST", "/keys", {"scope": "admin"}),
    ("POST", "/keys/@ingest/revoke", None),
]


@pytest.mark.parametrize("scope", ["ingest", "read"])
@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_ingest_and_read_keys_are_403_on_admin_endpoints(
    client: TestClient,
    store: Store,
    world: World,
    scope: str,
    method: str,
    path: str,
    body: Any,
) -> None:
    key = world.ingest_key if scope == "ingest" else world.read_key
    url = ADMIN + path.replace("@ingest", world.ingest_key_id)
    response = client.request(method, url, json=body, headers={"X-API-Key": key})
    refused(response, 403)
    # and nothing changed
    assert len(devices.list_devices(store, "acme")) == 3
    assert all(
        d["active"] for d in devices.list_devices(store, "acme") if d["identifier"] == DEVICE
    )
    assert {e["number"] for e in employees.list_employees(store, "acme")} == {*EMPLOYEES, LEFT}
    still = client.post("/v1/logs", json=[log("E1")], headers={"X-API-Key": world.ingest_key})
    assert still.status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_admin_endpoints_without_a_key_are_401(
    client: TestClient, world: World, method: str, path: str, body: Any
) -> None:
    url = ADMIN + path.replace("@ingest", world.ingest_key_id)
    response = client.request(method, url, json=body)
    assert refused(response, 401) == ["Missing X-API-Key header"]


# --- validation: 400 in the envelope, never 5xx --------------------------------------------

INVALID: dict[str, tuple[str, str, Any]] = {
    "device-unknown-field": ("POST", "/devices", {"identifier": "dev-9", "colour": "red"}),
    "device-bad-direction": ("POST", "/devices", {"name": "x", "direction": "sideways"}),
    "device-bad-timezone": ("POST", "/devices", {"name": "x", "timezone": "Mars/Olympus"}),
    "device-name-too-long": ("POST", "/devices", {"name": "n" * 201}),
    "device-not-an-object": ("POST", "/devices", ["dev-9"]),
    "device-identifier-too-long": ("POST", "/devices", {"identifier": "d" * 129}),
    "device-control-chars": ("POST", "/devices", {"identifier": "bad\x01id"}),
    "employees-empty-list": ("PUT", "/employees", []),
    "employees-not-a-list": ("PUT", "/employees", {"number": "X1"}),
    "employees-bad-date": ("PUT", "/employees", [{"number": "X1", "joinedOn": "2026-13-45"}]),
    "employees-unknown-field": ("PUT", "/employees", [{"number": "X1", "grade": 7}]),
    "employees-no-number": ("PUT", "/employees", [{"name": "Nobody"}]),
    "employees-empty-number": ("PUT", "/employees", [{"number": ""}]),
    "employees-blank-number": ("PUT", "/employees", [{"number": "   "}]),
    "employees-number-too-long": ("PUT", "/employees", [{"number": "N" * 65}]),
    "employees-twice": ("PUT", "/employees", [{"number": "X1"}, {"number": "X1"}]),
    "employees-bad-active": ("PUT", "/employees", [{"number": "X1", "active": "maybe"}]),
    "keys-bad-scope": ("POST", "/keys", {"scope": "root"}),
    "keys-unknown-field": ("POST", "/keys", {"scope": "ingest", "owner": "me"}),
    "keys-bad-expiry": ("POST", "/keys", {"expiresAt": "next tuesday"}),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_admin_input_is_400(
    client: TestClient, store: Store, admin_headers: dict[str, str], case: str
) -> None:
    method, path, body = INVALID[case]
    response = client.request(method, ADMIN + path, json=body, headers=admin_headers)
    refused(response, 400)
    assert len(devices.list_devices(store, "acme")) == 3
    assert {e["number"] for e in employees.list_employees(store, "acme")} == {*EMPLOYEES, LEFT}


@pytest.mark.parametrize("body", [b"{", b"", b"\xff\xfe"])
@pytest.mark.parametrize("path", ["/devices", "/keys"])
def test_unparseable_admin_bodies_are_400(
    client: TestClient, admin_headers: dict[str, str], body: bytes, path: str
) -> None:
    headers = {**admin_headers, "Content-Type": "application/json"}
    refused(client.post(ADMIN + path, content=body, headers=headers), 400)


def test_an_admin_validation_error_as_problem_json(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    headers = {**admin_headers, "Accept": "application/problem+json"}
    response = client.put(f"{ADMIN}/employees", json=[], headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 400
    assert body["title"]
    assert body["type"]
    assert body["detail"]


# --- tenant isolation ----------------------------------------------------------------------


@pytest.fixture
def other(store: Store, world: World) -> World:
    """A second tenant. It has devices with the same GUIDs as acme's (world.py builds both)."""
    return build_tenant(store, slug="other")


def test_another_tenant_cannot_see_acme(
    client: TestClient, store: Store, world: World, other: World
) -> None:
    acme_device = str(uuid.uuid4())
    devices.add_device(store, "acme", identifier=acme_device, name="acme only")
    employees.upsert_employees(store, "acme", [EmployeeIn("ACME-ONLY")])
    headers = {"X-API-Key": other.admin_key}

    seen_devices = {d["identifier"] for d in ok(client.get(f"{ADMIN}/devices", headers=headers))}
    assert acme_device not in seen_devices
    assert seen_devices == {DEVICE, DEVICE_BERLIN, DEVICE_OFF}
    numbers = {e["number"] for e in ok(client.get(f"{ADMIN}/employees", headers=headers))}
    assert "ACME-ONLY" not in numbers
    key_ids = {k["id"] for k in ok(client.get(f"{ADMIN}/keys", headers=headers))}
    assert world.ingest_key_id not in key_ids
    assert other.ingest_key_id in key_ids
    assert len(key_ids) == 3


def test_another_tenant_cannot_change_acme(
    client: TestClient, store: Store, world: World, other: World
) -> None:
    acme_device = str(uuid.uuid4())
    devices.add_device(store, "acme", identifier=acme_device)
    employees.upsert_employees(store, "acme", [EmployeeIn("ACME-ONLY")])
    headers = {"X-API-Key": other.admin_key}

    refused(client.post(f"{ADMIN}/keys/{world.ingest_key_id}/revoke", headers=headers), 404)
    refused(client.post(f"{ADMIN}/devices/{acme_device}/disable", headers=headers), 404)
    refused(client.post(f"{ADMIN}/employees/ACME-ONLY/deactivate", headers=headers), 404)

    # acme is untouched: its key still works, its device and employee still active
    data = push(client, world.ingest_key, [log("ACME-ONLY", device=acme_device)])
    assert (data["logsAccepted"], data["logsUnmatched"], data["logsRejected"]) == (1, 0, 0)

    # shared GUIDs: disabling other's DEVICE leaves acme's DEVICE active
    ok(client.post(f"{ADMIN}/devices/{DEVICE}/disable", headers=headers))
    data = push(client, world.ingest_key, [log("E1")])
    assert (data["logsAccepted"], data["logsRejected"]) == (1, 0)
    data = push(client, other.ingest_key, [log("E1")])
    assert [r["reason"] for r in data["rejected"]] == ["device_disabled"]


def test_a_log_naming_another_tenants_device_is_unknown_device(
    client: TestClient, store: Store, world: World, other: World, stored: Callable[[], Stored]
) -> None:
    others_device = str(uuid.uuid4())
    ok(
        client.post(
            f"{ADMIN}/devices",
            json={"identifier": others_device},
            headers={"X-API-Key": other.admin_key},
        ),
        201,
    )
    data = push(client, world.ingest_key, [log("E1", device=others_device)])
    assert [(r["index"], r["reason"]) for r in data["rejected"]] == [(0, "unknown_device")]
    assert stored().punches == 0
    data = push(client, other.ingest_key, [log("E1", device=others_device)])
    assert (data["logsAccepted"], data["logsRejected"]) == (1, 0)


def test_upserting_in_one_tenant_does_not_attach_anothers_held_punches(
    client: TestClient, store: Store, world: World, other: World
) -> None:
    push(client, world.ingest_key, [log("SHARED")])
    push(client, other.ingest_key, [log("SHARED")])
    result = ok(
        client.put(
            f"{ADMIN}/employees",
            json=[{"number": "SHARED"}],
            headers={"X-API-Key": other.admin_key},
        )
    )
    assert result["attachedPunches"] == 1
    assert [u["employeeNumber"] for u in punches.list_unmatched(store, "acme")] == ["SHARED"]
    assert punches.list_unmatched(store, "other") == []


# --- documentation and health --------------------------------------------------------------


def test_openapi_lists_the_ingestion_and_admin_paths(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "post" in paths["/v1/logs"]
    expected = {
        "/v1/admin/devices": {"get", "post"},
        "/v1/admin/devices/{identifier}/disable": {"post"},
        "/v1/admin/employees": {"get", "put"},
        "/v1/admin/employees/{number}/deactivate": {"post"},
        "/v1/admin/keys": {"get", "post"},
        "/v1/admin/keys/{key_id}/revoke": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["succeeded"] is True
    assert response.headers.get("x-request-id")


def test_readyz(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "succeeded": True}
    assert response.headers.get("x-request-id")
