"""Tenant isolation on the command line (issue 5, item 7), on SQLite and PostgreSQL.

Every command that takes a tenant plus an identifier (a device identifier, an employee number,
a punch id, a shift code, a key id) is run for tenant A with one of tenant B's, and

* a command that needs the thing to exist in A fails with one ``error:`` line and a non-zero
  exit, worded exactly as for an identifier nobody has (no existence oracle);
* a command that creates or filters in A (identifiers are per tenant) does so in A only, with
  the answer it gives for an identifier nobody has;
* nothing of B appears in any output, and every row of B is the same afterwards.

``test_every_command_is_classified`` fails when a command is added without a case here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import typer
from click.testing import Result
from sqlalchemy import func, select

from punchlog.cli.main import app
from punchlog.services import attendance, corrections, devices, employees, keys, shifts, tenants
from punchlog.services.employees import EmployeeIn
from punchlog.services.shifts import ShiftIn
from punchlog.services.store import Store
from punchlog.storage import punches as punch_rows
from punchlog.storage.tables import punches
from tests.cli.conftest import Run, failed, ok, ok_json, push_logs
from tests.support.snapshots import tenant_unchanged

A, B = "acme", "beta"
A_ZONE, B_ZONE = ZoneInfo("Asia/Kolkata"), ZoneInfo("Europe/Berlin")

A_DEV = "a1a1a1a1-1111-4222-8333-444455556666"
A_DEV_TEXT = "acme-gate-1"
A_EMP = ("ACME-EMP-1", "ACME-EMP-2")
A_HELD = "ACME-HELD-1"
A_SHIFT = "GEN"

B_DEV = "b0b0b0b0-1111-4222-8333-444455556666"
B_DEV_OFF = "b0b0b0b0-1111-4222-8333-0000000000ff"
B_DEV_TEXT = "beta-gate-7"
B_EMP = ("BETA-EMP-1", "BETA-EMP-2")
B_LEFT = "BETA-EMP-9"
B_HELD = "BETA-HELD-1"
B_SHIFT = "BETASHIFT"
B_SECRET = "beta-secret"

NOBODY_DEV = "c0c0c0c0-1111-4222-8333-444455556666"
NOBODY_DEV_OFF = "c0c0c0c0-1111-4222-8333-0000000000ff"
NOBODY_DEV_TEXT = "zeta-gate-7"
NOBODY_SHIFT = "ZETASHIFT"

DEVICE_PAIRS = [
    (B_DEV, NOBODY_DEV),
    (B_DEV_OFF, NOBODY_DEV_OFF),
    (B_DEV_TEXT, NOBODY_DEV_TEXT),
    (B_DEV.upper(), NOBODY_DEV.upper()),
    ("{" + B_DEV + "}", "{" + NOBODY_DEV + "}"),
]
NUMBER_PAIRS = [
    (B_EMP[0], "ZETA-EMP-1"),
    (B_LEFT, "ZETA-EMP-9"),
    (B_HELD, "ZETA-HELD-1"),
]


@dataclass
class Side:
    slug: str
    tenant_id: int
    keys: dict[str, str]
    key_ids: dict[str, str]
    punch_ids: list[int] = field(default_factory=list)


@dataclass
class Pair:
    run: Run
    store: Store
    a: Side
    b: Side
    a_day: date
    b_holiday: date
    first: date
    last: date

    def markers(self) -> list[str]:
        found = [B_SECRET, B_DEV, B_DEV_OFF, B_DEV_TEXT, *B_EMP, B_LEFT, B_HELD, B_SHIFT, B]
        return [m.lower() for m in [*found, *self.b.key_ids.values()]]

    def nobody_punch(self) -> int:
        with self.store.read() as conn:
            return int(conn.execute(select(func.max(punches.c.id))).scalar_one()) + 1000


def _wall(day: date, hh: int, mm: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hh, mm).isoformat()


def _log(device: str, number: str, at: str, status: int = 0) -> dict[str, Any]:
    return {
        "DeviceIdentifier": device,
        "EmployeeAttendanceNumber": number,
        "Timestamp": at,
        "Status": status,
    }


def _side(store: Store, slug: str, zone: str, label: str) -> Side:
    tenants.create_tenant(store, slug, name=f"{label} Ltd", timezone=zone)
    issued = {
        scope: keys.issue_key(store, slug, scope=scope, label=f"{label} {scope}")
        for scope in ("ingest", "read", "admin")
    }
    revoked = keys.issue_key(store, slug, scope="admin", label=f"{label} revoked")
    keys.revoke_key(store, revoked.id)
    return Side(
        slug=slug,
        tenant_id=tenants.get_tenant(store, slug).id,
        keys={s: k.key for s, k in issued.items()},
        key_ids={**{s: k.id for s, k in issued.items()}, "revoked": revoked.id},
    )


def _punch_ids(store: Store, tenant_id: int) -> list[int]:
    with store.read() as conn:
        return [int(r["id"]) for r in punch_rows.list_punches(conn, tenant_id=tenant_id)]


@pytest.fixture
def pair(run: Run, store: Store) -> Pair:
    today_a = datetime.now(UTC).astimezone(A_ZONE).date()
    today_b = datetime.now(UTC).astimezone(B_ZONE).date()
    a_day, b_day = today_a - timedelta(days=2), today_b - timedelta(days=2)

    b = _side(store, B, "Europe/Berlin", B_SECRET)
    devices.add_device(store, B, identifier=B_DEV, name=f"{B_SECRET} gate")
    devices.add_device(store, B, identifier=B_DEV_OFF, location=f"{B_SECRET} lobby")
    devices.set_device_active(store, B, B_DEV_OFF, active=False)
    devices.add_device(store, B, identifier=B_DEV_TEXT)
    employees.upsert_employees(
        store,
        B,
        [EmployeeIn(n, f"{B_SECRET} {n}") for n in B_EMP]
        + [EmployeeIn(B_LEFT, f"{B_SECRET} leaver", active=False)],
    )
    shifts.create_shift(store, B, ShiftIn(B_SHIFT, "07:00", "16:00", name=f"{B_SECRET} shift"))
    for number in B_EMP:
        shifts.assign_shift(
            store, B, number, B_SHIFT, from_date=today_b - timedelta(days=10), to_date=None
        )
    b_holiday = today_b - timedelta(days=3)
    shifts.add_holiday(store, B, b_holiday, name=f"{B_SECRET} holiday")
    result = push_logs(
        store,
        b.keys["ingest"],
        [
            _log(B_DEV, B_EMP[0], _wall(b_day, 7, 5)),
            _log(B_DEV, B_EMP[0], _wall(b_day, 16, 1), 1),
            _log(B_DEV_TEXT, B_EMP[1], _wall(b_day, 7, 30)),
            _log(B_DEV, B_HELD, _wall(b_day, 8)),
            _log(B_DEV_OFF, B_EMP[0], _wall(b_day, 9)),
            _log(B_DEV, B_LEFT, _wall(b_day, 9)),
            _log(NOBODY_DEV, B_EMP[0], _wall(b_day, 9)),
        ],
    )
    assert result.outcomes == [
        "new",
        "new",
        "new",
        "unmatched",
        "device_disabled",
        "employee_inactive",
        "unknown_device",
    ]
    b.punch_ids = _punch_ids(store, b.tenant_id)
    corrections.exclude_punch(store, B, b.punch_ids[1], reason=f"{B_SECRET} why", actor="b-ops")

    a = _side(store, A, "Asia/Kolkata", "acme")
    devices.add_device(store, A, identifier=A_DEV, name="acme gate")
    devices.add_device(store, A, identifier=A_DEV_TEXT)
    employees.upsert_employees(store, A, [EmployeeIn(n, f"acme {n}") for n in A_EMP])
    shifts.create_shift(store, A, ShiftIn(A_SHIFT, "09:00", "18:00"))
    shifts.assign_shift(
        store, A, A_EMP[0], A_SHIFT, from_date=today_a - timedelta(days=10), to_date=None
    )
    shifts.add_holiday(store, A, today_a - timedelta(days=6), name="acme holiday")
    result = push_logs(
        store,
        a.keys["ingest"],
        [
            _log(A_DEV, A_EMP[0], _wall(a_day, 9, 5)),
            _log(A_DEV, A_EMP[0], _wall(a_day, 18, 2), 1),
            _log(A_DEV_TEXT, A_EMP[1], _wall(a_day, 10)),
            _log(A_DEV, A_HELD, _wall(a_day, 11)),
            _log("acme-unknown-gate", A_EMP[0], _wall(a_day, 12)),
        ],
    )
    assert result.outcomes == ["new", "new", "new", "unmatched", "unknown_device"]
    corrections.add_punch(
        store, A, A_EMP[1], local_time=_wall(a_day, 17), direction="out", reason="r", actor="a"
    )
    a.punch_ids = _punch_ids(store, a.tenant_id)

    late = corrections.add_punch(
        store,
        B,
        B_EMP[1],
        local_time=_wall(b_day, 16, 10),
        direction="out",
        reason=f"{B_SECRET} reason",
        actor="b-ops",
    )
    b.punch_ids.append(late["punchId"])

    first, last = min(today_a, today_b) - timedelta(days=10), max(today_a, today_b)
    for slug, number in ((A, A_EMP[0]), (B, B_EMP[0])):  # catch both tenants up
        days = attendance.days_for(store, slug, first=first, last=last)
        assert number in {d["employeeNumber"] for d in days}
    return Pair(run, store, a, b, a_day, b_holiday, first, last)


@pytest.fixture
def b_unchanged(pair: Pair) -> Iterator[None]:
    """B's rows after the test are B's rows before it (and B has some of everything)."""
    with tenant_unchanged(pair.store, pair.b.tenant_id):
        yield


def no_marker(pair: Pair, result: Result, where: str, sent: str = "") -> None:
    """Nothing only B has in the output (except ``sent``, what the operator typed)."""
    text = (result.stdout + result.stderr).lower()
    if sent:
        text = text.replace(sent.lower(), "<sent>")
    leaked = [m for m in pair.markers() if m in text]
    assert not leaked, f"{where}: B's {leaked} in {result.stdout[:2000]} {result.stderr}"


def _blank(text: str, ident: str) -> str:
    if ident.isdigit():
        return re.sub(rf"\b{ident}\b", "<ID>", text)
    return text.replace(ident, "<ID>")


# ------------------------------------------------------------------------------------------
# Commands that need the identifier to exist in A: they fail, as for nobody's
# ------------------------------------------------------------------------------------------

Args = Callable[[Pair, str], tuple[str, ...]]


@dataclass(frozen=True)
class Refusal:
    name: str
    command: str  # "group sub"
    args: Args  # the command line for tenant A and an identifier
    pairs: Callable[[Pair], list[tuple[str, str]]]  # (B's, nobody's)
    fragment: str  # what the error names
    own: Callable[[Pair], str]  # control: A's own identifier succeeds


def _punch_pairs(pair: Pair) -> list[tuple[str, str]]:
    # B's matched, excluded, held and manual punches
    nobody = pair.nobody_punch()
    return [(str(i), str(nobody + n)) for n, i in enumerate(pair.b.punch_ids)]


REFUSALS = [
    Refusal(
        "device-disable",
        "device disable",
        lambda p, x: ("device", "disable", A, x),
        lambda p: DEVICE_PAIRS,
        "unknown device",
        lambda p: A_DEV_TEXT,
    ),
    Refusal(
        "employee-deactivate",
        "employee deactivate",
        lambda p, x: ("employee", "deactivate", A, x),
        lambda p: NUMBER_PAIRS,
        "unknown employee",
        lambda p: A_EMP[1],
    ),
    Refusal(
        "employee-deactivate-left",
        "employee deactivate",
        lambda p, x: ("employee", "deactivate", A, x, "--left", p.a_day.isoformat()),
        lambda p: NUMBER_PAIRS,
        "unknown employee",
        lambda p: A_EMP[1],
    ),
    Refusal(
        "correction-add-punch",
        "correction add-punch",
        lambda p, x: (
            "correction",
            "add-punch",
            A,
            x,
            "--time",
            _wall(p.a_day, 12),
            "--direction",
            "in",
            "--reason",
            "probe",
        ),
        lambda p: NUMBER_PAIRS,
        "unknown employee",
        lambda p: A_EMP[1],
    ),
    Refusal(
        "correction-exclude",
        "correction exclude",
        lambda p, x: ("correction", "exclude", A, x, "--reason", "probe"),
        _punch_pairs,
        "unknown punch",
        lambda p: str(p.a.punch_ids[0]),
    ),
    Refusal(
        "shift-assign-b-number",
        "shift assign",
        lambda p, x: ("shift", "assign", A, x, A_SHIFT, "--from", p.a_day.isoformat()),
        lambda p: NUMBER_PAIRS,
        "unknown employee",
        lambda p: A_EMP[1],
    ),
    Refusal(
        "shift-assign-b-shift",
        "shift assign",
        lambda p, x: ("shift", "assign", A, A_EMP[1], x, "--from", p.a_day.isoformat()),
        lambda p: [(B_SHIFT, NOBODY_SHIFT)],
        "unknown shift",
        lambda p: A_SHIFT,
    ),
    Refusal(
        "tenant-set-default-shift",
        "tenant set",
        lambda p, x: ("tenant", "set", A, "--default-shift", x),
        lambda p: [(B_SHIFT, NOBODY_SHIFT)],
        "unknown shift",
        lambda p: A_SHIFT,
    ),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[c.name for c in REFUSALS])
def test_b_identifiers_are_refused_like_nobodys(
    pair: Pair, b_unchanged: None, case: Refusal
) -> None:
    for json_flag in ((), ("--json",)):
        for theirs, nobodys in case.pairs(pair):
            got_b = pair.run(*case.args(pair, theirs), *json_flag)
            got_nobody = pair.run(*case.args(pair, nobodys), *json_flag)
            line_b = failed(got_b, case.fragment, f"tenant '{A}'")
            line_nobody = failed(got_nobody, case.fragment)
            assert got_b.stdout == got_nobody.stdout == ""
            assert (got_b.exit_code, _blank(line_b, theirs)) == (
                got_nobody.exit_code,
                _blank(line_nobody, nobodys),
            )
            no_marker(pair, got_b, f"{case.name} {theirs}", theirs)


@pytest.mark.parametrize("case", REFUSALS, ids=[c.name for c in REFUSALS])
def test_a_own_identifiers_are_not_refused(pair: Pair, case: Refusal) -> None:
    """Control: the refusals above are about whose the identifier is, not its shape."""
    ok(pair.run(*case.args(pair, case.own(pair))))


def test_key_revoke_takes_no_tenant_and_refuses_one(pair: Pair, b_unchanged: None) -> None:
    """``key revoke KEY_ID`` is an operator command over all tenants (spec/cli.md); given a
    tenant as well, it is a usage error, not a revocation of B's key."""
    for name in ("ingest", "read", "admin"):
        result = pair.run("key", "revoke", A, pair.b.key_ids[name])
        line = failed(result, "unexpected extra argument")
        assert result.exit_code == 2, line
    # and without a tenant, an id nobody has is refused in one line
    failed(pair.run("key", "revoke", "zzzzzzzzzz"), "unknown key")


# ------------------------------------------------------------------------------------------
# Commands that create in A: B having the same identifier is neither a conflict nor touched
# ------------------------------------------------------------------------------------------

VOLATILE = frozenset({"createdAt"})


def _scrub(value: Any, ident: str) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, ident) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_scrub(v, ident) for v in value]
    if isinstance(value, str):
        return value.replace(ident, "<ID>")
    return value


@dataclass(frozen=True)
class Creation:
    name: str
    command: str
    args: Callable[[Pair, str, Path], tuple[str, ...]]
    pairs: Callable[[Pair], list[tuple[str, str]]]
    in_a: Callable[[Pair, str], bool]  # afterwards, A has it


def _import_file(pair: Pair, ident: str, tmp: Path) -> tuple[str, ...]:
    path = tmp / f"{ident}.csv"
    path.write_text(f"number,name\n{ident},probe\n", encoding="utf-8")
    return ("employee", "import", A, str(path), "--json")


def _has_employee(pair: Pair, number: str) -> bool:
    return number in {e["number"] for e in employees.list_employees(pair.store, A)}


CREATIONS = [
    Creation(
        "device-add",
        "device add",
        lambda p, x, t: ("device", "add", A, "--identifier", x, "--json"),
        lambda p: DEVICE_PAIRS[:3],
        lambda p, x: x in {d["identifier"] for d in devices.list_devices(p.store, A)},
    ),
    Creation(
        "employee-add",
        "employee add",
        lambda p, x, t: ("employee", "add", A, x, "--json"),
        lambda p: NUMBER_PAIRS,
        _has_employee,
    ),
    Creation(
        "employee-import",
        "employee import",
        _import_file,
        lambda p: NUMBER_PAIRS,
        _has_employee,
    ),
    Creation(
        "shift-create",
        "shift create",
        lambda p, x, t: ("shift", "create", A, x, "--start", "07:00", "--end", "16:00", "--json"),
        lambda p: [(B_SHIFT, NOBODY_SHIFT)],
        lambda p, x: x in {s["code"] for s in shifts.list_shifts(p.store, A)},
    ),
    Creation(
        "holiday-add",
        "holiday add",
        lambda p, x, t: ("holiday", "add", A, x, "--name", "probe", "--json"),
        lambda p: [(p.b_holiday.isoformat(), (p.b_holiday + timedelta(days=20)).isoformat())],
        lambda p, x: x in {h["date"] for h in shifts.list_holidays(p.store, A)},
    ),
]


@pytest.mark.parametrize("case", CREATIONS, ids=[c.name for c in CREATIONS])
def test_creating_with_b_identifiers_is_a_own_affair(
    pair: Pair, b_unchanged: None, case: Creation, tmp_path: Path
) -> None:
    for theirs, nobodys in case.pairs(pair):
        got_b = ok_json(pair.run(*case.args(pair, theirs, tmp_path)))
        got_nobody = ok_json(pair.run(*case.args(pair, nobodys, tmp_path)))
        assert _scrub(got_b, theirs) == _scrub(got_nobody, nobodys)
        assert got_b.get("attachedPunches", 0) == 0  # B's held punches stay B's
        assert case.in_a(pair, theirs)
        assert case.in_a(pair, nobodys)


# ------------------------------------------------------------------------------------------
# Lists, reads, replays: A's only
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    name: str
    command: str
    args: Callable[[Pair], tuple[str, ...]]
    check: Callable[[Pair, dict[str, Any]], None]


def _rng(p: Pair) -> tuple[str, ...]:
    return ("--from", p.first.isoformat(), "--to", p.last.isoformat())


def _days_are_a(pair: Pair, out: dict[str, Any]) -> None:
    days = out["days"]
    assert days
    assert {d["employeeNumber"] for d in days} <= set(A_EMP)
    ids = {p["id"] for d in days for p in d["punches"]}
    assert ids
    assert ids <= set(pair.a.punch_ids)
    on_b_holiday = [d for d in days if d["date"] == pair.b_holiday.isoformat()]
    assert on_b_holiday
    assert all(d["dayType"] != "holiday" for d in on_b_holiday)


def _register_is_a(pair: Pair, out: dict[str, Any]) -> None:
    numbers = [r["employeeNumber"] for r in out["rows"]]
    assert A_EMP[0] in numbers
    assert set(numbers) <= set(A_EMP)


def _rows(name: str, key: str, expected: Callable[[Pair], set[Any]]) -> Callable[..., None]:
    def check(pair: Pair, out: dict[str, Any]) -> None:
        assert {r[key] for r in out[name]} == expected(pair)

    return check


def _corrections_are_a(pair: Pair, out: dict[str, Any]) -> None:
    rows = out["corrections"]
    assert [r["employeeNumber"] for r in rows] == [A_EMP[1]]
    assert {r["punchId"] for r in rows} <= set(pair.a.punch_ids)


def _rejections_are_a(pair: Pair, out: dict[str, Any]) -> None:
    rows = out["rejections"]
    assert [r["raw"]["DeviceIdentifier"] for r in rows] == ["acme-unknown-gate"]


READS = [
    Read(
        "key-list",
        "key list",
        lambda p: ("key", "list", A),
        _rows("keys", "id", lambda p: set(p.a.key_ids.values())),
    ),
    Read(
        "device-list",
        "device list",
        lambda p: ("device", "list", A),
        _rows("devices", "identifier", lambda p: {A_DEV, A_DEV_TEXT}),
    ),
    Read(
        "employee-list",
        "employee list",
        lambda p: ("employee", "list", A),
        _rows("employees", "number", lambda p: set(A_EMP)),
    ),
    Read(
        "shift-list",
        "shift list",
        lambda p: ("shift", "list", A),
        _rows("shifts", "code", lambda p: {A_SHIFT}),
    ),
    Read(
        "holiday-list",
        "holiday list",
        lambda p: ("holiday", "list", A),
        _rows("holidays", "name", lambda p: {"acme holiday"}),
    ),
    Read(
        "unmatched-list",
        "unmatched list",
        lambda p: ("unmatched", "list", A),
        _rows("unmatched", "employeeNumber", lambda p: {A_HELD}),
    ),
    Read(
        "rejections-list", "rejections list", lambda p: ("rejections", "list", A), _rejections_are_a
    ),
    Read(
        "rejections-list-reason",
        "rejections list",
        lambda p: ("rejections", "list", A, "--reason", "device_disabled"),
        _rows("rejections", "id", lambda p: set()),
    ),
    Read(
        "correction-list",
        "correction list",
        lambda p: ("correction", "list", A),
        _corrections_are_a,
    ),
    Read(
        "attendance-show",
        "attendance show",
        lambda p: ("attendance", "show", A, *_rng(p)),
        _days_are_a,
    ),
    Read(
        "attendance-register",
        "attendance register",
        lambda p: ("attendance", "register", A, "--month", p.a_day.strftime("%Y-%m")),
        _register_is_a,
    ),
    Read(
        "attendance-export",
        "attendance export",
        lambda p: ("attendance", "export", A, *_rng(p), "--format", "json"),
        _days_are_a,
    ),
    Read(
        "audit-list",
        "audit list",
        lambda p: ("audit", "list", A, "--limit", "10000"),
        lambda p, out: _audit_is_a(out),
    ),
    Read(
        "tenant-set",
        "tenant set",
        lambda p: ("tenant", "set", A, "--bounce-seconds", "30"),
        lambda p, out: None,
    ),
]


def _audit_is_a(out: dict[str, Any]) -> None:
    """A's own changes are there (its devices and keys were made); B's markers are checked
    absent by no_marker."""
    actions = {e["action"] for e in out["entries"]}
    assert {"device.add", "key.issue"} <= actions, actions


@pytest.mark.parametrize("read", READS, ids=[r.name for r in READS])
def test_reads_show_only_a(pair: Pair, b_unchanged: None, read: Read) -> None:
    result = ok(pair.run(*read.args(pair), "--json"))
    no_marker(pair, result, read.name)
    read.check(pair, json.loads(result.stdout))
    human = ok(pair.run(*read.args(pair)))
    no_marker(pair, human, read.name + " (human output)")


def test_attendance_show_for_a_b_number_is_the_answer_for_nobodys(
    pair: Pair, b_unchanged: None
) -> None:
    """A filter, not a lookup: B's number in A gets what a number nobody has gets."""
    for theirs, nobodys in NUMBER_PAIRS:
        got_b = ok_json(
            pair.run("attendance", "show", A, *_rng(pair), "--employee", theirs, "--json")
        )
        got_nobody = ok_json(
            pair.run("attendance", "show", A, *_rng(pair), "--employee", nobodys, "--json")
        )
        assert got_b == got_nobody == {"days": []}
    mine = ok_json(pair.run("attendance", "show", A, *_rng(pair), "--employee", A_EMP[0], "--json"))
    assert mine["days"]  # control: the filter finds A's own


def test_rejections_replay_replays_only_a(pair: Pair, b_unchanged: None) -> None:
    """A's rejected log names B's device; replaying A's rejections keeps it A's
    unknown_device, and leaves B's rejections pending as they were."""
    result = push_logs(
        pair.store, pair.a.keys["ingest"], [_log(B_DEV, A_EMP[0], _wall(pair.a_day, 13))]
    )
    assert result.outcomes == ["unknown_device"]
    replayed = ok_json(pair.run("rejections", "replay", A, "--json"))
    assert replayed == {"replayed": 2, "accepted": 0, "stillRejected": {"unknown_device": 2}}
    assert set(_punch_ids(pair.store, pair.a.tenant_id)) == set(pair.a.punch_ids)


def test_employee_add_in_a_does_not_attach_b_held_logs(pair: Pair, b_unchanged: None) -> None:
    out = ok_json(pair.run("employee", "add", A, B_HELD, "--json"))
    assert out["attachedPunches"] == 0
    held = ok_json(pair.run("unmatched", "list", B, "--json"))["unmatched"]
    assert [u["employeeNumber"] for u in held] == [B_HELD]


# ------------------------------------------------------------------------------------------
# Coverage: every command is a case above, or does not take a tenant
# ------------------------------------------------------------------------------------------

NOT_TENANT_SCOPED = {
    "init": "schema only",
    "serve": "starts the server (the HTTP routes have their own isolation tests)",
    "demo": "creates its own demo tenant, then serves",
    "push": "a client of POST /v1/logs by URL and key (covered by the API's isolation tests)",
    "tenant create": "creates a tenant; slugs are one namespace for the operator",
    "tenant list": "the operator's list of all tenants",
    "key issue": "takes a tenant but no identifier; the key is the new tenant's own",
}
# Commands with a test of their own above (beyond the tables).
DEDICATED = {
    "key revoke": "test_key_revoke_takes_no_tenant_and_refuses_one",
    "rejections replay": "test_rejections_replay_replays_only_a",
    "attendance show": "test_attendance_show_for_a_b_number_is_the_answer_for_nobodys",
    "employee add": "test_employee_add_in_a_does_not_attach_b_held_logs",
}


def _commands(group: Any, prefix: str = "") -> set[str]:
    """Every leaf command's path, e.g. ``correction exclude`` (typer vendors its own click:
    groups are told by their ``commands``)."""
    found: set[str] = set()
    for name, command in group.commands.items():
        path = f"{prefix} {name}".strip()
        if hasattr(command, "commands"):
            found |= _commands(command, path)
        else:
            found.add(path)
    return found


def test_every_command_is_classified() -> None:
    commands = _commands(typer.main.get_command(app))
    assert len(commands) > 20
    covered = (
        {c.command for c in REFUSALS}
        | {c.command for c in CREATIONS}
        | {r.command for r in READS}
        | set(NOT_TENANT_SCOPED)
        | set(DEDICATED)
    )
    assert all(callable(globals().get(test)) for test in DEDICATED.values())
    assert commands - covered == set(), "commands without a tenant isolation case"
    assert covered - commands == set(), "cases for commands that do not exist"
