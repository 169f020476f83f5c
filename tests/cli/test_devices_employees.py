"""``punchlog device add/list/disable`` and ``employee add/import/deactivate/list`` on SQLite and
PostgreSQL, including the CSV import: upsert, all-or-nothing, errors named by file and line."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from punchlog.services import employees, punches, tenants
from punchlog.services.employees import EmployeeIn
from punchlog.services.store import Store
from tests.cli.conftest import Run, failed, ok, ok_json, push_logs
from tests.support.world import DEVICE, LEFT, World, local_now, log

GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def _devices(run: Run, slug: str = "acme") -> dict[str, dict[str, object]]:
    rows = ok_json(run("device", "list", slug, "--json"))["devices"]
    return {row["identifier"]: row for row in rows}


def _employees(run: Run, slug: str = "acme") -> dict[str, dict[str, object]]:
    rows = ok_json(run("employee", "list", slug, "--json"))["employees"]
    return {row["number"]: row for row in rows}


def _tenant(run: Run) -> None:
    ok(run("tenant", "create", "acme", "--timezone", "Asia/Kolkata"))


def _csv(tmp_path: Path, text: str, name: str = "staff.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------
# device add / list / disable
# ------------------------------------------------------------------------------------------


def test_device_add_with_every_option(run: Run) -> None:
    _tenant(run)
    payload = ok_json(
        run(
            "device",
            "add",
            "acme",
            "--identifier",
            "gate-1",
            "--name",
            "Main gate",
            "--location",
            "Lobby",
            "--timezone",
            "Europe/Berlin",
            "--direction",
            "in",
            "--json",
        )
    )
    assert payload["identifier"] == "gate-1"
    assert (payload["name"], payload["location"]) == ("Main gate", "Lobby")
    assert (payload["timezone"], payload["direction"]) == ("Europe/Berlin", "in")
    assert payload["active"] is True
    listed = _devices(run)["gate-1"]
    assert (listed["name"], listed["location"], listed["timezone"]) == (
        "Main gate",
        "Lobby",
        "Europe/Berlin",
    )
    assert listed["direction"] == "in"


def test_device_add_prints_the_identifier(run: Run) -> None:
    _tenant(run)
    result = ok(run("device", "add", "acme", "--identifier", "gate-2"))
    assert result.stdout.strip() == "gate-2"
    assert result.stderr == ""
    assert "gate-2" in _devices(run)


def test_device_add_generates_a_guid(run: Run) -> None:
    _tenant(run)
    printed = ok(run("device", "add", "acme", "--name", "Back door")).stdout.strip()
    assert str(uuid.UUID(printed)) == printed
    as_json = ok_json(run("device", "add", "acme", "--json"))["identifier"]
    assert str(uuid.UUID(as_json)) == as_json
    assert printed != as_json
    listed = _devices(run)
    assert set(listed) == {printed, as_json}
    assert listed[printed]["name"] == "Back door"
    assert listed[printed]["direction"] == "both"
    assert listed[printed]["timezone"] is None  # the tenant's


def test_device_list(run: Run) -> None:
    _tenant(run)
    assert ok_json(run("device", "list", "acme", "--json")) == {"devices": []}
    ok(run("device", "add", "acme", "--identifier", "gate-1", "--name", "Gate"))
    ok(run("device", "add", "acme", "--identifier", GUID))
    assert set(_devices(run)) == {"gate-1", GUID}
    human = ok(run("device", "list", "acme")).stdout
    assert "gate-1" in human
    assert "Gate" in human


def test_duplicate_device_fails_and_keeps_the_first(run: Run) -> None:
    _tenant(run)
    ok(run("device", "add", "acme", "--identifier", GUID, "--name", "First"))
    result = run("device", "add", "acme", "--identifier", GUID, "--name", "Second", "--json")
    failed(result, GUID)
    assert result.stdout == ""
    # a GUID is the same device whatever its case or braces
    failed(run("device", "add", "acme", "--identifier", "{" + GUID.upper() + "}"), "exists")
    listed = _devices(run)
    assert list(listed) == [GUID]
    assert listed[GUID]["name"] == "First"


def test_the_same_identifier_in_another_tenant_is_fine(run: Run) -> None:
    _tenant(run)
    ok(run("tenant", "create", "beta"))
    ok(run("device", "add", "acme", "--identifier", GUID))
    ok(run("device", "add", "beta", "--identifier", GUID))
    assert list(_devices(run, "beta")) == [GUID]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--timezone", "Mars/Base"), "Mars/Base"),
        (("--direction", "sideways"), "sideways"),
    ],
    ids=["bad-zone", "bad-direction"],
)
def test_device_add_rejects_bad_options(run: Run, args: tuple[str, ...], fragment: str) -> None:
    _tenant(run)
    failed(run("device", "add", "acme", "--identifier", "gate-9", *args), fragment)
    assert _devices(run) == {}


def test_device_disable(run: Run, store: Store, world: World) -> None:
    before = push_logs(store, world.ingest_key, [log("E1", minutes_ago=20)])
    assert before.outcomes == ["new"]
    payload = ok_json(run("device", "disable", "acme", DEVICE, "--json"))
    assert payload["identifier"] == DEVICE
    assert payload["active"] is False
    assert _devices(run)[DEVICE]["active"] is False
    after = push_logs(store, world.ingest_key, [log("E1", minutes_ago=5)])
    assert after.outcomes == ["device_disabled"]


def test_device_disable_human_output_and_guid_case(run: Run, world: World) -> None:
    result = ok(run("device", "disable", "acme", DEVICE.upper()))
    assert "disabled" in result.stdout
    assert DEVICE in result.stdout
    assert _devices(run)[DEVICE]["active"] is False


def test_device_disable_unknown_fails(run: Run, world: World) -> None:
    before = _devices(run)
    failed(run("device", "disable", "acme", "no-such-device"), "no-such-device")
    failed(run("device", "disable", "nope", DEVICE), "nope")
    assert _devices(run) == before


@pytest.mark.parametrize(
    "args",
    [("device", "add", "nope"), ("device", "list", "nope")],
    ids=["add", "list"],
)
def test_device_unknown_tenant_fails(run: Run, args: tuple[str, ...]) -> None:
    failed(run(*args), "nope")


# ------------------------------------------------------------------------------------------
# employee add / list / deactivate
# ------------------------------------------------------------------------------------------


def test_employee_add(run: Run) -> None:
    _tenant(run)
    payload = ok_json(
        run(
            "employee",
            "add",
            "acme",
            "E100",
            "--name",
            "Asha Rao",
            "--joined",
            "2024-01-15",
            "--left",
            "2030-12-31",
            "--json",
        )
    )
    assert payload["number"] == "E100"
    assert payload["written"] == 1
    assert _employees(run)["E100"] == {
        "number": "E100",
        "name": "Asha Rao",
        "joinedOn": "2024-01-15",
        "leftOn": "2030-12-31",
        "active": True,
    }
    human = ok(run("employee", "add", "acme", "E101", "--name", "Vikram"))
    assert "E101" in human.stdout
    assert human.stderr == ""
    assert _employees(run)["E101"]["name"] == "Vikram"


def test_duplicate_employee_number_fails_and_keeps_the_first(run: Run) -> None:
    _tenant(run)
    ok(run("employee", "add", "acme", "E1", "--name", "First"))
    result = run("employee", "add", "acme", "E1", "--name", "Second", "--json")
    failed(result, "E1")
    assert result.stdout == ""
    failed(run("employee", "add", "acme", " E1 ", "--name", "Third"), "E1")  # trimmed: the same
    assert _employees(run) == {
        "E1": {"number": "E1", "name": "First", "joinedOn": None, "leftOn": None, "active": True}
    }


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--joined", "2024-02-30"), "2024-02-30"),
        (("--left", "yesterday"), "yesterday"),
        (("--joined", "2024-05-01", "--left", "2024-04-01"), "left before"),
    ],
    ids=["bad-joined", "bad-left", "left-before-joined"],
)
def test_employee_add_rejects_bad_dates(run: Run, args: tuple[str, ...], fragment: str) -> None:
    _tenant(run)
    failed(run("employee", "add", "acme", "E1", *args), fragment)
    assert _employees(run) == {}


def test_employee_list(run: Run) -> None:
    _tenant(run)
    assert ok_json(run("employee", "list", "acme", "--json")) == {"employees": []}
    ok(run("employee", "add", "acme", "E2", "--name", "Meera"))
    ok(run("employee", "add", "acme", "E1", "--name", "Asha"))
    assert set(_employees(run)) == {"E1", "E2"}
    human = ok(run("employee", "list", "acme")).stdout
    assert "Meera" in human
    assert "E2" in human


def test_employee_deactivate(run: Run, store: Store, world: World) -> None:
    assert push_logs(store, world.ingest_key, [log("E2", minutes_ago=30)]).outcomes == ["new"]
    payload = ok_json(run("employee", "deactivate", "acme", "E2", "--left", "2020-01-31", "--json"))
    assert payload["number"] == "E2"
    assert payload["active"] is False
    assert payload["leftOn"] == "2020-01-31"
    listed = _employees(run)
    assert listed["E2"]["active"] is False
    assert listed["E1"]["active"] is True
    after = push_logs(store, world.ingest_key, [log("E2", minutes_ago=5)])
    assert after.outcomes == ["employee_inactive"]


def test_employee_deactivate_human_output(run: Run, world: World) -> None:
    result = ok(run("employee", "deactivate", "acme", "E3"))
    assert "E3" in result.stdout
    assert "deactivated" in result.stdout
    assert _employees(run)["E3"]["active"] is False


def test_employee_deactivate_failures_change_nothing(run: Run, world: World) -> None:
    before = _employees(run)
    failed(run("employee", "deactivate", "acme", "E404"), "E404")
    failed(run("employee", "deactivate", "acme", "E1", "--left", "31/01/2020"), "31/01/2020")
    failed(run("employee", "deactivate", "nope", "E1"), "nope")
    assert _employees(run) == before


@pytest.mark.parametrize(
    "args",
    [
        ("employee", "add", "nope", "E1"),
        ("employee", "list", "nope"),
    ],
    ids=["add", "list"],
)
def test_employee_unknown_tenant_fails(run: Run, args: tuple[str, ...]) -> None:
    failed(run(*args), "nope")


# ------------------------------------------------------------------------------------------
# employee import
# ------------------------------------------------------------------------------------------


def test_employee_import(run: Run, tmp_path: Path) -> None:
    _tenant(run)
    path = _csv(
        tmp_path,
        "number,name,joined,left,active\n"
        "E1,Asha Rao,2024-01-15,,yes\n"
        "E2,Vikram Mehta,,,\n"
        "\n"
        "E3,Meera Iyer,2023-06-01,2024-03-31,no\n",
    )
    payload = ok_json(run("employee", "import", "acme", str(path), "--json"))
    assert payload["rows"] == 3
    assert payload["written"] == 3
    assert payload["attachedPunches"] == 0
    listed = _employees(run)
    assert listed == {
        "E1": {
            "number": "E1",
            "name": "Asha Rao",
            "joinedOn": "2024-01-15",
            "leftOn": None,
            "active": True,
        },
        "E2": {
            "number": "E2",
            "name": "Vikram Mehta",
            "joinedOn": None,
            "leftOn": None,
            "active": True,
        },
        "E3": {
            "number": "E3",
            "name": "Meera Iyer",
            "joinedOn": "2023-06-01",
            "leftOn": "2024-03-31",
            "active": False,
        },
    }


def test_employee_import_is_an_upsert(run: Run, tmp_path: Path) -> None:
    _tenant(run)
    ok(run("employee", "add", "acme", "E1", "--name", "Old name"))
    first = _csv(tmp_path, "number,name\nE1,Asha\nE2,Vikram\n", "first.csv")
    result = ok(run("employee", "import", "acme", str(first)))
    assert "2" in result.stdout
    assert "import" in result.stdout
    second = _csv(tmp_path, "Number,Name\nE2,Vikram Mehta\nE1,Asha Rao\nE3,Meera\n", "second.csv")
    payload = ok_json(run("employee", "import", "acme", str(second), "--json"))
    assert payload["rows"] == 3
    assert {n: e["name"] for n, e in _employees(run).items()} == {
        "E1": "Asha Rao",
        "E2": "Vikram Mehta",
        "E3": "Meera",
    }


def test_employee_import_attaches_held_logs(
    run: Run, store: Store, world: World, tmp_path: Path
) -> None:
    now = local_now()
    pushed = [
        log("N7", at=now - timedelta(minutes=50)),
        log("N7", at=now - timedelta(minutes=40)),
        log("N8", at=now - timedelta(minutes=30)),
    ]
    assert push_logs(store, world.ingest_key, pushed).outcomes == ["unmatched"] * 3
    assert {r["employeeNumber"]: r["count"] for r in punches.list_unmatched(store, "acme")} == {
        "N7": 2,
        "N8": 1,
    }
    path = _csv(tmp_path, "number,name\nN7,Seven\nN8,Eight\nN9,Nine\n")
    payload = ok_json(run("employee", "import", "acme", str(path), "--json"))
    assert payload["attachedPunches"] == 3
    assert punches.list_unmatched(store, "acme") == []
    assert ok_json(run("unmatched", "list", "acme", "--json")) == {"unmatched": []}
    # stored once: a resend is a duplicate; a new punch of N8 is now a plain new one
    again = push_logs(store, world.ingest_key, [pushed[2], log("N8", at=now)])
    assert again.outcomes == ["duplicate", "new"]


MALFORMED = [
    pytest.param(
        "number,name,joined\nE1,New,2024-01-01\nE2,Two,2024-13-45\n",
        ("line 3", "2024-13-45"),
        id="bad-date",
    ),
    pytest.param(
        "number,name,left\nE1,New,\nE2,Two,01/02/2024\n",
        ("line 3",),
        id="bad-left-date",
    ),
    pytest.param("number,name\nE1,New\nE2,Two,extra\n", ("line 3",), id="too-many-fields"),
    pytest.param("number,name\nE1,New\nE2\n", ("line 3",), id="too-few-fields"),
    pytest.param("number,name\nE1,New\nE2,Two\nE1,Again\n", ("line 4", "line 2"), id="duplicate"),
    pytest.param("number,name\nE1,New\n E1 ,Again\n", ("line 3", "line 2"), id="duplicate-trimmed"),
    pytest.param("number,name,email\nE1,New,a@b.c\n", ("line 1", "email"), id="unknown-column"),
    pytest.param("name\nNew\n", ("line 1", "number"), id="no-number-column"),
    pytest.param("number,name,active\nE1,New,yes\nE2,Two,maybe\n", ("line 3",), id="bad-active"),
    pytest.param("number,name\nE1,New\n,Nobody\n", ("line 3",), id="empty-number"),
    pytest.param(
        "number,name,joined,left\nE1,New,,\nE2,Two,2024-05-01,2024-04-01\n",
        ("line 3",),
        id="left-before-joined",
    ),
    pytest.param("", (), id="empty-file"),
]


@pytest.mark.parametrize(("text", "fragments"), MALFORMED)
def test_malformed_csv_imports_nothing(
    run: Run, store: Store, tmp_path: Path, text: str, fragments: tuple[str, ...]
) -> None:
    tenants.create_tenant(store, "acme")
    employees.add_employee(store, "acme", EmployeeIn("E1", "Original"))
    before = employees.list_employees(store, "acme")
    path = _csv(tmp_path, text, "bad-staff.csv")
    result = run("employee", "import", "acme", str(path), "--json")
    failed(result, "bad-staff.csv", *fragments)
    assert result.stdout == ""
    assert employees.list_employees(store, "acme") == before


def test_import_accepts_a_spreadsheet_bom_and_aliases(run: Run, tmp_path: Path) -> None:
    _tenant(run)
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffNumber,Name,Joined_On\r\nE1,Renée,2024-01-02\r\n".encode())
    payload = ok_json(run("employee", "import", "acme", str(path), "--json"))
    assert payload["rows"] == 1
    assert _employees(run)["E1"]["name"] == "Renée"
    assert _employees(run)["E1"]["joinedOn"] == "2024-01-02"


def test_import_of_a_file_that_is_not_utf8_fails(run: Run, tmp_path: Path) -> None:
    _tenant(run)
    path = tmp_path / "latin.csv"
    path.write_bytes("number,name\nE1,Ann\nE2,Ren\xe9e\n".encode("latin-1"))
    failed(run("employee", "import", "acme", str(path)), "latin.csv", "line")
    assert _employees(run) == {}


def test_import_of_a_missing_file_fails(run: Run, tmp_path: Path) -> None:
    _tenant(run)
    failed(run("employee", "import", "acme", str(tmp_path / "absent.csv")), "absent.csv")
    assert _employees(run) == {}


def test_import_into_an_unknown_tenant_fails(run: Run, tmp_path: Path) -> None:
    _tenant(run)
    path = _csv(tmp_path, "number,name\nE1,Asha\n")
    failed(run("employee", "import", "nope", str(path)), "nope")
    assert _employees(run) == {}


def test_left_employee_in_world_is_listed_inactive(run: Run, world: World) -> None:
    listed = _employees(run)
    assert listed[LEFT]["active"] is False
    assert {n for n, e in listed.items() if e["active"]} == {"E1", "E2", "E3"}
