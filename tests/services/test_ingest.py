"""The ingest service on SQLite and PostgreSQL: outcomes, exactly-once, held and rejected logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from punchlog.domain.logs import Policy
from punchlog.services import employees, ingest, keys, punches, rejections
from punchlog.services.employees import EmployeeIn
from punchlog.services.store import Store
from punchlog.storage import punches as punch_rows
from punchlog.storage.tables import ingest_requests, rejected_logs
from tests.support.world import DEVICE, DEVICE_OFF, LEFT, ZONE, World, local_now, log

LIMITS = ingest.Limits()


def _sender(store: Store, world: World) -> ingest.Sender:
    principal = keys.authenticate(store, world.ingest_key, now=datetime.now(UTC))
    return ingest.Sender(
        tenant_id=principal.tenant_id,
        key_id=principal.key_id,
        request_id="req-1",
        policy=principal.policy,
    )


def _push(store: Store, world: World, items: list[object]) -> ingest.IngestResult:
    return ingest.ingest_batch(
        store, _sender(store, world), items, now=datetime.now(UTC), limits=LIMITS
    )


def _count(store: Store, world: World) -> int:
    with store.read() as conn:
        principal = keys.authenticate(store, world.ingest_key, now=datetime.now(UTC))
        return punch_rows.count_punches(conn, tenant_id=principal.tenant_id)


def test_new_duplicate_unmatched_rejected_are_counted_and_stored_once(
    store: Store, world: World
) -> None:
    items: list[object] = [
        log("E1", minutes_ago=5),
        log("E1", minutes_ago=5),  # the same punch again in one batch
        log("NEW7", minutes_ago=5),  # not registered: held
        log("E2", device=DEVICE_OFF),
        log(LEFT),
    ]
    result = _push(store, world, items)
    assert result.outcomes == [
        "new",
        "duplicate",
        "unmatched",
        "device_disabled",
        "employee_inactive",
    ]
    wire = result.to_wire()
    assert (wire["logsReceived"], wire["logsAccepted"], wire["logsRejected"]) == (5, 3, 2)
    assert _count(store, world) == 2

    again = _push(store, world, items)  # a retry after a lost response
    assert again.outcomes[:3] == ["duplicate", "duplicate", "duplicate"]
    assert _count(store, world) == 2


def test_fraction_and_guid_case_do_not_make_a_new_punch(store: Store, world: World) -> None:
    wall = local_now() - timedelta(minutes=3)
    first = log("E1", at=wall)
    second = {
        **log("E1", at=wall),
        "Timestamp": wall.isoformat() + ".987",
        "DeviceIdentifier": DEVICE.upper(),
    }
    assert _push(store, world, [first]).outcomes == ["new"]
    assert _push(store, world, [second]).outcomes == ["duplicate"]


def test_held_logs_attach_when_the_number_is_registered(store: Store, world: World) -> None:
    _push(store, world, [log("N100", minutes_ago=7), log("N100", minutes_ago=6, status=1)])
    assert punches.list_unmatched(store, world.slug)[0]["count"] == 2
    result = employees.add_employee(store, world.slug, EmployeeIn("N100", "Late Joiner"))
    assert result.attached == 2
    assert punches.list_unmatched(store, world.slug) == []


def test_rejected_logs_are_kept_once_and_replayable(store: Store, world: World) -> None:
    bad = log("Z1", minutes_ago=4)
    from punchlog.services import tenants

    tenants.update_tenant(store, world.slug, unknown_employees="reject")
    assert _push(store, world, [bad]).outcomes == ["unknown_employee"]
    assert _push(store, world, [bad]).outcomes == ["unknown_employee"]
    pending = rejections.list_rejections(store, world.slug)
    assert len(pending) == 1
    assert pending[0]["occurrences"] == 2
    assert pending[0]["raw"] == bad

    employees.add_employee(store, world.slug, EmployeeIn("Z1"))
    replay = rejections.replay_rejections(store, world.slug)
    assert (replay.replayed, replay.accepted) == (1, 1)
    assert rejections.list_rejections(store, world.slug) == []
    assert _count(store, world) == 1


def test_a_request_row_records_every_accepted_request(store: Store, world: World) -> None:
    _push(store, world, [log("E1"), log("E2", device="nope")])
    with store.read() as conn:
        row = conn.execute(ingest_requests.select()).mappings().one()
        kept = conn.execute(rejected_logs.select()).mappings().all()
    assert (row["logs_received"], row["logs_accepted"], row["logs_rejected"]) == (2, 1, 1)
    assert row["request_id"] == "req-1"
    assert [k["reason"] for k in kept] == ["unknown_device"]


@pytest.mark.parametrize("reason", ["too_old", "in_future"])
def test_window_edges_are_judged_against_now(store: Store, world: World, reason: str) -> None:
    now = datetime.now(UTC)
    policy = Policy(zone=ZONE)
    sender = _sender(store, world)
    sender = ingest.Sender(sender.tenant_id, sender.key_id, "r", policy)
    delta = timedelta(days=30, seconds=5) if reason == "too_old" else -timedelta(minutes=6)
    wall = (now - delta).astimezone(ZONE).replace(tzinfo=None, microsecond=0)
    result = ingest.ingest_batch(store, sender, [log("E1", at=wall)], now=now, limits=LIMITS)
    assert result.outcomes == [reason]
