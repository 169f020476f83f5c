"""Tenant isolation over HTTP (issue 5, item 7), on SQLite and PostgreSQL.

A key of tenant A must never read, write, revoke or even *detect* anything of tenant B:
devices, employees, keys, punches (matched, held, manual), rejected logs, attendance, shifts,
holidays or corrections. Two tenants are built with one of everything; then every route is
called with each of A's keys (ingest, read, admin) and B's identifiers, and

* the answer is the answer for an identifier nobody has (same status, same body apart from
  the identifier itself): no existence oracle;
* nothing of B appears in any answer;
* every row of B in the database is the same afterwards.

``test_every_served_route_has_an_isolation_probe`` fails when a route is added without a
probe here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from punchlog.domain import keys as key_format
from punchlog.services import (
    corrections,
    devices,
    employees,
    keys,
    punches,
    rejections,
    shifts,
    tenants,
)
from punchlog.services.employees import EmployeeIn
from punchlog.services.shifts import ShiftIn
from punchlog.services.store import Store
from punchlog.storage.tables import api_keys
from punchlog.storage.tables import punches as punch_table
from tests.api.conftest import MakeClient
from tests.conftest import METRICS_TOKEN
from tests.support.snapshots import snapshot, tenant_unchanged

# ------------------------------------------------------------------------------------------
# The two tenants, and identifiers nobody has (shaped like B's, so answers can be compared)
# ------------------------------------------------------------------------------------------

A, B = "acme", "beta"
A_ZONE, B_ZONE = ZoneInfo("Asia/Kolkata"), ZoneInfo("Europe/Berlin")

A_DEV = "a1a1a1a1-1111-4222-8333-444455556666"
A_DEV_TEXT = "acme-gate-1"
A_EMP = ("ACME-EMP-1", "ACME-EMP-2")
A_HELD = "ACME-HELD-1"

B_DEV = "b0b0b0b0-1111-4222-8333-444455556666"
B_DEV_OFF = "b0b0b0b0-1111-4222-8333-0000000000ff"
B_DEV_TEXT = "beta-gate-7"
B_EMP = ("BETA-EMP-1", "BETA-EMP-2")
B_LEFT = "BETA-EMP-9"
B_HELD = "BETA-HELD-1"
B_SHIFT = "BETASHIFT"

NOBODY_DEV = "c0c0c0c0-1111-4222-8333-444455556666"
NOBODY_DEV_OFF = "c0c0c0c0-1111-4222-8333-0000000000ff"
NOBODY_DEV_TEXT = "zeta-gate-7"

# (B's, nobody's) pairs
DEVICE_PAIRS = [
    (B_DEV, NOBODY_DEV),
    (B_DEV_OFF, NOBODY_DEV_OFF),  # B's disabled device must not answer "disabled"
    (B_DEV_TEXT, NOBODY_DEV_TEXT),  # a non-GUID identifier
]
DEVICE_SPELLINGS = [
    (B_DEV.upper(), NOBODY_DEV.upper()),  # GUIDs compare case-insensitively
    ("{" + B_DEV + "}", "{" + NOBODY_DEV + "}"),  # braces allowed
]
NUMBER_PAIRS = [
    ("BETA-EMP-1", "ZETA-EMP-1"),
    (B_LEFT, "ZETA-EMP-9"),  # B's deactivated employee must not answer "inactive"
    (B_HELD, "ZETA-HELD-1"),  # B's held (unregistered) number
]

# Text that only B has: none of it may appear in any answer to A.
B_SECRET = "beta-secret"
SCOPES = ("ingest", "read", "admin")


@dataclass
class Side:
    slug: str
    tenant_id: int
    keys: dict[str, str]  # scope -> raw key
    key_ids: dict[str, str]  # scope (and "revoked", "spare") -> public id
    punch_ids: list[int] = field(default_factory=list)


@dataclass
class Pair:
    """Tenants A and B, each with devices, employees, keys of every scope, punches ingested
    through POST /v1/logs (matched and held), rejected logs, a shift, an assignment, a
    holiday, corrections (a manual punch and an exclusion) and attendance computed."""

    client: TestClient
    store: Store
    a: Side
    b: Side
    b_early_punches: list[int]  # B's punches stored before any of A's
    b_late_punch: int  # B's manual punch, stored after all of A's
    a_day: date
    b_holiday: date
    first: date
    last: date

    def headers(self, scope: str | None, **extra: str) -> dict[str, str]:
        found = {"X-API-Key": self.a.keys[scope]} if scope else {}
        return {**found, **extra}

    def markers(self) -> list[str]:
        """What only B has, as text (lower case)."""
        found = [B_SECRET, B_DEV, B_DEV_OFF, B_DEV_TEXT, *B_EMP, B_LEFT, B_HELD, B_SHIFT, B]
        found += list(self.b.key_ids.values())
        return [m.lower() for m in found]


def _wall(day: date, hh: int, mm: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hh, mm).isoformat()


def _log(device: str, number: str, at: str, status: int = 0) -> dict[str, Any]:
    return {
        "DeviceIdentifier": device,
        "EmployeeAttendanceNumber": number,
        "Timestamp": at,
        "Status": status,
    }


def _push(client: TestClient, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    answer = client.post("/v1/logs", json=items, headers={"X-API-Key": key})
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def _stored_ids(store: Store, tenant_id: int) -> list[int]:
    """The tenant's punch ids as the database has them (not as any API shows them)."""
    with store.read() as conn:
        query = select(punch_table.c.id).where(punch_table.c.tenant_id == tenant_id)
        return sorted(int(i) for i in conn.execute(query).scalars())


def _feed_ids(client: TestClient, read_key: str) -> list[int]:
    answer = client.get("/v1/punches", headers={"X-API-Key": read_key})
    assert answer.status_code == 200, answer.text
    return [p["id"] for p in answer.json()["data"]]


def _side(store: Store, slug: str, zone: str, label: str) -> Side:
    tenants.create_tenant(store, slug, name=f"{label} Ltd", timezone=zone)
    issued = {
        scope: keys.issue_key(store, slug, scope=scope, label=f"{label} {scope} key")
        for scope in SCOPES
    }
    revoked = keys.issue_key(store, slug, scope="admin", label=f"{label} revoked key")
    keys.revoke_key(store, revoked.id)
    spare = keys.issue_key(store, slug, scope="read", label=f"{label} spare key")
    return Side(
        slug=slug,
        tenant_id=tenants.get_tenant(store, slug).id,
        keys={scope: k.key for scope, k in issued.items()},
        key_ids={
            **{scope: k.id for scope, k in issued.items()},
            "revoked": revoked.id,
            "spare": spare.id,
        },
    )


def build_pair(client: TestClient, store: Store) -> Pair:
    today_a = datetime.now(UTC).astimezone(A_ZONE).date()
    today_b = datetime.now(UTC).astimezone(B_ZONE).date()
    a_day, b_day = today_a - timedelta(days=2), today_b - timedelta(days=2)

    # --- B first: its early punches get the lowest ids ---
    b = _side(store, B, "Europe/Berlin", B_SECRET)
    devices.add_device(
        store, B, identifier=B_DEV, name=f"{B_SECRET} gate", location=f"{B_SECRET} lobby"
    )
    devices.add_device(store, B, identifier=B_DEV_OFF, name=f"{B_SECRET} old gate")
    devices.set_device_active(store, B, B_DEV_OFF, active=False)
    devices.add_device(store, B, identifier=B_DEV_TEXT, direction="in")
    employees.upsert_employees(
        store,
        B,
        [EmployeeIn(n, f"{B_SECRET} person {n}") for n in B_EMP]
        + [EmployeeIn(B_LEFT, f"{B_SECRET} leaver", active=False)],
    )
    shifts.create_shift(store, B, ShiftIn(B_SHIFT, "07:00", "16:00", name=f"{B_SECRET} shift"))
    for number in B_EMP:
        shifts.assign_shift(
            store, B, number, B_SHIFT, from_date=today_b - timedelta(days=10), to_date=None
        )
    b_holiday = today_b - timedelta(days=3)
    shifts.add_holiday(store, B, b_holiday, name=f"{B_SECRET} holiday")
    data = _push(
        client,
        b.keys["ingest"],
        [
            _log(B_DEV, B_EMP[0], _wall(b_day, 7, 5)),
            _log(B_DEV, B_EMP[0], _wall(b_day, 16, 1), 1),
            _log(B_DEV_TEXT, B_EMP[1], _wall(b_day, 7, 30)),
            _log(B_DEV, B_HELD, _wall(b_day, 8)),  # held
            _log(B_DEV_OFF, B_EMP[0], _wall(b_day, 9)),  # device_disabled
            _log(B_DEV, B_LEFT, _wall(b_day, 9)),  # employee_inactive
            _log(B_DEV, B_EMP[0], _wall(b_day - timedelta(days=40), 9)),  # too_old
            _log(NOBODY_DEV, B_EMP[0], _wall(b_day, 9)),  # unknown_device, kept by B
        ],
    )
    assert (data["logsAccepted"], data["logsUnmatched"], data["logsRejected"]) == (4, 1, 4)
    b_early = _stored_ids(store, b.tenant_id)
    assert _feed_ids(client, b.keys["read"]) == b_early
    assert len(b_early) == 4
    b.punch_ids = list(b_early)
    corrections.exclude_punch(
        store, B, b_early[1], reason=f"{B_SECRET} exclusion", actor=f"{B_SECRET} actor"
    )

    # --- A ---
    a = _side(store, A, "Asia/Kolkata", "acme")
    devices.add_device(store, A, identifier=A_DEV, name="acme gate")
    devices.add_device(store, A, identifier=A_DEV_TEXT)
    employees.upsert_employees(store, A, [EmployeeIn(n, f"acme person {n}") for n in A_EMP])
    shifts.create_shift(store, A, ShiftIn("GEN", "09:00", "18:00", name="acme shift"))
    shifts.assign_shift(
        store, A, A_EMP[0], "GEN", from_date=today_a - timedelta(days=10), to_date=None
    )
    shifts.add_holiday(store, A, today_a - timedelta(days=6), name="acme holiday")
    data = _push(
        client,
        a.keys["ingest"],
        [
            _log(A_DEV, A_EMP[0], _wall(a_day, 9, 5)),
            _log(A_DEV, A_EMP[0], _wall(a_day, 18, 2), 1),
            _log(A_DEV_TEXT, A_EMP[1], _wall(a_day, 10)),
            _log(A_DEV, A_HELD, _wall(a_day, 11)),  # held
            _log("acme-unknown-gate", A_EMP[0], _wall(a_day, 12)),  # unknown_device
        ],
    )
    assert (data["logsAccepted"], data["logsUnmatched"], data["logsRejected"]) == (4, 1, 1)
    manual = corrections.add_punch(
        store, A, A_EMP[1], local_time=_wall(a_day, 17), direction="out", reason="acme", actor="x"
    )
    a.punch_ids = _stored_ids(store, a.tenant_id)
    assert _feed_ids(client, a.keys["read"]) == a.punch_ids
    assert len(a.punch_ids) == 5
    assert manual["punchId"] in a.punch_ids
    assert min(a.punch_ids) > max(b_early)

    # --- B's manual punch: the highest id of all ---
    late = corrections.add_punch(
        store,
        B,
        B_EMP[1],
        local_time=_wall(b_day, 16, 10),
        direction="out",
        reason=f"{B_SECRET} reason",
        actor=f"{B_SECRET} actor",
    )
    b.punch_ids.append(late["punchId"])
    assert late["punchId"] > max(a.punch_ids)

    # attendance computed for both (a read catches the tenant up)
    first, last = min(today_a, today_b) - timedelta(days=10), max(today_a, today_b)
    for side, number in ((a, A_EMP[0]), (b, B_EMP[0])):
        answer = client.get(
            f"/v1/attendance?from={first}&to={last}&pageSize=500",
            headers={"X-API-Key": side.keys["read"]},
        )
        assert answer.status_code == 200, answer.text
        assert number in {r["employeeNumber"] for r in answer.json()["data"]}
    return Pair(client, store, a, b, b_early, late["punchId"], a_day, b_holiday, first, last)


@pytest.fixture
def pair(make_client: MakeClient, store: Store) -> Pair:
    # No background recompute: B's rows change only if something of A's changes them.
    client = make_client(recompute_interval_seconds=0)
    return build_pair(client, store)


# ------------------------------------------------------------------------------------------
# B's rows, compared before and after
# ------------------------------------------------------------------------------------------


@pytest.fixture
def b_unchanged(pair: Pair) -> Iterator[None]:
    """B's rows after the test are B's rows before it (and B has some of everything)."""
    with tenant_unchanged(pair.store, pair.b.tenant_id):
        yield


# ------------------------------------------------------------------------------------------
# Comparing answers
# ------------------------------------------------------------------------------------------

VOLATILE = frozenset({"createdAt", "instance"})  # a timestamp, the request id
PROBLEM = {"Accept": "application/problem+json"}


def _scrub(value: Any, ident: str) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, ident) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_scrub(v, ident) for v in value]
    if isinstance(value, str):
        if value == ident:
            return "<ID>"
        if not ident.isdigit():
            return value.replace(ident, "<ID>")
    return value


def answer_of(response: httpx.Response, ident: str) -> tuple[Any, ...]:
    """What a caller learns from an answer, with ``ident`` (and volatile values) blanked."""
    headers = sorted(h for h in response.headers if h not in {"content-length", "x-request-id"})
    return (
        response.status_code,
        response.headers.get("content-type"),
        headers,
        _scrub(response.json(), ident),
    )


def no_marker(pair: Pair, response: httpx.Response, where: str, sent: str = "") -> None:
    """Nothing only B has is in the answer (except ``sent``, what A itself sent)."""
    text = response.text.lower()
    if sent:
        text = text.replace(sent.lower(), "<sent>")
    leaked = [m for m in pair.markers() if m in text]
    assert not leaked, f"{where}: B's {leaked} in {response.text[:2000]}"


# ------------------------------------------------------------------------------------------
# Probes: every route, with B's identifiers where it takes one
# ------------------------------------------------------------------------------------------

Send = Callable[[Pair, str, dict[str, str]], httpx.Response]


@dataclass(frozen=True)
class Probe:
    """A route called with an identifier: B's, nobody's, and (control) one of A's own."""

    name: str
    method: str
    route: str  # as the OpenAPI document spells it
    grant: str  # what the key needs
    allowed: int  # the status A's allowed key gets for B's (and nobody's) identifier
    send: Send
    pairs: Callable[[Pair], list[tuple[str, str]]]
    own: Callable[[Pair], str]  # an identifier of A's: its answer must differ from nobody's


def _path(template: str) -> Send:
    def send(pair: Pair, ident: str, headers: dict[str, str]) -> httpx.Response:
        return pair.client.post(template.format(quote(ident, safe="")), headers=headers)

    return send


def _attendance(pair: Pair, ident: str, headers: dict[str, str]) -> httpx.Response:
    query = f"from={pair.first}&to={pair.last}&pageSize=500&employee={quote(ident)}"
    return pair.client.get(f"/v1/attendance?{query}", headers=headers)


def _punches(pair: Pair, ident: str, headers: dict[str, str]) -> httpx.Response:
    return pair.client.get(f"/v1/punches?since={ident}", headers=headers)


def _logs_device(pair: Pair, ident: str, headers: dict[str, str]) -> httpx.Response:
    item = _log(ident, A_EMP[0], _wall(pair.a_day, 13))
    return pair.client.post("/v1/logs", json=[item], headers=headers)


def _logs_number(pair: Pair, ident: str, headers: dict[str, str]) -> httpx.Response:
    item = _log(A_DEV, ident, _wall(pair.a_day, 13))
    return pair.client.post("/v1/logs", json=[item], headers=headers)


def _add_device(pair: Pair, ident: str, headers: dict[str, str]) -> httpx.Response:
    body = {"identifier": ident, "name": "probe"}
    return pair.client.post("/v1/admin/devices", json=body, headers=headers)


def _put_employee(pair: Pair, ident: str, headers: dict[str, str]) -> httpx.Response:
    return pair.client.put("/v1/admin/employees", json=[{"number": ident}], headers=headers)


def _nobody_key_id(pair: Pair) -> str:
    with pair.store.read() as conn:
        taken = set(conn.execute(select(api_keys.c.public_id)).scalars())
    while True:
        candidate = "".join(
            secrets.choice(key_format.PUBLIC_ALPHABET) for _ in range(key_format.PUBLIC_ID_LENGTH)
        )
        if candidate not in taken:
            return candidate


def _key_pairs(pair: Pair) -> list[tuple[str, str]]:
    return [
        (pair.b.key_ids[name], _nobody_key_id(pair))
        for name in ("ingest", "read", "admin", "revoked", "spare")
    ]


def _cursor_pairs(pair: Pair) -> list[tuple[str, str]]:
    beyond = str(pair.b_late_punch + 1000)
    # Every early B punch precedes all of A's: from it, A sees what it sees from the start.
    early = [(str(i), "0") for i in pair.b_early_punches]
    return [*early, (str(pair.b_late_punch), beyond)]


PROBES = [
    Probe(
        "disable-device",
        "POST",
        "/v1/admin/devices/{identifier}/disable",
        "admin",
        404,
        _path("/v1/admin/devices/{}/disable"),
        lambda p: DEVICE_PAIRS + DEVICE_SPELLINGS,
        lambda p: A_DEV_TEXT,
    ),
    Probe(
        "deactivate-employee",
        "POST",
        "/v1/admin/employees/{number}/deactivate",
        "admin",
        404,
        _path("/v1/admin/employees/{}/deactivate"),
        lambda p: NUMBER_PAIRS,
        lambda p: A_EMP[1],
    ),
    Probe(
        "revoke-key",
        "POST",
        "/v1/admin/keys/{key_id}/revoke",
        "admin",
        404,
        _path("/v1/admin/keys/{}/revoke"),
        _key_pairs,
        lambda p: p.a.key_ids["spare"],
    ),
    Probe(
        "add-device",
        "POST",
        "/v1/admin/devices",
        "admin",
        201,  # identifiers are per tenant: B having one is no conflict for A
        _add_device,
        lambda p: DEVICE_PAIRS,
        lambda p: A_DEV,
    ),
    Probe(
        "upsert-employee",
        "PUT",
        "/v1/admin/employees",
        "admin",
        200,  # numbers are per tenant; B's held punches are not A's to attach
        _put_employee,
        lambda p: NUMBER_PAIRS,
        lambda p: A_HELD,
    ),
    Probe(
        "attendance-employee",
        "GET",
        "/v1/attendance",
        "read",
        200,
        _attendance,
        lambda p: NUMBER_PAIRS,
        lambda p: A_EMP[0],
    ),
    Probe(
        "punches-cursor",
        "GET",
        "/v1/punches",
        "read",
        200,
        _punches,
        _cursor_pairs,
        lambda p: str(p.a.punch_ids[0]),
    ),
    Probe(
        "logs-device",
        "POST",
        "/v1/logs",
        "ingest",
        200,
        _logs_device,
        lambda p: DEVICE_PAIRS + DEVICE_SPELLINGS,
        lambda p: A_DEV_TEXT,
    ),
    Probe(
        "logs-number",
        "POST",
        "/v1/logs",
        "ingest",
        200,
        _logs_number,
        lambda p: NUMBER_PAIRS,
        lambda p: A_EMP[1],
    ),
]


def _allowed(scope: str, grant: str) -> bool:
    return grant in key_format.GRANTS[scope]


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_b_identifiers_answer_exactly_like_nobodys(
    pair: Pair, b_unchanged: None, probe: Probe
) -> None:
    """With each of A's keys, B's identifier gets the answer a non-existent one gets (also as
    problem+json), and the status is the route's for an identifier A does not have."""
    mismatches = []
    for scope in SCOPES:
        for accept in ({}, PROBLEM):
            headers = pair.headers(scope, **accept)
            for theirs, nobodys in probe.pairs(pair):
                got_b = probe.send(pair, theirs, headers)
                got_nobody = probe.send(pair, nobodys, headers)
                no_marker(pair, got_b, f"{probe.name} {scope} {theirs}", theirs)
                if answer_of(got_b, theirs) != answer_of(got_nobody, nobodys):
                    mismatches.append((scope, accept, theirs, got_b.text, got_nobody.text))
                if not _allowed(scope, probe.grant):
                    assert got_b.status_code == 403, (scope, theirs, got_b.text)
                elif not accept:  # a repeat (problem+json round) may be a 409 or duplicate
                    assert got_b.status_code == probe.allowed, (scope, theirs, got_b.text)
    assert not mismatches, mismatches


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_the_probes_tell_a_own_identifiers_apart(pair: Pair, probe: Probe) -> None:
    """Control: the comparison above can fail. For A's own identifier the same route answers
    differently from a non-existent one."""
    scope = next(s for s in ("ingest", "read", "admin") if _allowed(s, probe.grant))
    _theirs, nobodys = probe.pairs(pair)[0]
    headers = pair.headers(scope)
    nobody = answer_of(probe.send(pair, nobodys, headers), nobodys)
    own = probe.own(pair)
    assert answer_of(probe.send(pair, own, headers), own) != nobody


# ------------------------------------------------------------------------------------------
# Lists and reads: A's, all of A's, and nothing of B's
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    name: str
    method: str
    route: str
    grant: str | None  # None: no key at all (operations and documentation)
    check: Callable[[Pair, Any], None] | None = None  # on the parsed 200 answer


def _devices(pair: Pair, body: Any) -> None:
    assert {d["identifier"] for d in body["data"]} == {A_DEV, A_DEV_TEXT}


def _employees(pair: Pair, body: Any) -> None:
    assert {e["number"] for e in body["data"]} == set(A_EMP)


def _keys(pair: Pair, body: Any) -> None:
    assert {k["id"] for k in body["data"]} == set(pair.a.key_ids.values())


def _issued(pair: Pair, body: Any) -> None:
    issued = body["data"]
    assert issued["tenant"] == A
    principal = keys.authenticate(pair.store, issued["key"], now=datetime.now(UTC))
    assert principal.tenant_id == pair.a.tenant_id
    assert issued["id"] not in {k["id"] for k in keys.list_keys(pair.store, B)}


def _days(pair: Pair, body: Any) -> None:
    records = body["data"]
    assert body["totalRecords"] == len(records) > 0
    assert {r["employeeNumber"] for r in records} <= set(A_EMP)
    shown = {p["id"] for r in records for p in r["punches"]}
    assert shown
    assert shown <= set(pair.a.punch_ids)
    assert {p["device"] for r in records for p in r["punches"]} <= {A_DEV, A_DEV_TEXT, None}
    assert {r["shift"] for r in records} <= {"GEN", None}
    on_b_holiday = [r for r in records if r["date"] == pair.b_holiday.isoformat()]
    assert on_b_holiday
    assert all(r["dayType"] != "holiday" for r in on_b_holiday)


def _feed(pair: Pair, body: Any) -> None:
    assert [p["id"] for p in body["data"]] == pair.a.punch_ids
    assert body["nextCursor"] == str(pair.a.punch_ids[-1])


def _status_only(pair: Pair, body: Any) -> None:
    assert set(body) == {"status", "succeeded"}


def _no_tenant_data(pair: Pair, body: Any) -> None:
    """Operational counters only: nothing of either tenant (no slug, key, device, number)."""
    text = body.lower()
    assert "punchlog_" in text
    for anyones in (A, *pair.a.key_ids.values(), A_DEV, A_DEV_TEXT, *A_EMP, A_HELD):
        assert anyones.lower() not in text, anyones
    assert "tenant" not in text


READS = [
    Read("list-devices", "GET", "/v1/admin/devices", "admin", _devices),
    Read("list-employees", "GET", "/v1/admin/employees", "admin", _employees),
    Read("list-keys", "GET", "/v1/admin/keys", "admin", _keys),
    Read("issue-key", "POST", "/v1/admin/keys", "admin", _issued),
    Read("attendance", "GET", "/v1/attendance", "read", _days),
    Read("punches", "GET", "/v1/punches", "read", _feed),
    Read("healthz", "GET", "/healthz", None, _status_only),
    Read("readyz", "GET", "/readyz", None, _status_only),
    Read("metrics", "GET", "/metrics", None, _no_tenant_data),
    Read("openapi", "GET", "/openapi.json", None),
    Read("docs", "GET", "/docs", None),
    Read("docs-redirect", "GET", "/docs/oauth2-redirect", None),
    Read("redoc", "GET", "/redoc", None),
]


def _read(pair: Pair, read: Read, headers: dict[str, str], smuggle: bool) -> httpx.Response:
    url = read.route
    if read.route == "/v1/attendance":
        url += f"?from={pair.first}&to={pair.last}&pageSize=500"
    if smuggle:  # naming B in the query or a header changes nothing
        sep = "&" if "?" in url else "?"
        url += f"{sep}tenant={B}&tenant_id={pair.b.tenant_id}&slug={B}"
        headers = {**headers, "X-Tenant": B, "X-Tenant-Id": str(pair.b.tenant_id)}
    if read.route == "/metrics":  # the operator's scraper (a tenant's key gets a 401)
        headers = {**headers, "Authorization": f"Bearer {METRICS_TOKEN}"}
    if read.method == "POST":
        return pair.client.post(url, json={"scope": "read", "label": "probe"}, headers=headers)
    return pair.client.get(url, headers=headers)


@pytest.mark.parametrize("read", READS, ids=[r.name for r in READS])
def test_reads_show_all_of_a_and_nothing_of_b(pair: Pair, b_unchanged: None, read: Read) -> None:
    scopes: tuple[str | None, ...] = (None,) if read.grant is None else SCOPES
    for scope in scopes:
        for smuggle in (False, True):
            response = _read(pair, read, pair.headers(scope), smuggle)
            where = f"{read.name} scope={scope} smuggle={smuggle}"
            no_marker(pair, response, where)
            if read.grant is not None and not _allowed(scope or "", read.grant):
                assert response.status_code == 403, (where, response.text)
                assert set(response.json()) == {"errors", "succeeded"}
                continue
            expected = 201 if read.method == "POST" else 200
            assert response.status_code == expected, (where, response.text)
            if read.check is not None:
                json = response.headers["content-type"].startswith("application/json")
                read.check(pair, response.json() if json else response.text)


def test_b_sees_its_own_data_and_none_of_a(pair: Pair) -> None:
    """The other direction, and a control that B's data is there to be leaked."""
    headers = {"X-API-Key": pair.b.keys["admin"]}
    got = pair.client.get("/v1/punches", headers=headers).json()
    assert [p["id"] for p in got["data"]] == pair.b.punch_ids
    got = pair.client.get(
        f"/v1/attendance?from={pair.first}&to={pair.last}&pageSize=500", headers=headers
    ).json()
    assert {r["employeeNumber"] for r in got["data"]} == set(B_EMP)
    listed = pair.client.get("/v1/admin/devices", headers=headers).json()["data"]
    assert {d["identifier"] for d in listed} == {B_DEV, B_DEV_OFF, B_DEV_TEXT}
    for path in ("/v1/admin/devices", "/v1/admin/employees", "/v1/admin/keys", "/v1/punches"):
        text = pair.client.get(path, headers=headers).text.lower()
        for mine in (A_DEV, A_DEV_TEXT, *A_EMP, A_HELD, *pair.a.key_ids.values()):
            assert mine.lower() not in text, (path, mine)


# ------------------------------------------------------------------------------------------
# Ingest keys: B's identifiers become A's own rejections and held logs; no reads at all
# ------------------------------------------------------------------------------------------


def test_a_logs_naming_b_devices_and_numbers_stay_a_own(pair: Pair, b_unchanged: None) -> None:
    at = _wall(pair.a_day, 14)
    sent = [
        _log(B_DEV, A_EMP[0], at),
        _log(B_DEV_OFF, A_EMP[0], at),
        _log(B_DEV_TEXT, A_EMP[0], at),
        _log(B_DEV.upper(), A_EMP[0], at),
        _log(A_DEV, B_EMP[0], at),
        _log(A_DEV, B_LEFT, at),
        _log(A_DEV, B_HELD, at),
    ]
    data = _push(pair.client, pair.a.keys["ingest"], sent)
    # B's devices are unknown to A (never "disabled"); B's numbers are A's unknown numbers,
    # held (never "inactive")
    assert [(r["index"], r["reason"]) for r in data["rejected"]] == [
        (0, "unknown_device"),
        (1, "unknown_device"),
        (2, "unknown_device"),
        (3, "unknown_device"),
    ]
    assert (data["logsAccepted"], data["logsUnmatched"]) == (3, 3)
    # they are A's: A's rejected logs (by A's key), A's held punches
    kept = rejections.list_rejections(pair.store, A, reason="unknown_device")
    raw_devices = [r["raw"]["DeviceIdentifier"] for r in kept]
    assert {B_DEV, B_DEV_OFF, B_DEV_TEXT, B_DEV.upper()} <= set(raw_devices)
    held = {u["employeeNumber"] for u in punches.list_unmatched(pair.store, A)}
    assert held == {A_HELD, B_EMP[0], B_LEFT, B_HELD}
    feed = pair.client.get("/v1/punches", headers={"X-API-Key": pair.a.keys["read"]}).json()
    assert all(p["deviceIdentifier"] in {A_DEV, A_DEV_TEXT, None} for p in feed["data"])


def test_registering_a_number_attaches_only_the_own_tenants_held_logs(pair: Pair) -> None:
    """A holds a log for B's held number; B registering it attaches B's only, and A's stays
    held (and the other way round)."""
    data = _push(pair.client, pair.a.keys["ingest"], [_log(A_DEV, B_HELD, _wall(pair.a_day, 15))])
    assert data["logsUnmatched"] == 1
    answer = pair.client.put(
        "/v1/admin/employees",
        json=[{"number": B_HELD}],
        headers={"X-API-Key": pair.b.keys["admin"]},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"written": 1, "attachedPunches": 1}
    assert B_HELD in {u["employeeNumber"] for u in punches.list_unmatched(pair.store, A)}
    answer = pair.client.put(
        "/v1/admin/employees", json=[{"number": A_HELD}], headers=pair.headers("admin")
    )
    assert answer.json()["data"] == {"written": 1, "attachedPunches": 1}


def test_a_exhausting_its_rate_limit_never_throttles_b(pair: Pair, make_client: MakeClient) -> None:
    """Buckets are per key: A's empty bucket is A's alone (a shared one would let A sense
    B's traffic), and A's requests leave B's rows (buckets included) as they were."""
    limited = make_client(
        recompute_interval_seconds=0, rate_limit_per_second=0.001, rate_limit_burst=3
    )
    before = snapshot(pair.store, pair.b.tenant_id)
    mine = {"X-API-Key": pair.a.keys["admin"]}
    assert [limited.get("/v1/admin/devices", headers=mine).status_code for _ in range(4)] == [
        200,
        200,
        200,
        429,
    ]
    assert snapshot(pair.store, pair.b.tenant_id) == before
    theirs = {"X-API-Key": pair.b.keys["admin"]}
    assert [limited.get("/v1/admin/devices", headers=theirs).status_code for _ in range(3)] == [
        200
    ] * 3
    refused = limited.get("/v1/admin/devices", headers=mine)
    assert refused.status_code == 429
    no_marker(pair, refused, "429")


def test_an_idempotency_key_b_used_means_nothing_to_a(pair: Pair) -> None:
    """B's ``Idempotency-Key`` is B's: A sending the same one (same body or not) is answered
    as A with a fresh key is, never with B's stored answer, a 409 or a 422."""
    b_body = [_log(B_DEV, B_EMP[1], _wall(pair.a_day, 19))]
    tokens = ("isolation-shared-key-1", "isolation-shared-key-2")
    for token in tokens:
        posted = pair.client.post(
            "/v1/logs",
            json=b_body,
            headers={"X-API-Key": pair.b.keys["ingest"], "Idempotency-Key": token},
        )
        assert posted.status_code == 200, posted.text
    before = snapshot(pair.store, pair.b.tenant_id)

    def as_a(body: list[dict[str, Any]], token: str) -> httpx.Response:
        headers = pair.headers("ingest", **{"Idempotency-Key": token})
        return pair.client.post("/v1/logs", json=body, headers=headers)

    # B's body under B's key: A's own verdict (unknown_device), not B's stored answer
    same = as_a(b_body, tokens[0])
    fresh = as_a(b_body, "isolation-fresh-key-1")
    assert not [h for h in same.headers if h.startswith("idempotent")]  # not a replay
    assert answer_of(same, tokens[0]) == answer_of(fresh, "isolation-fresh-key-1")
    assert [r["reason"] for r in same.json()["data"]["rejected"]] == ["unknown_device"]
    # another body under B's key: A's request runs (a 422 would say B used the key)
    other = as_a([_log(A_DEV, A_EMP[0], _wall(pair.a_day, 19, 30))], tokens[1])
    other_fresh = as_a([_log(A_DEV, A_EMP[0], _wall(pair.a_day, 19, 31))], "isolation-fresh-2")
    assert answer_of(other, tokens[1]) == answer_of(other_fresh, "isolation-fresh-2")
    assert other.json()["data"]["logsAccepted"] == 1
    assert snapshot(pair.store, pair.b.tenant_id) == before


def _operations(app: FastAPI) -> list[tuple[str, str]]:
    paths = app.openapi()["paths"]
    return sorted((m.upper(), p) for p, ops in paths.items() for m in ops)


OPERATIONS_WITHOUT_KEY = {(r.method, r.route) for r in READS if r.grant is None}


def _fill(pair: Pair, method: str, route: str) -> tuple[str, Any]:
    """The route with B's identifiers in its path, and a valid body or query."""
    url = (
        route.replace("{identifier}", B_DEV)
        .replace("{number}", B_EMP[0])
        .replace("{key_id}", pair.b.key_ids["admin"])
    )
    assert "{" not in url, f"{route}: give this path parameter one of B's identifiers"
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/v1/logs"): [_log(B_DEV, B_EMP[0], _wall(pair.a_day, 16))],
        ("POST", "/v1/admin/devices"): {"identifier": B_DEV},
        ("PUT", "/v1/admin/employees"): [{"number": B_EMP[0]}],
        ("POST", "/v1/admin/keys"): {"scope": "admin"},
    }
    if route == "/v1/attendance":
        url += f"?from={pair.first}&to={pair.last}&employee={B_EMP[0]}"
    if route == "/v1/punches":
        url += f"?since={pair.b_early_punches[0]}"
    return url, bodies.get((method, route))


def test_an_ingest_key_of_a_reads_and_changes_nothing(pair: Pair, b_unchanged: None) -> None:
    """Every operation but POST /v1/logs answers A's ingest key 403, one message, no data."""
    headers = pair.headers("ingest")
    answers = {}
    for method, route in _operations(pair.client.app):  # type: ignore[arg-type]
        if (method, route) in OPERATIONS_WITHOUT_KEY or route == "/v1/logs":
            continue
        url, body = _fill(pair, method, route)
        response = pair.client.request(method, url, json=body, headers=headers)
        assert response.status_code == 403, (method, route, response.text)
        answers[(method, route)] = response.json()
    assert len(answers) >= 9
    scopes_refused = {tuple(a["errors"]) for a in answers.values()}
    assert scopes_refused <= {
        ("This API key (scope 'ingest') may not manage the tenant",),
        ("This API key (scope 'ingest') may not read data",),
    }
    assert all(
        a["succeeded"] is False and set(a) == {"errors", "succeeded"} for a in answers.values()
    )


def test_a_forged_key_with_b_key_id_is_any_invalid_key(pair: Pair, b_unchanged: None) -> None:
    """A key of B's id with a wrong secret (a valid checksum) is answered like a key of an
    id nobody has, on every operation: the 401 tells nothing about whether the id exists."""
    secret = "".join(secrets.choice(key_format.BASE62) for _ in range(key_format.SECRET_LENGTH))
    nobody = _nobody_key_id(pair)
    for method, route in _operations(pair.client.app):  # type: ignore[arg-type]
        if (method, route) in OPERATIONS_WITHOUT_KEY:
            continue
        url, body = _fill(pair, method, route)
        for name in ("ingest", "read", "admin", "revoked"):
            theirs = pair.b.key_ids[name]
            got = []
            for public_id in (theirs, nobody):
                forged = key_format.format_key(public_id, secret)
                response = pair.client.request(
                    method, url, json=body, headers={"X-API-Key": forged}
                )
                got.append(answer_of(response, public_id))
            assert got[0] == got[1], (method, route, name, got)
            assert got[0][0] == 401
            assert got[0][3] == {
                "errors": ["Invalid API key"],
                "succeeded": False,
            }


# ------------------------------------------------------------------------------------------
# Coverage: no route without a probe
# ------------------------------------------------------------------------------------------

DOCUMENTATION = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _served_routes(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, documented or not."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:  # FastAPI's included router
            context = getattr(route, "include_context", None)
            found |= _served_routes(
                list(included.routes), prefix + str(getattr(context, "prefix", ""))
            )
            continue
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        assert path is not None, f"cannot enumerate {route!r}"
        assert methods is not None, f"cannot enumerate {route!r}"
        found |= {(m, prefix + path) for m in methods if m != "HEAD" or "GET" not in methods}
    return found


def test_every_served_route_has_an_isolation_probe(pair: Pair) -> None:
    """Adding a route without adding it to PROBES or READS above fails here."""
    app: FastAPI = pair.client.app  # type: ignore[assignment]
    covered = {(p.method, p.route) for p in PROBES} | {(r.method, r.route) for r in READS}
    documented = set(_operations(app))
    assert documented - covered == set(), "routes without an isolation probe"
    served = _served_routes(list(app.routes))
    assert documented <= served
    assert served - covered == set(), "served routes without an isolation probe"
    assert {r for _, r in served - documented} <= DOCUMENTATION
    # the table is not stale either: every probe names a route that exists
    assert covered - served == set()
