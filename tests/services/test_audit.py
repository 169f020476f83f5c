"""The audit log: every change to keys, devices, employees, settings and corrections is
recorded with who made it, in the change's own transaction; a refused change records nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from punchlog.api.app import create_app
from punchlog.errors import Conflict, NotFound
from punchlog.services import audit, corrections, devices, employees, ingest, keys, shifts
from punchlog.services.employees import EmployeeIn
from punchlog.services.store import Store, utcnow
from punchlog.settings import Settings
from tests.support.world import DEVICE, World, local_now, log


def _entries(store: Store, world: World) -> list[dict[str, object]]:
    return audit.list_entries(store, world.slug, limit=1000)


def test_every_kind_of_change_is_recorded_with_its_actor(store: Store, world: World) -> None:
    before = len(_entries(store, world))
    with audit.acting_as("cli:alice"):
        issued = keys.issue_key(store, world.slug, scope="read", label="reports")
        keys.revoke_key(store, issued.id)
        devices.add_device(store, world.slug, identifier="gate-2", name="Back gate")
        devices.set_device_active(store, world.slug, "gate-2", active=False)
        employees.upsert_employees(store, world.slug, [EmployeeIn("E9", "Nine")])
        employees.deactivate_employee(store, world.slug, "E9")
        shifts.update_settings(store, world.slug, backdate_days=45)
        added = corrections.add_punch(
            store,
            world.slug,
            "E1",
            local_time=(local_now() - timedelta(hours=2)).isoformat(),
            direction="in",
            reason="forgot to punch",
            actor="hr:bob",
        )
        corrections.exclude_punch(
            store, world.slug, added["punchId"], reason="entered twice", actor="hr:bob"
        )
    entries = _entries(store, world)[: len(_entries(store, world)) - before]
    entries.reverse()  # oldest first
    assert [(e["action"], e["target"]) for e in entries] == [
        ("key.issue", issued.id),
        ("key.revoke", issued.id),
        ("device.add", "gate-2"),
        ("device.disable", "gate-2"),
        ("employee.upsert", "E9"),
        ("employee.deactivate", "E9"),
        ("tenant.settings", world.slug),
        ("correction.add_punch", "E1"),
        ("correction.exclude", "E1"),
    ]
    assert {e["actor"] for e in entries} == {"cli:alice"}
    assert entries[0]["details"] == {"scope": "read", "label": "reports", "expiresAt": None}
    assert entries[6]["details"] == {"backdate_days": 45}
    assert entries[7]["details"]["by"] == "hr:bob"  # type: ignore[index]
    assert entries[7]["details"]["reason"] == "forgot to punch"  # type: ignore[index]
    ats = [e["at"] for e in entries]
    assert ats == sorted(ats)
    assert issued.key not in str(entries)  # a key's id, never the key


def test_a_refused_change_records_nothing(store: Store, world: World) -> None:
    before = _entries(store, world)
    with pytest.raises(Conflict):
        devices.add_device(store, world.slug, identifier=DEVICE)  # exists already
    with pytest.raises(NotFound):
        employees.deactivate_employee(store, world.slug, "NOBODY")
    with pytest.raises(NotFound):
        keys.revoke_key(store, "zzzzzzzzzz")
    assert _entries(store, world) == before


def test_ingesting_logs_is_not_an_audited_change(store: Store, world: World) -> None:
    before = _entries(store, world)
    principal = keys.authenticate(store, world.ingest_key, now=utcnow())
    sender = ingest.Sender(principal.tenant_id, principal.key_id, "r-1", principal.policy)
    ingest.ingest_batch(store, sender, [log("E1")], now=utcnow(), limits=ingest.Limits())
    assert _entries(store, world) == before


def test_an_admin_api_change_is_by_the_calling_key(
    settings: Settings, store: Store, world: World
) -> None:
    admin_id = keys.authenticate(store, world.admin_key, now=utcnow()).key_public_id
    with TestClient(create_app(settings, store=store)) as client:
        answer = client.post(
            f"/v1/admin/devices/{DEVICE}/disable", headers={"X-API-Key": world.admin_key}
        )
    assert answer.status_code == 200, answer.text
    newest = _entries(store, world)[0]
    assert (newest["actor"], newest["action"], newest["target"]) == (
        f"key:{admin_id}",
        "device.disable",
        DEVICE,
    )


def test_entries_belong_to_their_tenant_only(store: Store, world: World) -> None:
    from tests.support.world import build_world

    other = build_world(store, slug="other")
    with audit.acting_as("cli:carol"):
        devices.add_device(store, other.slug, identifier="other-gate")
    assert all(e["target"] != "other-gate" for e in _entries(store, world))
    assert _entries(store, other)[0]["target"] == "other-gate"
