"""``punchlog unmatched list``, ``rejections list`` and ``rejections replay`` on SQLite and
PostgreSQL: held and rejected logs pushed through the ingest service, then seen and fixed from
the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from punchlog.services import keys, punches
from punchlog.services.store import Store
from punchlog.storage import punches as punch_rows
from tests.cli.conftest import Run, failed, ok, ok_json, push_logs
from tests.support.world import DEVICE_OFF, LEFT, World, local_now, log

NEW_GATE = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def _stored(store: Store, world: World) -> int:
    principal = keys.authenticate(store, world.admin_key, now=datetime.now(UTC))
    with store.read() as conn:
        return punch_rows.count_punches(conn, tenant_id=principal.tenant_id)


def _rejections(run: Run, *reason: str) -> list[dict[str, object]]:
    args = ("--reason", reason[0]) if reason else ()
    rows: list[dict[str, object]] = ok_json(run("rejections", "list", "acme", *args, "--json"))[
        "rejections"
    ]
    return rows


def _unmatched(run: Run) -> dict[str, dict[str, object]]:
    rows = ok_json(run("unmatched", "list", "acme", "--json"))["unmatched"]
    return {row["employeeNumber"]: row for row in rows}


# ------------------------------------------------------------------------------------------
# unmatched list
# ------------------------------------------------------------------------------------------


def test_unmatched_list_empty(run: Run, world: World) -> None:
    assert ok_json(run("unmatched", "list", "acme", "--json")) == {"unmatched": []}
    result = ok(run("unmatched", "list", "acme"))
    assert "no unmatched" in result.stdout
    assert result.stderr == ""


def test_unmatched_list_groups_held_logs_by_number(run: Run, store: Store, world: World) -> None:
    now = local_now()
    items: list[object] = [
        log("N7", at=now - timedelta(minutes=50)),
        log("N7", at=now - timedelta(minutes=20)),
        log("N8", at=now - timedelta(minutes=30)),
        log("E1", at=now - timedelta(minutes=10)),  # registered: not held
    ]
    assert push_logs(store, world.ingest_key, items).outcomes == [
        "unmatched",
        "unmatched",
        "unmatched",
        "new",
    ]
    listed = _unmatched(run)
    assert set(listed) == {"N7", "N8"}
    assert listed["N7"]["count"] == 2
    assert listed["N8"]["count"] == 1
    first = datetime.fromisoformat(str(listed["N7"]["first"]))
    last = datetime.fromisoformat(str(listed["N7"]["last"]))
    assert last - first == timedelta(minutes=30)
    human = ok(run("unmatched", "list", "acme")).stdout
    assert "N7" in human
    assert "N8" in human


def test_employee_add_attaches_held_logs(run: Run, store: Store, world: World) -> None:
    push_logs(store, world.ingest_key, [log("N7", minutes_ago=30), log("N7", minutes_ago=20)])
    push_logs(store, world.ingest_key, [log("N8", minutes_ago=30)])
    payload = ok_json(run("employee", "add", "acme", "N7", "--name", "Seven", "--json"))
    assert payload["attachedPunches"] == 2
    assert set(_unmatched(run)) == {"N8"}
    assert [r["employeeNumber"] for r in punches.list_unmatched(store, "acme")] == ["N8"]


def test_unmatched_list_unknown_tenant(run: Run, world: World) -> None:
    failed(run("unmatched", "list", "nope"), "nope")


# ------------------------------------------------------------------------------------------
# rejections list
# ------------------------------------------------------------------------------------------


def _push_bad_logs(store: Store, world: World) -> None:
    items: list[object] = [
        log("E1", device=NEW_GATE, minutes_ago=30),  # unknown_device
        log("E2", device=DEVICE_OFF, minutes_ago=30),  # device_disabled
        log(LEFT, minutes_ago=30),  # employee_inactive
        log("E3", minutes_ago=30),  # new
    ]
    result = push_logs(store, world.ingest_key, items)
    assert result.outcomes == ["unknown_device", "device_disabled", "employee_inactive", "new"]


def test_rejections_list(run: Run, store: Store, world: World) -> None:
    assert _rejections(run) == []
    assert "no rejections" in ok(run("rejections", "list", "acme")).stdout
    _push_bad_logs(store, world)
    rows = _rejections(run)
    assert sorted(str(r["reason"]) for r in rows) == [
        "device_disabled",
        "employee_inactive",
        "unknown_device",
    ]
    ingest_key_id = keys.authenticate(store, world.ingest_key, now=datetime.now(UTC))
    for row in rows:
        # the key as the operator knows it (key list / key issue), and the time it came in
        assert row["keyId"] == ingest_key_id.key_public_id
        received = datetime.fromisoformat(str(row["receivedAt"]))
        assert abs(datetime.now(UTC) - received) < timedelta(minutes=5)
        assert row["message"]
    unknown = next(r for r in rows if r["reason"] == "unknown_device")
    assert unknown["raw"] == log("E1", device=NEW_GATE, at=_wall(unknown))


def _wall(row: dict[str, object]) -> datetime:
    raw = row["raw"]
    assert isinstance(raw, dict)
    return datetime.fromisoformat(raw["Timestamp"])


def test_rejections_list_human_output(run: Run, store: Store, world: World) -> None:
    _push_bad_logs(store, world)
    result = ok(run("rejections", "list", "acme"))
    assert result.stderr == ""
    assert "unknown_device" in result.stdout
    assert "device_disabled" in result.stdout
    assert world.ingest_key_id in result.stdout  # which key sent it


@pytest.mark.parametrize("reason", ["unknown_device", "device_disabled", "employee_inactive"])
def test_rejections_list_by_reason(run: Run, store: Store, world: World, reason: str) -> None:
    _push_bad_logs(store, world)
    rows = _rejections(run, reason)
    assert [r["reason"] for r in rows] == [reason]
    assert _rejections(run, "too_old") == []


def test_rejections_list_failures(run: Run, world: World) -> None:
    failed(run("rejections", "list", "acme", "--reason", "bogus"), "bogus")
    failed(run("rejections", "list", "nope"), "nope")


# ------------------------------------------------------------------------------------------
# rejections replay
# ------------------------------------------------------------------------------------------


def test_replay_after_registering_the_device(run: Run, store: Store, world: World) -> None:
    bad = log("E1", device=NEW_GATE, minutes_ago=30)
    assert push_logs(store, world.ingest_key, [bad]).outcomes == ["unknown_device"]
    assert [r["reason"] for r in _rejections(run)] == ["unknown_device"]
    before = _stored(store, world)

    nothing_fixed = ok_json(run("rejections", "replay", "acme", "--json"))
    assert nothing_fixed["replayed"] == 1
    assert nothing_fixed["accepted"] == 0
    assert nothing_fixed["stillRejected"] == {"unknown_device": 1}
    assert [r["reason"] for r in _rejections(run)] == ["unknown_device"]
    assert _stored(store, world) == before

    ok(run("device", "add", "acme", "--identifier", NEW_GATE))
    payload = ok_json(run("rejections", "replay", "acme", "--json"))
    assert payload["replayed"] == 1
    assert payload["accepted"] == 1
    assert payload["stillRejected"] == {}
    assert _rejections(run) == []
    assert _stored(store, world) == before + 1
    # it is stored: the device resending it gets a duplicate
    assert push_logs(store, world.ingest_key, [bad]).outcomes == ["duplicate"]
    # and a second replay has nothing left to do
    assert ok_json(run("rejections", "replay", "acme", "--json"))["replayed"] == 0


def test_replay_after_adding_the_employee(run: Run, store: Store, world: World) -> None:
    ok(run("tenant", "set", "acme", "--unknown-employees", "reject"))
    bad = log("N77", minutes_ago=30)
    assert push_logs(store, world.ingest_key, [bad]).outcomes == ["unknown_employee"]
    assert [r["reason"] for r in _rejections(run)] == ["unknown_employee"]
    before = _stored(store, world)

    ok(run("employee", "add", "acme", "N77", "--name", "Late joiner"))
    result = ok(run("rejections", "replay", "acme"))
    assert "replayed" in result.stdout
    assert _rejections(run) == []
    assert _stored(store, world) == before + 1
    assert _unmatched(run) == {}  # stored against the employee, not held
    assert push_logs(store, world.ingest_key, [bad]).outcomes == ["duplicate"]


def test_replay_by_reason_leaves_the_others(run: Run, store: Store, world: World) -> None:
    _push_bad_logs(store, world)
    ok(run("device", "add", "acme", "--identifier", NEW_GATE))
    payload = ok_json(run("rejections", "replay", "acme", "--reason", "unknown_device", "--json"))
    assert (payload["replayed"], payload["accepted"]) == (1, 1)
    assert sorted(str(r["reason"]) for r in _rejections(run)) == [
        "device_disabled",
        "employee_inactive",
    ]


def test_replay_failures(run: Run, world: World, store: Store) -> None:
    _push_bad_logs(store, world)
    before = _rejections(run)
    failed(run("rejections", "replay", "acme", "--reason", "bogus"), "bogus")
    failed(run("rejections", "replay", "nope"), "nope")
    assert _rejections(run) == before
